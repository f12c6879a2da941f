"""Soret-coefficient laws S_T(T) and their potentials.

Sign convention (DESIGN.md): positive S_T is thermophobic; the thermodiffusive flux is
``-D S_T c grad T``. The *Soret potential* ``Phi(T) = int S_T dT`` turns the no-flow
steady state of a closed cell into ``c ∝ exp(-Phi(T))`` and is what the exponentially
fitted (Slotboom) transport solver uses as its weight.
"""

from __future__ import annotations

from dataclasses import dataclass

from .constants import BOLTZMANN
from .mathfuncs import exp


@dataclass(frozen=True)
class ConstantSoret:
    """S_T independent of temperature."""

    value: float  # 1/K

    def soret_coefficient(self, T):
        return self.value + 0.0 * T

    def soret_potential(self, T):
        return self.value * T


@dataclass(frozen=True)
class PiazzaSoret:
    """Iacopini & Piazza (2003) empirical law ``S_T(T) = S_inf (1 - exp((T* - T)/T0))``.

    S_T changes sign at T = T*, thermophilic below and thermophobic above; it fits
    proteins, micelles and colloids in water.
    """

    s_inf: float  # 1/K
    t_star: float  # K
    t0: float  # K

    def soret_coefficient(self, T):
        return self.s_inf * (1.0 - exp((self.t_star - T) / self.t0))

    def soret_potential(self, T):
        return self.s_inf * (T + self.t0 * exp((self.t_star - T) / self.t0))


@dataclass(frozen=True)
class HeatOfTransportSoret:
    """``S_T = Q* / (k_B T^2)`` for a species with heat of transport Q* (J)."""

    heat_of_transport: float  # J

    def soret_coefficient(self, T):
        return self.heat_of_transport / (BOLTZMANN * T * T)

    def soret_potential(self, T):
        return -self.heat_of_transport / (BOLTZMANN * T)


SoretLaw = ConstantSoret | PiazzaSoret | HeatOfTransportSoret
