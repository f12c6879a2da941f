"""Thermo-osmotic slip-coefficient laws chi(T) in m^2/(s K).

Sign convention (DESIGN.md): on a solid surface ``u_slip = chi (I - n n) grad T``;
chi > 0 drives the fluid towards hot along the wall (and a free particle with that
surface to cold). chi reflects the excess enthalpy of the liquid in the surface layer
(Derjaguin; Anderson, Annu. Rev. Fluid Mech. 21, 61 (1989)) and so depends on T; these
laws give it as a function the Stokes solver evaluates on its (UFL) temperature.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .soret import checked_table, piecewise_linear


@dataclass(frozen=True)
class ConstantSlip:
    """chi independent of temperature."""

    value: float  # m^2/(s K)

    def slip_coefficient(self, T):
        return self.value + 0.0 * T


@dataclass(frozen=True)
class LinearSlip:
    """``chi(T) = value + slope (T - T_ref)``: a measured chi and its temperature slope."""

    value: float  # m^2/(s K), at the reference temperature
    reference_temperature: float  # K
    slope: float  # m^2/(s K^2)

    def __post_init__(self) -> None:
        if not (math.isfinite(self.reference_temperature) and self.reference_temperature > 0.0):
            raise ValueError(f"reference_temperature must be positive and finite (K), "
                             f"got {self.reference_temperature!r}")
        if not (math.isfinite(self.value) and math.isfinite(self.slope)):
            raise ValueError(f"value and slope must be finite, got {self.value!r} and {self.slope!r}")

    def slip_coefficient(self, T):
        return self.value + self.slope * (T - self.reference_temperature)


@dataclass(frozen=True)
class TabulatedSlip:
    """chi(T) at strictly increasing temperatures (K): linear interpolation, the end
    values held constant outside the table."""

    temperatures: tuple[float, ...]  # K
    values: tuple[float, ...]  # m^2/(s K)

    def __post_init__(self) -> None:
        temperatures, values = checked_table(self.temperatures, self.values, "slip coefficient")
        object.__setattr__(self, "temperatures", temperatures)
        object.__setattr__(self, "values", values)

    def slip_coefficient(self, T):
        return piecewise_linear(T, self.temperatures, self.values)


SlipLaw = ConstantSlip | LinearSlip | TabulatedSlip


def slip_coefficient_at(chi: float | SlipLaw, T):
    """chi at temperature T (NumPy or UFL) for a law or a plain number (m^2/(s K))."""
    return chi.slip_coefficient(T) if hasattr(chi, "slip_coefficient") else chi
