"""Soret-coefficient laws S_T(T) and their potentials.

Sign convention (DESIGN.md): positive S_T is thermophobic; the thermodiffusive flux is
``-D S_T c grad T``. The *Soret potential* ``Phi(T) = int S_T dT`` turns the no-flow
steady state of a closed cell into ``c ∝ exp(-Phi(T))`` and is what the exponentially
fitted (Slotboom) transport solver uses as its weight.

Every law has ``soret_coefficient(T)`` (1/K) and ``soret_potential(T)`` (Phi up to a
constant), both for NumPy values and UFL expressions. The internal-state model of
:mod:`.internal_states` is a Soret law too (its fast-switching limit).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .constants import BOLTZMANN
from .internal_states import InternalStateModel
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


def _require_positive(**quantities: float) -> None:
    for name, value in quantities.items():
        if not (math.isfinite(value) and value > 0.0):
            raise ValueError(f"{name} must be positive and finite, got {value!r}")


def _require_finite(**quantities: float) -> None:
    for name, value in quantities.items():
        if not math.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value!r}")


@dataclass(frozen=True)
class SizeScalingSoret:
    """Colloidal beads: ``S_T(a) = S_ref (a / a_ref)^n``, independent of temperature.

    ``value`` is S_T (1/K) of a bead of ``reference_radius`` (m), measured in the same
    solvent at the same temperature; ``radius`` (m) is the bead's. Two scalings are
    published for polystyrene beads in water:

    - n = 1 (:meth:`linear_in_radius`): Braibanti, Vigolo & Piazza, Phys. Rev. Lett. 100,
      108303 (2008) find D_T independent of the radius, so ``S_T = D_T / D ∝ a``;
    - n = 2 (:meth:`surface_area`): Duhr & Braun, Proc. Natl. Acad. Sci. USA 103, 19678
      (2006) find S_T ∝ a^2 (the bead's surface; hydration entropy and a thin Debye layer).

    Which one holds depends on the salt and the surface; the exponent is a parameter.
    The temperature dependence is not modelled: S_T is the same constant at every T.
    """

    value: float  # 1/K, at the reference radius
    reference_radius: float  # m
    radius: float  # m
    exponent: float

    def __post_init__(self) -> None:
        _require_positive(radius=self.radius, reference_radius=self.reference_radius)
        _require_finite(value=self.value, exponent=self.exponent)

    @classmethod
    def linear_in_radius(cls, value: float, reference_radius: float, radius: float) -> SizeScalingSoret:
        """Braibanti, Vigolo & Piazza (2008): S_T ∝ a."""
        return cls(value, reference_radius, radius, 1.0)

    @classmethod
    def surface_area(cls, value: float, reference_radius: float, radius: float) -> SizeScalingSoret:
        """Duhr & Braun (2006): S_T ∝ a^2."""
        return cls(value, reference_radius, radius, 2.0)

    @property
    def coefficient(self) -> float:
        """S_T of this bead (1/K)."""
        return self.value * (self.radius / self.reference_radius) ** self.exponent

    def soret_coefficient(self, T):
        return self.coefficient + 0.0 * T

    def soret_potential(self, T):
        return self.coefficient * T


THETA_SOLVENT_EXPONENT = 0.5
"""nu of a Gaussian (ideal) chain, R_h ∝ M^0.5."""
GOOD_SOLVENT_EXPONENT = 0.588
"""Flory exponent of a self-avoiding chain (renormalisation group: Le Guillou & Zinn-Justin,
Phys. Rev. Lett. 39, 95 (1977)); measured hydrodynamic exponents at accessible molar masses
are a little lower (about 0.55) because of the slow crossover."""


@dataclass(frozen=True)
class MolarMassScalingSoret:
    """Dilute polymers: ``S_T(M) = S_ref (M / M_ref)^x``, independent of temperature.

    For long chains the thermal diffusion coefficient D_T does not depend on the molar
    mass (Schimpf & Giddings, Macromolecules 20, 1561 (1987); Rauch & Köhler,
    Macromolecules 38, 3571 (2005), where the constancy sets in above a few kg/mol),
    while the Zimm diffusivity falls as ``D ∝ 1/R_h ∝ M^-nu``; so ``S_T = D_T / D ∝ M^nu``
    (Würger, Rep. Prog. Phys. 73, 126601 (2010)). nu = 0.5 in a theta solvent
    (:data:`THETA_SOLVENT_EXPONENT`), about 0.55-0.59 in a good one
    (:data:`GOOD_SOLVENT_EXPONENT`). Short chains and semidilute solutions deviate.

    ``value`` is S_T (1/K) at ``reference_molar_mass``; molar masses in kg/mol (only
    their ratio enters). The temperature dependence is not modelled: S_T is constant.
    """

    value: float  # 1/K, at the reference molar mass
    reference_molar_mass: float  # kg/mol
    molar_mass: float  # kg/mol
    exponent: float

    def __post_init__(self) -> None:
        _require_positive(molar_mass=self.molar_mass, reference_molar_mass=self.reference_molar_mass)
        _require_finite(value=self.value, exponent=self.exponent)

    @property
    def coefficient(self) -> float:
        """S_T of this chain (1/K)."""
        return self.value * (self.molar_mass / self.reference_molar_mass) ** self.exponent

    def soret_coefficient(self, T):
        return self.coefficient + 0.0 * T

    def soret_potential(self, T):
        return self.coefficient * T


# --- piecewise-linear tables (also used by the slip laws) ------------------------------
def _is_ufl(x) -> bool:
    return hasattr(x, "ufl_shape")


def _clamp(x, lower: float, upper: float):
    """min(max(x, lower), upper) for NumPy values and UFL expressions."""
    if _is_ufl(x):
        import ufl

        return ufl.min_value(ufl.max_value(x, lower), upper)
    return np.clip(x, lower, upper)


def _positive_part(x):
    if _is_ufl(x):
        import ufl

        return ufl.max_value(x, 0.0)
    return np.maximum(x, 0.0)


def checked_table(temperatures: Sequence[float], values: Sequence[float],
                  quantity: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The table as tuples of floats, or ValueError saying what is wrong with it."""
    temperatures = tuple(float(t) for t in temperatures)
    values = tuple(float(v) for v in values)
    if len(temperatures) != len(values):
        raise ValueError(f"tabulated {quantity}: {len(temperatures)} temperatures but {len(values)} values; "
                         "give one value per temperature")
    if len(temperatures) < 2:
        raise ValueError(f"tabulated {quantity}: needs at least two points (one value: use the constant law)")
    if not all(math.isfinite(t) and t > 0.0 for t in temperatures):
        raise ValueError(f"tabulated {quantity}: temperatures must be positive and finite (K), got {temperatures}")
    if not all(map(math.isfinite, values)):
        raise ValueError(f"tabulated {quantity}: values must be finite, got {values}")
    for lower, upper in zip(temperatures, temperatures[1:]):
        if not upper > lower:
            raise ValueError(f"tabulated {quantity}: temperatures must be strictly increasing; "
                             f"{upper!r} K follows {lower!r} K")
    return temperatures, values


def piecewise_linear(T, nodes: Sequence[float], values: Sequence[float]):
    """The linear interpolant of (nodes, values) at T, constant outside the nodes.

    Written as ``values[0] + sum_k slope_k (clamp(T, x_k, x_k+1) - x_k)``: one formula
    for NumPy and UFL, continuous, no branches to keep consistent.
    """
    result = values[0] + 0.0 * T
    for x0, x1, y0, y1 in zip(nodes, nodes[1:], values, values[1:]):
        result = result + (y1 - y0) / (x1 - x0) * (_clamp(T, x0, x1) - x0)
    return result


def piecewise_linear_integral(T, nodes: Sequence[float], values: Sequence[float]):
    """The exact integral of :func:`piecewise_linear` from ``nodes[0]`` to T (piecewise
    quadratic inside the nodes, linear outside)."""
    result = values[0] * (T - nodes[0])
    for x0, x1, y0, y1 in zip(nodes, nodes[1:], values, values[1:]):
        climb = _clamp(T, x0, x1) - x0
        # the ramp's integral: climb^2/2 inside the segment, then its full height beyond
        result = result + (y1 - y0) / (x1 - x0) * (0.5 * climb * climb + (x1 - x0) * _positive_part(T - x1))
    return result


@dataclass(frozen=True)
class TabulatedSoret:
    """S_T(T) measured at strictly increasing temperatures (K), in 1/K.

    Linear interpolation between the points and the end values held constant outside
    them (no extrapolated trend); the potential is the exact integral of that
    interpolant, so the Slotboom solver sees exactly the tabulated S_T.
    """

    temperatures: tuple[float, ...]  # K
    values: tuple[float, ...]  # 1/K

    def __post_init__(self) -> None:
        temperatures, values = checked_table(self.temperatures, self.values, "Soret coefficient")
        object.__setattr__(self, "temperatures", temperatures)
        object.__setattr__(self, "values", values)

    def soret_coefficient(self, T):
        return piecewise_linear(T, self.temperatures, self.values)

    def soret_potential(self, T):
        return piecewise_linear_integral(T, self.temperatures, self.values)


SoretLaw = (ConstantSoret | PiazzaSoret | HeatOfTransportSoret | SizeScalingSoret | MolarMassScalingSoret
            | TabulatedSoret | InternalStateModel)
