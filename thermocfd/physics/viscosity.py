"""Dynamic-viscosity laws mu(T) in Pa s."""

from __future__ import annotations

from dataclasses import dataclass

from .mathfuncs import exp


@dataclass(frozen=True)
class ConstantViscosity:
    value: float  # Pa s

    def viscosity(self, T):
        return self.value + 0.0 * T


@dataclass(frozen=True)
class WaterViscosity:
    """Vogel-type correlation for liquid water, ``mu = A 10^(B/(T - C))``.

    A = 2.414e-5 Pa s, B = 247.8 K, C = 140 K (Al-Shemmeri, *Engineering Fluid
    Mechanics*, 2012; the form used in many CRC-handbook fits): within about 2.5 %
    of IAPWS values over 273-373 K.
    """

    a: float = 2.414e-5
    b: float = 247.8
    c: float = 140.0
    t_min: float = 273.0
    t_max: float = 373.0

    def viscosity(self, T):
        # 10^x = exp(x ln 10)
        return self.a * exp(2.302585092994046 * self.b / (T - self.c))


ViscosityLaw = ConstantViscosity | WaterViscosity
