"""Liquid water at 0.1 MPa, 273-373 K: density, thermal expansion, conductivity, heat
capacity from standard correlations (viscosity: :class:`~.viscosity.WaterViscosity`).

- Density: Kell, J. Chem. Eng. Data 20, 97 (1975), eq. 16 (0-150 °C, within 0.01 %);
  the thermal expansion coefficient is its exact logarithmic derivative.
- Thermal conductivity: Ramires et al., J. Phys. Chem. Ref. Data 24, 1377 (1995),
  ``k = 0.6065 (-1.48445 + 4.12292 T* - 1.63866 T*^2)``, ``T* = T / 298.15 K``
  (274-370 K, within 2 %).
- Isobaric heat capacity: IAPWS-95 values at 0.1 MPa (Wagner & Pruss, J. Phys. Chem.
  Ref. Data 31, 387, 2002), interpolated linearly in a 10 K table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .constants import ZERO_CELSIUS

_KELL = (999.83952, 16.945176, -7.9870401e-3, -46.170461e-6, 105.56302e-9, -280.54253e-12)
_KELL_DENOMINATOR = 16.879850e-3
_CP_T = np.array([273.16, 283.15, 293.15, 303.15, 313.15, 323.15, 333.15, 343.15, 353.15, 363.15, 373.15])
_CP = np.array([4219.9, 4195.5, 4184.1, 4180.1, 4179.6, 4180.8, 4184.5, 4189.8, 4196.6, 4205.0, 4215.6])


@dataclass(frozen=True)
class ConstantProperty:
    value: float

    def at(self, T):
        return self.value + 0.0 * np.asarray(T)


@dataclass(frozen=True)
class WaterDensity:
    """kg/m^3 (Kell 1975)."""

    def at(self, T):
        t = np.asarray(T, dtype=float) - ZERO_CELSIUS
        numerator = sum(c * t**i for i, c in enumerate(_KELL))
        return numerator / (1.0 + _KELL_DENOMINATOR * t)


@dataclass(frozen=True)
class WaterThermalExpansion:
    """1/K: ``-d ln(rho)/dT`` of Kell's density."""

    def at(self, T):
        t = np.asarray(T, dtype=float) - ZERO_CELSIUS
        numerator = sum(c * t**i for i, c in enumerate(_KELL))
        d_numerator = sum(i * c * t ** (i - 1) for i, c in enumerate(_KELL) if i > 0)
        denominator = 1.0 + _KELL_DENOMINATOR * t
        return -(d_numerator / numerator - _KELL_DENOMINATOR / denominator)


@dataclass(frozen=True)
class WaterThermalConductivity:
    """W/(m K) (Ramires et al. 1995)."""

    def at(self, T):
        reduced = np.asarray(T, dtype=float) / 298.15
        return 0.6065 * (-1.48445 + 4.12292 * reduced - 1.63866 * reduced**2)


@dataclass(frozen=True)
class WaterHeatCapacity:
    """J/(kg K) (IAPWS-95 at 0.1 MPa)."""

    def at(self, T):
        return np.interp(np.asarray(T, dtype=float), _CP_T, _CP)
