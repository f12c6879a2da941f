"""Heat conduction (with optional advection): steady and transient, per-region properties.

``C (dT/dt + u.grad T) = div(k grad T) + q`` with ``C = rho c_p``, Dirichlet
(:class:`FixedTemperature`), Neumann (:class:`HeatFlux`) and Robin
(:class:`ConvectiveCooling`) conditions on named boundaries; k, C and q constant, given
per named region, or as a function of the physical coordinate (UFL).

Scaled units: lengths by the domain's length scale l, conductivities by k_ref (the
largest), time by ``t_ref = C_ref l^2 / k_ref``; temperature stays in kelvin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence, Union

import dolfinx.fem
import ufl

from . import compat
from .forms import heat_forms
from .linear import DIRECT, LinearSystem, iterative_options, shift_history
from .mesh import Domain

Coefficient = Union[float, Mapping[str, float], Callable]
"""A number, {region name: number}, or a function of the physical coordinate x (UFL)."""


@dataclass(frozen=True)
class FixedTemperature:
    boundary: str
    value: float | Callable  # K, or a function of the physical coordinate


@dataclass(frozen=True)
class HeatFlux:
    boundary: str
    value: float | Callable  # W/m^2 into the domain


@dataclass(frozen=True)
class ConvectiveCooling:
    boundary: str
    coefficient: float  # heat-transfer coefficient h, W/(m^2 K)
    ambient: float  # K


BoundaryCondition = Union[FixedTemperature, HeatFlux, ConvectiveCooling]


def coefficient_field(domain: Domain, value: Coefficient, scale: float = 1.0):
    """UFL field for a coefficient given as number, per-region table or function of x."""
    if callable(value):
        return value(domain.physical_coordinates()) * scale
    if isinstance(value, Mapping):
        V0 = compat.function_space(domain.mesh, "DG", 0)
        field = dolfinx.fem.Function(V0)
        missing = set(domain.regions) - set(value)
        unknown = set(value) - set(domain.regions)
        if unknown:
            raise ValueError(f"no region named {sorted(unknown)} (regions: {sorted(domain.regions)})")
        if missing:
            raise ValueError(f"no value given for region(s) {sorted(missing)}")
        for name, number in value.items():
            cells = domain.cell_tags.find(domain.regions[name])
            field.x.array[compat.cell_dofs(V0)[cells, 0]] = number * scale
        field.x.scatter_forward()
        return field
    return compat.constant(domain.mesh, float(value) * scale)


def max_value(value: Coefficient) -> float | None:
    if isinstance(value, Mapping):
        return max(value.values())
    if callable(value):
        return None
    return float(value)


class HeatProblem:
    """Temperature field on a :class:`~thermocfd.fem.mesh.Domain`.

    ``solve_steady()`` for conduction equilibrium; ``initialise(T0)`` then ``advance(dt)``
    (BDF2 after a first backward-Euler step) for transients. ``temperature`` is the
    dolfinx Function (kelvin) on the scaled mesh.
    """

    def __init__(self, domain: Domain, conductivity: Coefficient,
                 boundary_conditions: Sequence[BoundaryCondition], *, source: Coefficient = 0.0,
                 heat_capacity: Coefficient | None = None, velocity=None, degree: int = 1,
                 linear_solver: str = "direct", rtol: float = 1e-12,
                 conductivity_scale: float | None = None, capacity_scale: float | None = None):
        self.domain = domain
        self.degree = degree
        mesh = domain.mesh
        ell = domain.length_scale
        self.k_ref = conductivity_scale or max_value(conductivity) or 1.0
        self.capacity_ref = capacity_scale or (max_value(heat_capacity) if heat_capacity is not None else None) or 1.0
        self.time_scale = self.capacity_ref * ell**2 / self.k_ref
        self.V = compat.function_space(mesh, "Lagrange", degree)
        self.temperature = dolfinx.fem.Function(self.V, name="temperature")
        # fixed objects: the compiled BDF forms refer to them
        self._history = [dolfinx.fem.Function(self.V), dolfinx.fem.Function(self.V)]
        self._initialised = False
        self._dt = compat.constant(mesh, 1.0)
        self.time = 0.0

        self.conductivity = coefficient_field(domain, conductivity, 1.0 / self.k_ref)
        self.source = coefficient_field(domain, source, ell**2 / self.k_ref)
        self.capacity = (coefficient_field(domain, heat_capacity, 1.0 / self.capacity_ref)
                         if heat_capacity is not None else None)
        # physical velocity (m/s) -> scaled: u t_ref / l
        self.velocity = None if velocity is None else velocity * (self.time_scale / ell)
        if self.velocity is not None and self.capacity is None:
            raise ValueError("advection of heat needs the heat capacity rho*c_p")

        self.bcs, self._neumann, self._robin = [], [], []
        fdim = mesh.topology.dim - 1
        for bc in boundary_conditions:
            ds = domain.ds(bc.boundary)
            if isinstance(bc, FixedTemperature):
                facets = domain.facet_tags.find(domain.boundary_tag(bc.boundary))
                dofs = dolfinx.fem.locate_dofs_topological(self.V, fdim, facets)
                value = dolfinx.fem.Function(self.V)
                if callable(bc.value):
                    compat.interpolate(value, bc.value(domain.physical_coordinates()))
                else:
                    value.x.array[:] = bc.value
                self.bcs.append(dolfinx.fem.dirichletbc(value, dofs))
            elif isinstance(bc, HeatFlux):
                self._neumann.append((coefficient_field(domain, bc.value, ell / self.k_ref), ds))
            elif isinstance(bc, ConvectiveCooling):
                h = compat.constant(mesh, bc.coefficient * ell / self.k_ref)
                self._robin.append((h, compat.constant(mesh, bc.ambient), ds))
            else:
                raise TypeError(f"not a thermal boundary condition: {bc!r}")
        self._options = DIRECT if linear_solver == "direct" else iterative_options(
            symmetric=self.velocity is None, rtol=rtol)
        self._systems: dict[int, LinearSystem] = {}

    def _system(self, steps_in_history: int) -> LinearSystem:
        if steps_in_history not in self._systems:
            T, v = ufl.TrialFunction(self.V), ufl.TestFunction(self.V)
            transient = steps_in_history > 0
            a, L = heat_forms(T, v, self.conductivity, self.source, self.domain.dx(),
                              neumann=self._neumann, robin=self._robin, velocity=self.velocity,
                              capacity=self.capacity, dt=self._dt if transient else None,
                              history=self._history[:steps_in_history] if transient else ())
            self._systems[steps_in_history] = LinearSystem(a, L, self.bcs, self.temperature,
                                                           self._options, "heat")
        return self._systems[steps_in_history]

    def solve_steady(self) -> dolfinx.fem.Function:
        self._system(0).solve()
        return self.temperature

    def initialise(self, initial: float | Callable) -> None:
        """Set T(t=0): a number (K) or a function of the physical coordinate."""
        if self.capacity is None:
            raise ValueError("a transient heat problem needs the heat capacity rho*c_p")
        if callable(initial):
            compat.interpolate(self.temperature, initial(self.domain.physical_coordinates()))
        else:
            self.temperature.x.array[:] = initial
        self._initialised = True
        self._steps = 0
        self.time = 0.0

    def advance(self, dt: float, order: int = 2) -> dolfinx.fem.Function:
        """One BDF step of physical size dt (s); the first step is backward Euler."""
        if not self._initialised:
            raise RuntimeError("call initialise() before advance()")
        steps_in_history = 1 if (order == 1 or self._steps == 0) else 2
        self._dt.value = dt / self.time_scale
        system = self._system(steps_in_history)
        system.assemble_for(dt)
        shift_history(self._history, self.temperature)
        system.solve()
        self._steps += 1
        self.time += dt
        return self.temperature
