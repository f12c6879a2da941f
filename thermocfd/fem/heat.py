"""Heat conduction (with optional advection): steady and transient, per-region properties.

``C (dT/dt + u.grad T) = div(k grad T) + q`` with ``C = rho c_p``, Dirichlet
(:class:`FixedTemperature`), Neumann (:class:`HeatFlux`) and Robin
(:class:`ConvectiveCooling`) conditions on named boundaries; k, C and q constant, given
per named region, or as a function of the physical coordinate (UFL).

A :class:`HeatFlux` (or :class:`HeaterPower`) on a boundary whose facets lie *inside* the
mesh -- a thin-film heater between glass and liquid, tagged as a facet group -- is a
surface source there (``int q s dS``): its whole power goes into the cells on both sides.
:meth:`HeatProblem.boundary_heat_flow` gives the heat leaving through any named boundary,
for a power balance (volumetric sources = sum over the boundaries of the heat leaving,
heaters counting negative).

Thermodiffusion's reciprocal effect, the Dufour heat flux ``-R T^2 D S_T grad c`` of a
solute (:class:`DufourCoupling`, derivation in :mod:`thermocfd.physics.onsager`), turns the
conductive flux into ``k grad T + R T^2 D S_T grad c``; the coefficient is nonlinear in T
and is taken at the previous Picard iterate. It does not multiply grad T, so each iterate
is the linear conduction problem with a lagged right-hand side, and the iteration
contracts by the Dufour-to-Fourier flux ratio times the relative change of
``T^2 D S_T`` over the temperature range: a few iterations even for an O(1) coupling.
With the coupling, a heat flux condition prescribes the total heat flux, Dufour part
included, and k is the Fourier conductivity of the uniform mixture.

Scaled units: lengths by the domain's length scale l, conductivities by k_ref (the
largest), time by ``t_ref = C_ref l^2 / k_ref``; temperature stays in kelvin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence, Union

import dolfinx.fem
import dolfinx.fem.petsc
import numpy as np
import ufl
from mpi4py import MPI
from petsc4py import PETSc

from ..errors import SolverError, ThermocfdError
from ..physics import DiffusivityLaw, SoretLaw
from ..physics.onsager import GAS_CONSTANT, dufour_coefficient
from . import compat
from .forms import facet_flux_term, heat_forms
from .linear import DIRECT, LinearSystem, VariableBDF2, iterative_options, shift_history
from .mesh import Domain
from .quadrature import compile_form

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


@dataclass(frozen=True)
class HeaterPower:
    """A heater of given total power: W (W per metre of depth in 2D), spread uniformly
    over the facets of a named boundary (interior or exterior: a flux power/area) or over
    the volume of a named region (a source power/volume), e.g. a Joule heater."""

    target: str  # a boundary or region name
    power: float


BoundaryCondition = Union[FixedTemperature, HeatFlux, ConvectiveCooling, HeaterPower]


@dataclass(frozen=True)
class DufourCoupling:
    """The Dufour heat flux ``-R T^2 D(T) S_T(T) grad c`` of a solute in the heat equation.

    ``concentration``: a UFL expression on the domain in SI (mol/m^3 with the default
    ``gas_constant`` R; a number density with k_B), e.g. the transport solver's Function;
    ``diffusivity``, ``soret``: the solute's laws (``.diffusivity(T)``,
    ``.soret_coefficient(T)``). A binary gas mixture enters through its dilute equivalent
    (:class:`thermocfd.physics.onsager.BinaryGasMixture`).
    """

    concentration: object
    diffusivity: DiffusivityLaw
    soret: SoretLaw
    gas_constant: float = GAS_CONSTANT


# --- named facet sets and regions ---------------------------------------------------
def facet_set_kinds(domain: Domain, name: str) -> tuple[int, int]:
    """(exterior, interior) numbers of facets of a named facet group, over all ranks.

    Counted on owned facets; with shared-facet ghosting both cells of an owned interior
    facet are on the owning rank.
    """
    mesh = domain.mesh
    tdim = mesh.topology.dim
    mesh.topology.create_connectivity(tdim - 1, tdim)
    f2c = mesh.topology.connectivity(tdim - 1, tdim)
    facets = domain.facet_tags.find(domain.boundary_tag(name))
    facets = facets[facets < mesh.topology.index_map(tdim - 1).size_local]
    cells_per_facet = np.diff(np.asarray(f2c.offsets))[facets]
    local = np.array([np.count_nonzero(cells_per_facet == 1), np.count_nonzero(cells_per_facet == 2)])
    total = domain.comm.allreduce(local, op=MPI.SUM)
    return int(total[0]), int(total[1])


def exterior_boundary(domain: Domain, condition) -> None:
    """Refuse a condition that needs an exterior boundary on an interior facet group."""
    if facet_set_kinds(domain, condition.boundary)[1]:
        raise ThermocfdError(f"{type(condition).__name__} on {condition.boundary!r}: that boundary lies inside "
                             "the mesh; it needs an outer face")


def interior_facet_measure(domain: Domain, name: str | None = None, metadata: dict | None = None):
    """``dS`` over a named facet group that lies inside the mesh."""
    measure = ufl.Measure("dS", domain=domain.mesh, subdomain_data=domain.facet_tags, metadata=metadata or {})
    return measure if name is None else measure(domain.boundary_tag(name))


def facet_measures(domain: Domain, name: str, metadata: dict | None = None) -> list:
    """The measures of a named facet group: ``ds`` for its exterior facets, ``dS`` for
    its interior ones (both if it has both kinds)."""
    exterior, interior = facet_set_kinds(domain, name)
    measures = []
    if exterior or not interior:
        measures.append(domain.ds(name, metadata=metadata))
    if interior:
        measures.append(interior_facet_measure(domain, name, metadata))
    return measures


def _integrate(domain: Domain, form) -> float:
    return domain.comm.allreduce(dolfinx.fem.assemble_scalar(compile_form(form)), op=MPI.SUM)


def facet_set_area(domain: Domain, name: str) -> float:
    """Area of a named facet group in m^2 (length in m in 2D), interior facets counted once."""
    one = compat.constant(domain.mesh, 1.0)
    scaled = sum(_integrate(domain, one * measure) for measure in facet_measures(domain, name))
    return scaled * domain.length_scale ** (domain.dim - 1)


def region_volume(domain: Domain, name: str) -> float:
    """Volume of a named region in m^3 (area in m^2 in 2D)."""
    one = compat.constant(domain.mesh, 1.0)
    return _integrate(domain, one * domain.dx(name)) * domain.length_scale ** domain.dim


def heater_target_kind(domain: Domain, heater: HeaterPower) -> str:
    """'boundary' or 'region': where a :class:`HeaterPower` puts its power."""
    in_boundaries, in_regions = heater.target in domain.boundaries, heater.target in domain.regions
    if in_boundaries and in_regions:
        raise ThermocfdError(f"heater target {heater.target!r} names both a boundary and a region")
    if not in_boundaries and not in_regions:
        raise ThermocfdError(f"heater target {heater.target!r} is neither a boundary nor a region (boundaries: "
                             f"{', '.join(sorted(domain.boundaries)) or 'none'}; regions: "
                             f"{', '.join(sorted(domain.regions)) or 'none'})")
    return "boundary" if in_boundaries else "region"


def dirichlet_weights(dof_sets: Sequence[np.ndarray], size: int) -> list[np.ndarray]:
    """Per Dirichlet condition, the weight of each of its dofs: 1/(number of conditions
    holding that dof), so that the conditions' indicators sum to the indicator of all
    Dirichlet dofs (a corner shared by two fixed-temperature walls is split between them)."""
    count = np.zeros(size)
    for dofs in dof_sets:
        np.add.at(count, dofs, 1.0)
    return [1.0 / count[dofs] for dofs in dof_sets]


def reaction(form, indicator: dolfinx.fem.Function, comm) -> float:
    """``R(indicator)``: the assembled residual form (no boundary conditions) applied to a
    function that is nonzero on some Dirichlet dofs only -- the discrete reaction there."""
    vec = dolfinx.fem.petsc.assemble_vector(form)
    vec.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
    value = vec.dot(compat.petsc_vector(indicator))
    vec.destroy()
    return float(value)


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
                 conductivity_scale: float | None = None, capacity_scale: float | None = None,
                 dufour: DufourCoupling | None = None, picard_rtol: float = 1e-10,
                 picard_max_iterations: int = 50):
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
        self._bdf2 = VariableBDF2(mesh)  # steps may vary (graded after a switch)
        self.time = 0.0

        self.conductivity = coefficient_field(domain, conductivity, 1.0 / self.k_ref)
        self.source = coefficient_field(domain, source, ell**2 / self.k_ref)
        self.capacity = (coefficient_field(domain, heat_capacity, 1.0 / self.capacity_ref)
                         if heat_capacity is not None else None)
        # physical velocity (m/s) -> scaled: u t_ref / l
        self.velocity = None if velocity is None else velocity * (self.time_scale / ell)
        if self.velocity is not None and self.capacity is None:
            raise ValueError("advection of heat needs the heat capacity rho*c_p")

        self.dufour = dufour
        self.picard_rtol, self.picard_max_iterations = picard_rtol, picard_max_iterations
        self.picard_iterations = 0  # of the last solve
        self._dufour_flux = None
        if dufour is not None:
            # the temperature of the previous Picard iterate, and a switch that leaves the
            # coupling out of a first solve that has no temperature to lag yet
            self._lagged = dolfinx.fem.Function(self.V, name="lagged_temperature")
            self._dufour_on = compat.constant(mesh, 1.0)
            T_lag = self._lagged
            coefficient = dufour_coefficient(dufour.diffusivity.diffusivity(T_lag),
                                             dufour.soret.soret_coefficient(T_lag), T_lag, dufour.gas_constant)
            self._dufour_flux = self._dufour_on * coefficient / self.k_ref * ufl.grad(dufour.concentration)

        self.bcs, self._neumann, self._robin, self._sources = [], [], [], []
        self._dirichlet: list[tuple[str, np.ndarray]] = []  # (boundary, dofs) per FixedTemperature
        self._fixed_values: list[dolfinx.fem.Function] = []  # their values
        self._boundary_terms: dict[str, list] = {}  # boundary -> flux terms, for boundary_heat_flow
        fdim = mesh.topology.dim - 1
        for bc in boundary_conditions:
            if isinstance(bc, FixedTemperature):
                facets = domain.facet_tags.find(domain.boundary_tag(bc.boundary))
                dofs = compat.locate_dofs_topological(self.V, fdim, facets)
                value = dolfinx.fem.Function(self.V)
                if callable(bc.value):
                    compat.interpolate(value, bc.value(domain.physical_coordinates()))
                else:
                    value.x.array[:] = bc.value
                self.bcs.append(dolfinx.fem.dirichletbc(value, dofs))
                self._dirichlet.append((bc.boundary, dofs))
                self._fixed_values.append(value)
            elif isinstance(bc, HeatFlux):
                flux = coefficient_field(domain, bc.value, ell / self.k_ref)
                for measure in facet_measures(domain, bc.boundary):
                    self._neumann.append((flux, measure))
                    self._boundary_terms.setdefault(bc.boundary, []).append(("flux", flux, measure))
            elif isinstance(bc, ConvectiveCooling):
                exterior_boundary(domain, bc)
                ds = domain.ds(bc.boundary)
                h = compat.constant(mesh, bc.coefficient * ell / self.k_ref)
                self._robin.append((h, compat.constant(mesh, bc.ambient), ds))
                self._boundary_terms.setdefault(bc.boundary, []).append(("robin", h, self._robin[-1][1], ds))
            elif isinstance(bc, HeaterPower):
                if heater_target_kind(domain, bc) == "boundary":
                    flux = compat.constant(mesh, bc.power / facet_set_area(domain, bc.target) * ell / self.k_ref)
                    for measure in facet_measures(domain, bc.target):
                        self._neumann.append((flux, measure))
                        self._boundary_terms.setdefault(bc.target, []).append(("flux", flux, measure))
                else:
                    q = bc.power / region_volume(domain, bc.target) * ell**2 / self.k_ref
                    self._sources.append((compat.constant(mesh, q), domain.dx(bc.target)))
            else:
                raise TypeError(f"not a thermal boundary condition: {bc!r}")
        self._options = DIRECT if linear_solver == "direct" else iterative_options(
            symmetric=self.velocity is None, rtol=rtol, dim=mesh.topology.dim)
        self._systems: dict[int, LinearSystem] = {}
        self._ufl_forms: dict[int, tuple] = {}
        self._residual_forms: dict[int, object] = {}
        self._last_system = 0

    def _system(self, steps_in_history: int) -> LinearSystem:
        if steps_in_history not in self._systems:
            T, v = ufl.TrialFunction(self.V), ufl.TestFunction(self.V)
            transient = steps_in_history > 0
            a, L = heat_forms(T, v, self.conductivity, self.source, self.domain.dx(),
                              neumann=self._neumann, robin=self._robin, velocity=self.velocity,
                              capacity=self.capacity, dt=self._dt if transient else None,
                              history=self._history[:steps_in_history] if transient else (),
                              sources=self._sources, extra_flux=self._dufour_flux,
                              coefficients=self._bdf2.weights if steps_in_history == 2 else None)
            self._ufl_forms[steps_in_history] = (a, L)
            self._systems[steps_in_history] = LinearSystem(a, L, self.bcs, self.temperature,
                                                           self._options, "heat")
        return self._systems[steps_in_history]

    def solve_steady(self) -> dolfinx.fem.Function:
        """The steady temperature; refused before assembly when it is not unique."""
        if not self.bcs and not self._robin:
            # The matrix is singular, yet MUMPS "solves" it without complaint and returns
            # an arbitrary level (-6e11 K for an insulated Soret cell): catch it up front.
            raise SolverError("steady heat conduction: nothing fixes the temperature level (every boundary is "
                              "insulated or has a heat flux, so a steady state is unique only up to a constant, "
                              "and exists only if the heat in balances the heat out): give one boundary a "
                              "temperature or convective condition")
        self._solve(self._system(0))
        self._last_system = 0
        return self.temperature

    def _boundary_temperature_level(self) -> float:
        """The highest fixed or ambient temperature of the boundary conditions (K)."""
        local = [float(np.max(value.x.array[dofs], initial=-np.inf))
                 for value, (_, dofs) in zip(self._fixed_values, self._dirichlet)]
        local += [float(ambient.value) for _, ambient, _ in self._robin]
        return self.domain.comm.allreduce(max(local, default=-np.inf), op=MPI.MAX)

    def _solve(self, system: LinearSystem) -> None:
        """One linear solve, or with the Dufour coupling Picard iterations in its lagged
        coefficient until the max-norm change of T is below picard_rtol times max |T|."""
        if self.dufour is None:
            system.solve()
            return
        comm = self.domain.comm
        if not comm.allreduce(bool(np.any(self.temperature.x.array)), op=MPI.LOR):
            # no temperature yet: a first solve without the coupling, its coefficient kept
            # finite (laws such as S_T = alpha/T are singular at 0 K) at a boundary level
            self._lagged.x.array[:] = self._boundary_temperature_level()
            self._dufour_on.value = 0.0
            system.solve()
            self._dufour_on.value = 1.0
        for iteration in range(1, self.picard_max_iterations + 1):
            self._lagged.x.array[:] = self.temperature.x.array
            system.solve()
            change = comm.allreduce(float(np.max(np.abs(self.temperature.x.array - self._lagged.x.array),
                                                 initial=0.0)), op=MPI.MAX)
            size = comm.allreduce(float(np.max(np.abs(self.temperature.x.array), initial=0.0)), op=MPI.MAX)
            if change <= self.picard_rtol * size:
                self.picard_iterations = iteration
                return
        raise SolverError(f"heat with the Dufour coupling: the Picard iteration did not converge in "
                          f"{self.picard_max_iterations} iterations (last change {change:.3g} K): the coupling "
                          "R T^2 D S_T grad c is too strong for a lagged coefficient")

    # --- power balance ----------------------------------------------------------------
    @property
    def _power_scale(self) -> float:
        """W (W/m in 2D) per scaled unit of a heat-equation integral."""
        return self.k_ref * self.domain.length_scale ** (self.domain.dim - 2)

    def _residual_form(self):
        """Weak residual ``a(T, .) - L`` of the last solve (steady, or the last BDF step)."""
        key = self._last_system
        if key not in self._residual_forms:
            a, L = self._ufl_forms[key]
            self._residual_forms[key] = compile_form(ufl.action(a, self.temperature) - L)
        return self._residual_forms[key]

    def boundary_heat_flow(self, boundary: str) -> float:
        """Heat leaving the domain through a named boundary: W (W per metre of depth in 2D).

        Fixed temperature: the reaction of the weak residual (corner dofs shared by two
        fixed-temperature boundaries split between them); convective cooling:
        ``int h (T - T_inf) ds``; heat flux: ``-int q ds`` (``dS`` on an interior facet
        set: minus the power of a surface heater). Summed over all boundaries, it equals
        the volumetric source power (:meth:`heat_source_power`) in a steady state, to
        round-off; after a time step, minus the rate of change of the stored heat.
        """
        self.domain.boundary_tag(boundary)  # a clear error for unknown names
        scaled = 0.0
        names = [name for name, _ in self._dirichlet]
        if boundary in names:
            weights = dirichlet_weights([dofs for _, dofs in self._dirichlet], self.temperature.x.array.size)
            indicator = dolfinx.fem.Function(self.V)
            for (name, dofs), weight in zip(self._dirichlet, weights):
                if name == boundary:
                    indicator.x.array[dofs] += weight
            scaled -= reaction(self._residual_form(), indicator, self.domain.comm)
        for term in self._boundary_terms.get(boundary, []):
            if term[0] == "robin":
                _, h, ambient, ds = term
                scaled += _integrate(self.domain, h * (self.temperature - ambient) * ds)
            else:
                _, flux, measure = term
                scaled -= _integrate(self.domain, facet_flux_term(flux, compat.constant(self.domain.mesh, 1.0),
                                                                  measure))
        return scaled * self._power_scale

    def heat_source_power(self) -> float:
        """Total power of the volumetric sources (``source`` and region heaters): W (W/m in 2D)."""
        form = self.source * self.domain.dx()
        for q, measure in self._sources:
            form = form + q * measure
        return _integrate(self.domain, form) * self._power_scale

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
        ratio = self._bdf2.set_step(dt, steps_in_history == 2)
        system = self._system(steps_in_history)
        system.assemble_for((dt, ratio))
        shift_history(self._history, self.temperature)
        self._solve(system)
        self._last_system = steps_in_history
        self._steps += 1
        self.time += dt
        return self.temperature

    def restart_functions(self) -> dict[str, dolfinx.fem.Function]:
        """The Functions a restart needs: the temperature and its BDF history."""
        return {"temperature": self.temperature, "history0": self._history[0], "history1": self._history[1]}

    def restore(self, steps: int, time: float, last_step: float | None = None) -> None:
        """After :meth:`restart_functions` were filled from a checkpoint taken after
        ``steps`` steps at ``time`` (s); ``last_step``: the last step's size (s)."""
        self._initialised, self._steps, self.time, self._bdf2.previous_step = True, steps, time, last_step
