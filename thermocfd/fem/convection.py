"""Steady buoyant convection: Boussinesq flow two-way coupled to heat, solved by Newton.

Unknowns (u, p, T) in one Taylor-Hood P2-P1 (+ P2 temperature) space; heat advection
by the flow and buoyancy of the temperature field are both in the Jacobian, so Newton
converges quadratically where a Picard iteration would crawl at larger Rayleigh numbers.
Inertia ``rho (u.grad)u`` is optional: negligible in microfluidic chambers (Re << 1),
needed for benchmarks such as de Vahl Davis' cavity (Pr = 0.71).

Conjugate chips: with ``fluid_regions`` the heat equation is solved on every cell (per-region
conductivity and heat capacity), the flow only in the fluid regions: velocity dofs of solid
cells (and so on fluid-solid interfaces) are zero, pressure dofs that no fluid cell touches
are fixed, and flow, buoyancy and heat advection are integrated over the fluid cells.

Scaled units: lengths by l (the domain's scale), velocity by kappa / l (thermal
diffusion speed of the fluid), pressure by mu_ref kappa / l^2, conductivities by the
fluid's, heat capacities by the fluid's rho c_p; temperature in kelvin. Reported in SI.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import dolfinx.fem
import dolfinx.fem.petsc
import dolfinx.mesh
import numpy as np
import ufl
from mpi4py import MPI
from petsc4py import PETSc

from .. import log
from ..errors import SolverError, ThermocfdError
from ..physics.fluid import FluidProperties
from . import compat
from .forms import BDF_COEFFICIENTS, buoyant_flow_residual, facet_flux_term
from .heat import (ConvectiveCooling, FixedTemperature, HeaterPower, HeatFlux, dirichlet_weights, facet_measures,
                   exterior_boundary, facet_set_area, facet_set_kinds, heater_target_kind, reaction,
                   region_volume)
from .linear import DIRECT, VariableBDF2, shift_history
from .nonlinear import NewtonReport, NewtonSolver, field_index_sets
from .mesh import Domain, plane_normal_axis
from .quadrature import compile_form
from .stokes import NoSlip, PrescribedVelocity, Pressure, SurfaceProjector, ThermoOsmoticSlip
from .stokes_preconditioner import pressure_mass_options, velocity_amg_options
from .stokes_forms import sphere_normal, thermo_osmotic_slip


@dataclass(frozen=True)
class Symmetry:
    """A mirror plane of the flow: ``u.n = 0`` and no shear stress (natural); the plane
    must be normal to a coordinate axis. Heat and solute see an insulated, no-flux wall
    there, which is their mirror condition too."""

    boundary: str


def _scalar_field(domain: Domain, value, scale: float):
    """A number, a UFL expression or f(x) of the physical coordinate (UFL), times scale."""
    if isinstance(value, ufl.core.expr.Expr):  # before callable(): UFL expressions are callable too
        return value * scale
    if callable(value):
        return value(domain.physical_coordinates()) * scale
    return compat.constant(domain.mesh, float(value) * scale)


def _region_table(domain: Domain, table: Mapping[str, float] | None, fluid_names: Sequence[str],
                  fluid_value: float, what: str) -> dict[str, float] | None:
    """{region: value} for every region, fluid regions defaulting to the fluid's value;
    None when a solid region has no value."""
    table = dict(table or {})
    unknown = set(table) - set(domain.regions)
    if unknown:
        raise ThermocfdError(f"{what}: no region named {sorted(unknown)} (regions: {sorted(domain.regions)})")
    for name in fluid_names:
        table.setdefault(name, fluid_value)
    if set(table) != set(domain.regions):
        return None
    return table


def _dg0_field(domain: Domain, table: Mapping[str, float], scale: float) -> dolfinx.fem.Function:
    V0 = compat.function_space(domain.mesh, "DG", 0)
    values = dolfinx.fem.Function(V0)
    cell_dofs = compat.cell_dofs(V0)
    for name, number in table.items():
        values.x.array[cell_dofs[domain.cell_tags.find(domain.region_tag(name)), 0]] = number * scale
    values.x.scatter_forward()
    return values


def coupled_solver_options(linear_solver: str, dim: int, rtol: float) -> dict[str, object]:
    """PETSc options of the linear solver inside Newton for the (u, p, T) Jacobian.

    "direct": MUMPS. "iterative": right-preconditioned GMRES with a block lower-triangular
    (multiplicative field-split) preconditioner over T, u, p: BoomerAMG on the temperature
    block, BoomerAMG on the velocity block of the preconditioning matrix (the component-wise
    Laplacian, so the components decouple as in :mod:`thermocfd.fem.stokes_preconditioner`),
    and Jacobi on ``-M_p / mu``; the velocity index set has the block size of the vector
    space, so BoomerAMG coarsens the components separately.

    Right preconditioning makes GMRES test the true residual: the scaled velocity of a
    microfluidic flow is ~1e-3 next to a hydrostatic pressure ~10-100, and the left-
    preconditioned norm let the velocity converge last (3D laser chamber, 11k unknowns:
    114 + 373 iterations left, 88 + 122 right). Jacobi on the pressure mass matrix gave
    fewer iterations than 3 Chebyshev steps there (70 + 94).
    """
    if linear_solver == "direct":
        return {**DIRECT, "mat_mumps_icntl_14": 200}
    options: dict[str, object] = {"ksp_type": "gmres", "ksp_pc_side": "right", "ksp_gmres_restart": 300,
                                  "ksp_rtol": rtol, "ksp_max_it": 1000, "pc_type": "fieldsplit",
                                  "pc_fieldsplit_type": "multiplicative"}
    # l1-scaled Jacobi smoothing: 18 s against 29 s with hybrid Gauss-Seidel for the same
    # iterations on the 72k-unknown chamber, and independent of the partition
    amg = {**velocity_amg_options("hypre"), "pc_hypre_boomeramg_relax_type_all": "l1scaled-Jacobi"}
    for split, inner in (("temperature", amg), ("velocity", amg), ("pressure", pressure_mass_options("jacobi", dim))):
        options.update({f"fieldsplit_{split}_{key}": value for key, value in inner.items()})
    return options


class BuoyantFlowProblem:
    """(u, p, T) with no-slip walls; a closed chamber, or a channel with a prescribed
    ``inflow`` profile on one boundary and a traction-free ``outflow`` on another.

    ``gravity``: SI vector (its first ``dim`` components act in the mesh plane).
    ``thermal_conditions``: :mod:`thermocfd.fem.heat` conditions on named boundaries:
    :class:`FixedTemperature`, :class:`HeatFlux` (W/m^2 into the domain; on an *interior*
    facet group, e.g. a thin-film heater between glass and liquid, a surface source whose
    whole power ``value x area`` goes into the cells on both sides), :class:`ConvectiveCooling`
    and :class:`HeaterPower` (W, W/m in 2D, on a boundary or spread over a region's volume).
    ``heat_source``: UFL expression, W/m^3, acting in the fluid; ``heat_sources``:
    (region name or None for every cell, W/m^3 as a number, UFL expression or f(x)) pairs.

    Conjugate heat transfer: ``fluid_regions`` names the regions where the liquid flows
    (None: every cell is fluid). ``conductivity`` (W/(m K)) and ``heat_capacity`` (rho c_p,
    J/(m^3 K)) are per-region tables; fluid regions default to the fluid's values, solid
    regions need a conductivity (and a heat capacity for transients).

    ``flow_conditions``: :mod:`thermocfd.fem.stokes` conditions on named boundaries:
    :class:`NoSlip`, :class:`PrescribedVelocity` (m/s, a vector or ``f(x)`` of the physical
    coordinate, NumPy, shape (3, N) -> (gdim, N)), :class:`Pressure` (Pa: ``sigma n = -p n``;
    0 is a free "do-nothing" outflow) and :class:`ThermoOsmoticSlip` (``u = chi (I - n n)
    grad T`` on the fluid side of the wall). Every exterior fluid boundary not named is a
    no-slip wall, and so is every fluid-solid interface (velocity dofs of solid cells are
    zero) unless it carries a slip condition. Where conditions share dofs (corners), slip
    overrides walls and solids at rest, which override prescribed velocities. Without a
    Pressure (or ``outflow``) boundary the pressure is pinned at one fluid node (one: a
    closed chip with two separate liquid regions needs an open boundary on each).
    ``inflow=(boundary, f)`` (f a UFL function of the physical coordinate, m/s) and
    ``outflow=boundary`` are the older spelling of a prescribed velocity and a zero Pressure.

    Thermo-osmotic slip depends on T, an unknown of the Newton iteration: it is a Dirichlet
    value recomputed from the current temperature (surface L2 projection of the tangential
    gradient) in an outer fixed-point loop around Newton, until the slip changes by less
    than ``slip_rtol`` (relative). The slip's feedback on T is heat advection, of relative
    size the Peclet number, so the loop contracts fast (about Pe per iteration).
    """

    def __init__(self, domain: Domain, fluid: FluidProperties, gravity: Sequence[float],
                 thermal_conditions: Sequence, *, reference_temperature: float, inertia: bool = False,
                 heat_source=None, temperature_degree: int = 2,
                 inflow: tuple[str, Callable] | None = None, outflow: str | None = None,
                 fluid_regions: Sequence[str] | None = None,
                 conductivity: Mapping[str, float] | None = None,
                 heat_capacity: Mapping[str, float] | None = None,
                 heat_sources: Sequence[tuple[str | None, object]] = (),
                 flow_conditions: Sequence = (),
                 slip_rtol: float = 1e-10, max_slip_iterations: int = 50,
                 linear_solver: str = "direct", linear_rtol: float = 1e-8):
        if linear_solver not in ("direct", "iterative"):
            raise ValueError(f"linear_solver must be 'direct' or 'iterative', got {linear_solver!r}")
        self.linear_solver = linear_solver
        self.linear_rtol = linear_rtol
        self.domain = domain
        self.fluid = fluid
        mesh = domain.mesh
        dim = mesh.topology.dim
        ell = domain.length_scale
        self.kappa = fluid.thermal_diffusivity
        self.velocity_scale = self.kappa / ell
        self.mu_ref = float(fluid.viscosity.viscosity(reference_temperature))
        self.pressure_scale = self.mu_ref * self.kappa / ell**2
        self.reference_temperature = reference_temperature
        self.slip_rtol = slip_rtol
        self.max_slip_iterations = max_slip_iterations
        g = np.asarray(gravity, dtype=float)[:dim]
        self.gravity_magnitude = float(np.linalg.norm(g))
        direction = g / self.gravity_magnitude if self.gravity_magnitude > 0 else np.zeros(dim)

        # --- regions -----------------------------------------------------------------
        if fluid_regions is None:
            self.fluid_regions = list(domain.regions)
            self.solid_regions: list[str] = []
        else:
            for name in fluid_regions:
                domain.region_tag(name)
            self.fluid_regions = list(fluid_regions)
            self.solid_regions = [name for name in domain.regions if name not in self.fluid_regions]
        restricted = bool(self.solid_regions)
        # One quadrature for every cell integral, exact for the polynomial terms (inertia and
        # heat advection are of degree 2 k + 1 for P2 velocity and P_k temperature): UFL's
        # estimate for the exponentials of the viscosity law and the laser beam was 9 for the
        # residual and 12 for the Jacobian, 2.5x and 6x the quadrature points in 3D.
        md = {"quadrature_degree": 2 * max(temperature_degree, 2) + 1}
        # the tagged measure: dolfinx 0.9 refuses forms that mix it with an untagged one
        self._dx = domain.dx(metadata=md)
        if restricted:
            self._flow_dx = domain.dx(metadata=md)(tuple(domain.region_tag(name) for name in self.fluid_regions))
            self._solid_dx = domain.dx(metadata=md)(tuple(domain.region_tag(name) for name in self.solid_regions))
        else:
            self._flow_dx, self._solid_dx = None, None
        self._fluid_dx = self._dx if self._flow_dx is None else self._flow_dx  # flow, buoyancy, heat advection
        self._zero = compat.constant(mesh, 0.0)

        # per-region conductivity and heat capacity, scaled by the fluid's
        k_table = _region_table(domain, conductivity, self.fluid_regions, fluid.thermal_conductivity, "conductivity")
        if k_table is None:
            missing = sorted(set(domain.regions) - set(conductivity or {}) - set(self.fluid_regions))
            raise ThermocfdError(f"no thermal conductivity given for solid region(s) {missing}")
        uniform = conductivity is None or all(v == fluid.thermal_conductivity for v in k_table.values())
        self.conductivity = 1.0 if uniform else _dg0_field(domain, k_table, 1.0 / fluid.thermal_conductivity)
        c_fluid = fluid.density * fluid.heat_capacity
        c_table = _region_table(domain, heat_capacity, self.fluid_regions, c_fluid, "heat_capacity")
        self._capacity_missing = c_table is None
        self.capacity = None
        if c_table is not None and heat_capacity is not None and any(v != c_fluid for v in c_table.values()):
            self.capacity = _dg0_field(domain, c_table, 1.0 / c_fluid)

        self.W = compat.mixed_function_space(mesh, [("Lagrange", 2, (dim,)), ("Lagrange", 1, None),
                                                    ("Lagrange", temperature_degree, None)])
        self.solution = dolfinx.fem.Function(self.W)
        u, p, T = ufl.split(self.solution)
        # one set of test functions for every form: Arguments made after a form has been
        # JIT-compiled can compare unequal to earlier ones (UFL raises "different Arguments
        # with same number and part" on a cold cache)
        self._tests = ufl.TestFunctions(self.W)
        self._trial = ufl.TrialFunction(self.W)
        v, q, s = self._tests
        self.buoyancy = compat.constant(mesh, fluid.density * fluid.thermal_expansion * self.gravity_magnitude
                                        * ell**3 / (self.mu_ref * self.kappa))
        self._full_buoyancy = float(self.buoyancy.value)

        # --- thermal conditions -----------------------------------------------------
        flux_scale = ell / fluid.thermal_conductivity  # W/m^2 -> scaled
        source_scale = ell**2 / fluid.thermal_conductivity  # W/m^3 -> scaled
        neumann, robin, sources = [], [], []
        self.bcs = []
        self._dirichlet: list[tuple[str, np.ndarray]] = []  # (boundary, dofs in W)
        self._wall_temperatures: dict[str, list[dolfinx.fem.Function]] = {}
        self._boundary_sources: dict[str, list[tuple[dolfinx.fem.Constant, float]]] = {}  # (flux, its value)
        self._boundary_terms: dict[str, list] = {}
        fdim = dim - 1
        V_T, _ = compat.collapse(self.W.sub(2))
        for bc in thermal_conditions:
            if isinstance(bc, FixedTemperature):
                facets = domain.facet_tags.find(domain.boundary_tag(bc.boundary))
                dofs = compat.locate_dofs_topological((self.W.sub(2), V_T), fdim, facets)
                value = dolfinx.fem.Function(V_T)
                if callable(bc.value):
                    compat.interpolate(value, bc.value(domain.physical_coordinates()))
                else:
                    value.x.array[:] = bc.value
                self.bcs.append(dolfinx.fem.dirichletbc(value, dofs, self.W.sub(2)))
                self._dirichlet.append((bc.boundary, dofs[0]))
                self._wall_temperatures.setdefault(bc.boundary, []).append(value)
            elif isinstance(bc, HeatFlux):
                flux = _scalar_field(domain, bc.value, flux_scale)
                if isinstance(flux, dolfinx.fem.Constant):
                    self._boundary_sources.setdefault(bc.boundary, []).append((flux, float(flux.value)))
                for measure in facet_measures(domain, bc.boundary):
                    neumann.append((flux, measure))
                    self._boundary_terms.setdefault(bc.boundary, []).append(("flux", flux, measure))
            elif isinstance(bc, ConvectiveCooling):
                exterior_boundary(domain, bc)
                h = compat.constant(mesh, bc.coefficient * flux_scale)
                ambient = compat.constant(mesh, bc.ambient)
                robin.append((h, ambient, domain.ds(bc.boundary)))
                self._boundary_terms.setdefault(bc.boundary, []).append(("robin", h, ambient, robin[-1][2]))
            elif isinstance(bc, HeaterPower):
                if heater_target_kind(domain, bc) == "boundary":
                    flux = compat.constant(mesh, bc.power / facet_set_area(domain, bc.target) * flux_scale)
                    self._boundary_sources.setdefault(bc.target, []).append((flux, float(flux.value)))
                    for measure in facet_measures(domain, bc.target):
                        neumann.append((flux, measure))
                        self._boundary_terms.setdefault(bc.target, []).append(("flux", flux, measure))
                else:
                    q_heater = bc.power / region_volume(domain, bc.target) * source_scale
                    sources.append((compat.constant(mesh, q_heater), domain.dx(bc.target, metadata=md)))
            else:
                raise TypeError(f"not a thermal boundary condition: {bc!r}")
        for region, value in heat_sources:
            measure = self._dx if region is None else domain.dx(region, metadata=md)
            sources.append((_scalar_field(domain, value, source_scale), measure))
        self._sources = sources

        # --- flow conditions --------------------------------------------------------
        conditions = list(flow_conditions)
        if inflow is not None:
            conditions.append(("inflow", inflow[0], inflow[1]))
        if outflow is not None:
            conditions.append(Pressure(outflow, 0.0))
        tractions = self._setup_flow_conditions(conditions)
        self.closed = not any(isinstance(c, Pressure) for c in conditions)
        if self.closed:
            self.bcs.append(self._fluid_pressure_pin() if restricted else self._pressure_pin())

        source = None if heat_source is None else heat_source * source_scale
        self._viscosity = fluid.viscosity.viscosity(T) / self.mu_ref
        self.residual = buoyant_flow_residual(
            u, p, T, v, q, s, self._dx,
            viscosity=self._viscosity, buoyancy=self.buoyancy,
            gravity_direction=ufl.as_vector(direction.tolist()), reference_temperature=reference_temperature,
            conductivity=self.conductivity, inertia=(fluid.density * self.kappa / self.mu_ref) if inertia else None,
            heat_source=source, neumann=neumann, robin=robin, flow_dx=self._flow_dx, solid_dx=self._solid_dx,
            zero=self._zero, sources=sources, tractions=tractions)
        if linear_solver == "iterative":  # J's pattern must hold the pressure mass of the preconditioner
            self.residual += self._zero * p * q * self._fluid_dx
        self._heat_source = source
        self._forms = {0: self._compile(self.residual)}
        self._solvers: dict[int, NewtonSolver] = {}
        self._part_dofs: dict[int, np.ndarray] = {}
        self._last_order = 0
        self._inertia = (fluid.density * self.kappa / self.mu_ref) if inertia else None
        self._history = [dolfinx.fem.Function(self.W), dolfinx.fem.Function(self.W)]
        self._dt = compat.constant(mesh, 1.0)
        self._bdf2 = VariableBDF2(mesh)
        self.time_scale = ell**2 / self.kappa  # thermal diffusion time of the fluid
        self.time = 0.0
        self._steps = 0
        self.report = NewtonReport()
        self._thermal_conditions = thermal_conditions

    # --- set-up helpers ---------------------------------------------------------------
    def _setup_flow_conditions(self, conditions: Sequence) -> list:
        """Velocity Dirichlet conditions (into self.bcs) and pressure tractions (returned).

        Priorities where dofs are shared: prescribed velocities < walls and solids at rest
        < thermo-osmotic slip.
        """
        domain, mesh = self.domain, self.domain.mesh
        tdim = mesh.topology.dim
        fdim = tdim - 1
        V_u, _ = compat.collapse(self.W.sub(0))
        self._V_u = V_u
        sub = self.W.sub(0)
        named = []
        prescribed, walls, slips = [], [], []  # (value Function on V_u, [W dofs, V_u dofs])
        mirrors = []  # (zero on the normal component's space, W subspace, W dofs, its dofs, V_u dofs)
        tractions = []
        self._slip: list[tuple[dolfinx.fem.Function, SurfaceProjector, float, object]] = []
        ell = domain.length_scale

        def exterior_only(condition):
            if facet_set_kinds(domain, condition.boundary)[1]:
                raise ThermocfdError(f"{type(condition).__name__} on {condition.boundary!r}: that boundary lies "
                                     "inside the mesh (a fluid-solid interface is a wall at rest, or slips)")

        def facet_dofs(name):
            facets = domain.facet_tags.find(domain.boundary_tag(name))
            named.append(facets)
            return compat.locate_dofs_topological((sub, V_u), fdim, facets)

        for condition in conditions:
            if isinstance(condition, tuple) and condition[0] == "inflow":  # legacy: UFL profile
                _, boundary, profile_of_x = condition
                profile = dolfinx.fem.Function(V_u)
                compat.interpolate(profile, profile_of_x(domain.physical_coordinates()) / self.velocity_scale)
                prescribed.append((profile, facet_dofs(boundary)))
            elif isinstance(condition, PrescribedVelocity):
                exterior_only(condition)
                profile = dolfinx.fem.Function(V_u)
                value, dim = condition.value, domain.dim
                if callable(value):
                    compat.interpolate(profile, lambda x, f=value: np.asarray(f(ell * x), dtype=float)[:dim]
                                       / self.velocity_scale)
                else:
                    vec = np.asarray(value, dtype=float)[:dim] / self.velocity_scale
                    compat.interpolate(profile, lambda x, c=vec: np.outer(c, np.ones(x.shape[1])))
                prescribed.append((profile, facet_dofs(condition.boundary)))
            elif isinstance(condition, NoSlip):
                walls.append((dolfinx.fem.Function(V_u), facet_dofs(condition.boundary)))
            elif isinstance(condition, Pressure):
                exterior_only(condition)
                facet_dofs(condition.boundary)
                if condition.value != 0.0:
                    tractions.append((compat.constant(mesh, condition.value / self.pressure_scale),
                                      domain.ds(condition.boundary)))
            elif isinstance(condition, ThermoOsmoticSlip):
                value = dolfinx.fem.Function(V_u)
                slips.append((value, facet_dofs(condition.boundary)))
                projector = SurfaceProjector(domain, V_u, condition.boundary, self.solid_regions)
                self._slip.append((value, projector, condition.slip_coefficient, condition.centre))
            elif isinstance(condition, Symmetry):
                exterior_only(condition)
                facets = domain.facet_tags.find(domain.boundary_tag(condition.boundary))
                named.append(facets)
                axis = plane_normal_axis(domain, condition.boundary)[0]
                if axis is None:
                    raise ThermocfdError(f"symmetry plane {condition.boundary!r} is not normal to a coordinate axis")
                component_space, in_V_u = compat.collapse(V_u.sub(axis))
                dofs_W, dofs_c = compat.locate_dofs_topological((sub.sub(axis), component_space), fdim, facets)
                mirrors.append((dolfinx.fem.Function(component_space), sub.sub(axis), dofs_W, dofs_c,
                                np.asarray(in_V_u)[dofs_c]))
            else:
                raise TypeError(f"not a flow boundary condition of the buoyant flow solver: {condition!r}")
        # every other exterior facet is a no-slip wall; solid cells are at rest
        exterior = dolfinx.mesh.exterior_facet_indices(mesh.topology)
        if named:
            exterior = np.setdiff1d(exterior, np.concatenate(named))
        walls.insert(0, (dolfinx.fem.Function(V_u),
                         compat.locate_dofs_topological((sub, V_u), fdim, exterior.astype(np.int32))))
        if self.solid_regions:
            cells = np.concatenate([domain.cell_tags.find(domain.region_tag(name))
                                    for name in self.solid_regions]).astype(np.int32)
            mesh.topology.create_connectivity(tdim, tdim)
            walls.append((dolfinx.fem.Function(V_u), compat.locate_dofs_topological((sub, V_u), tdim, cells)))
        # highest priority first; a dof already taken is left out of lower ones
        index_map, bs = V_u.dofmap.index_map, V_u.dofmap.index_map_bs
        taken = np.zeros((index_map.size_local + index_map.num_ghosts) * bs, dtype=bool)  # unrolled dofs
        for group in (slips, walls, prescribed):
            group_taken = taken.copy()
            for value, (dofs_W, dofs_V) in group:
                keep = ~taken[dofs_V]
                dofs = [np.ascontiguousarray(dofs_W[keep]), np.ascontiguousarray(dofs_V[keep])]
                self.bcs.append(dolfinx.fem.dirichletbc(value, dofs, sub))
                group_taken[dofs_V] = True
            taken = group_taken
        for value, space, dofs_W, dofs_c, dofs_V in mirrors:  # the normal component, where nothing else holds
            keep = ~taken[dofs_V]
            self.bcs.append(dolfinx.fem.dirichletbc(value, [np.ascontiguousarray(dofs_W[keep]),
                                                            np.ascontiguousarray(dofs_c[keep])], space))
        if self.solid_regions:
            self.bcs.append(self._solid_pressure_condition())
        return tractions

    def _fluid_pressure_dofs(self):
        """(Q, map Q -> W, mask of the Q dofs that a fluid cell touches), parallel-consistent."""
        domain, mesh = self.domain, self.domain.mesh
        tdim = mesh.topology.dim
        Q, to_W = compat.collapse(self.W.sub(1))
        cells = np.concatenate([domain.cell_tags.find(domain.region_tag(name))
                                for name in self.fluid_regions]).astype(np.int32)
        touched = dolfinx.fem.Function(Q)
        touched.x.array[compat.locate_dofs_topological(Q, tdim, cells)] = 1.0
        vec = compat.petsc_vector(touched)
        vec.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        vec.ghostUpdate(addv=PETSc.InsertMode.INSERT, mode=PETSc.ScatterMode.FORWARD)
        return Q, np.asarray(to_W, dtype=np.int32), touched.x.array > 0.0

    def _solid_pressure_condition(self):
        """p = 0 on the pressure dofs that no fluid cell touches (they have no equation)."""
        Q, to_W, fluid = self._fluid_pressure_dofs()
        pinned = np.flatnonzero(~fluid).astype(np.int32)
        return dolfinx.fem.dirichletbc(dolfinx.fem.Function(Q), [to_W[pinned], pinned], self.W.sub(1))

    def _fluid_pressure_pin(self):
        """p = 0 at one fluid pressure dof (the one with the smallest global index): in a
        closed fluid the pressure is defined up to a constant."""
        Q, to_W, fluid = self._fluid_pressure_dofs()
        index_map = Q.dofmap.index_map
        local = np.arange(index_map.size_local + index_map.num_ghosts, dtype=np.int32)
        global_index = np.asarray(index_map.local_to_global(local), dtype=np.int64)
        candidate = int(global_index[fluid].min()) if np.any(fluid) else np.iinfo(np.int64).max
        chosen = self.domain.comm.allreduce(candidate, op=MPI.MIN)
        dofs = local[global_index == chosen].astype(np.int32)
        return dolfinx.fem.dirichletbc(dolfinx.fem.Function(Q), [to_W[dofs], dofs], self.W.sub(1))

    def _pressure_pin(self):
        """p = 0 at one vertex: velocity is given on the whole boundary, so the pressure
        is defined up to a constant and the pinned continuity row is implied."""
        Q, _ = compat.collapse(self.W.sub(1))
        corner = None
        if self.domain.comm.rank == 0:
            corner = self.domain.mesh.geometry.x[0].copy()
        corner = self.domain.comm.bcast(corner, root=0)

        def at_corner(x):
            return np.all(np.isclose(x.T, corner, atol=1e-12), axis=1)

        dofs = dolfinx.fem.locate_dofs_geometrical((self.W.sub(1), Q), at_corner)
        return dolfinx.fem.dirichletbc(dolfinx.fem.Function(Q), dofs, self.W.sub(1))

    @property
    def rayleigh_number_per_kelvin_cubic_metre(self) -> float:
        """``rho0 beta |g| / (mu kappa)``: times dT L^3 gives the Rayleigh number."""
        f = self.fluid
        return f.density * f.thermal_expansion * self.gravity_magnitude / (self.mu_ref * self.kappa)

    def initial_conduction_guess(self, temperature) -> None:
        """Start Newton from the pure-conduction temperature and no flow."""
        V_T, dofs = compat.collapse(self.W.sub(2))
        guess = dolfinx.fem.Function(V_T)
        compat.interpolate(guess, temperature)
        self.solution.x.array[dofs] = guess.x.array
        self.solution.x.scatter_forward()

    def _compile(self, residual):
        """(F, J, correction) forms. J + correction is the preconditioning matrix of the
        iterative solver: J with the velocity block's strain operator replaced by the
        component-wise Laplacian and the pressure block by ``-M_p / mu`` (the Schur
        complement surrogate)."""
        F, J = compile_form(residual), ufl.derivative(residual, self.solution, self._trial)
        correction = None
        if self.linear_solver == "iterative":
            du, dp, _ = ufl.split(self._trial)
            v, q, _ = self._tests
            mu = self._viscosity
            eps = ufl.sym
            correction = compile_form((mu * (ufl.inner(ufl.grad(du), ufl.grad(v))
                                                 - 2.0 * ufl.inner(eps(ufl.grad(du)), eps(ufl.grad(v))))
                                           - dp * q / mu) * self._fluid_dx)
        return F, compile_form(J), correction

    def _transient_forms(self, order: int):
        """Residual of one BDF step: heat capacity (and inertia) terms added."""
        if order not in self._forms:
            if self._capacity_missing:
                missing = sorted(set(self.solid_regions))
                raise ThermocfdError(f"a transient conjugate problem needs the heat capacity of the solid "
                                     f"region(s) {missing} (heat_capacity=...)")
            alpha = BDF_COEFFICIENTS[1] if order == 1 else self._bdf2.weights
            u, _, T = ufl.split(self.solution)
            v, _, s = self._tests
            old = [ufl.split(h) for h in self._history[:order]]
            dT = alpha[0] * T + sum(a * h[2] for a, h in zip(alpha[1:], old))
            if self.capacity is not None:
                dT = self.capacity * dT
            F = self.residual + dT / self._dt * s * self._dx
            if self._inertia is not None:
                du = alpha[0] * u + sum(a * h[0] for a, h in zip(alpha[1:], old))
                F += self._inertia * ufl.dot(du, v) / self._dt * self._fluid_dx
            self._forms[order] = self._compile(F)
        return self._forms[order]

    def _newton_solver(self, order: int) -> NewtonSolver:
        """The SNES of the steady problem (order 0) or of a BDF step (order 1, 2)."""
        if order not in self._solvers:
            F, J, correction = self._forms[0] if order == 0 else self._transient_forms(order)
            fields = []
            if correction is not None:
                velocity, pressure, temperature = field_index_sets(self.W, ["velocity", "pressure", "temperature"],
                                                                   [self.domain.dim, 1, 1])
                # temperature first: the buoyancy coupling (T drives u) is then inside the
                # block-triangular sweep; heat advection by u (Peclet number) is left to GMRES
                fields = [temperature, velocity, pressure]
            self._solvers[order] = NewtonSolver(F, J, self.solution, self.bcs,
                                                coupled_solver_options(self.linear_solver, self.domain.dim,
                                                                       self.linear_rtol),
                                                P_correction=correction, fields=fields, name="convection",
                                                quiet=order > 0)
        return self._solvers[order]

    def set_wall_temperature(self, boundary: str, value: float) -> None:
        """A fixed-temperature boundary's value (K) from now on (time-dependent walls)."""
        if boundary not in self._wall_temperatures:
            raise ThermocfdError(f"boundary {boundary!r} has no fixed temperature to change")
        for function in self._wall_temperatures[boundary]:
            function.x.array[:] = value

    def set_heater_level(self, boundary: str, level: float) -> None:
        """Scale a boundary heater (heat flux or heater power) to ``level`` x its value."""
        if boundary not in self._boundary_sources:
            raise ThermocfdError(f"boundary {boundary!r} has no uniform heat flux or heater power to switch")
        for constant, value in self._boundary_sources[boundary]:
            constant.value = level * value

    def advance(self, dt: float, max_iterations: int = 25, restart: bool = False) -> NewtonReport:
        """One BDF2 step of physical size dt (s) from the current state
        (``initial_conduction_guess`` or an earlier solution), with the weights of the
        step ratio when dt changes; backward Euler for the first step and with ``restart``
        (after a source switched: the solution's time derivative jumps there)."""
        order = 1 if self._steps == 0 or restart else 2
        self._dt.value = dt / self.time_scale
        self._bdf2.set_step(dt, order == 2)
        solver = self._newton_solver(order)
        shift_history(self._history, self.solution)

        def step() -> NewtonReport:
            report = solver.solve(1e-9, max_iterations)
            if report.linear_solve_failed:
                raise SolverError(self._linear_failure(report))
            if not report.converged:
                raise SolverError(f"Newton did not converge within the time step to t = {self.time + dt:.4g} s "
                                  f"({report.reason_text}, |F| {report.residuals[0]:.2e} -> "
                                  f"{report.residuals[-1]:.2e}): take smaller time steps (time.steps)")
            return report

        self.report = report = self._with_slip(step)
        self._last_order = order
        self._steps += 1
        self.time += dt
        return report

    def restart_functions(self) -> dict[str, dolfinx.fem.Function]:
        """The Functions a restart of a transient needs: the state and its BDF history."""
        return {"solution": self.solution, "history0": self._history[0], "history1": self._history[1]}

    def restore(self, steps: int, time: float, last_step: float | None = None) -> None:
        """After :meth:`restart_functions` were filled from a checkpoint taken after
        ``steps`` time steps at ``time`` (s); ``last_step``: the size of the last step (s)."""
        self._steps, self.time, self._last_order = steps, time, (2 if steps > 1 else 1)
        self._bdf2.previous_step = last_step

    def solve(self, max_iterations: int = 25, rtol: float = 1e-9, continuation: bool = True) -> NewtonReport:
        """Steady state by Newton (SNES, line search). When Newton from the initial state
        fails and ``continuation``: natural-parameter continuation in the buoyancy (the
        Rayleigh number) from zero, then pseudo-transient continuation if that stalls; a
        flow that reaches no steady state that way raises SolverError saying it is unsteady.
        With thermo-osmotic slip: all of this inside a fixed-point loop on the slip."""
        self.report = report = self._with_slip(lambda: self._steady(max_iterations, rtol, continuation))
        self._last_order = 0
        return report

    def _steady(self, max_iterations: int, rtol: float, continuation: bool) -> NewtonReport:
        solver = self._newton_solver(0)
        start = self.solution.x.array.copy()
        report = solver.solve(rtol, max_iterations)
        if report.converged:
            return report
        if report.linear_reason in ("DIVERGED_PC_FAILED", "DIVERGED_PCSETUP_FAILED"):  # continuation cannot help
            raise SolverError(self._linear_failure(report))
        if not continuation:
            raise SolverError(f"the steady convection solver did not converge ({report.reason_text} after "
                              f"{report.iterations} Newton iterations, |F| {report.residuals[0]:.2e} -> "
                              f"{report.residuals[-1]:.2e}); allow continuation (solver.continuation = true) "
                              "or run it as a transient (time.transient = true)")
        log.info(f"  Newton from the initial state failed ({report.reason_text}): continuation in the "
                 "buoyancy from zero")
        self.solution.x.array[:] = start
        total = NewtonReport(method="continuation")
        total.absorb(report)
        try:
            if self._continuation(solver, total, rtol, max_iterations):
                return total
        finally:
            self.buoyancy.value = self._full_buoyancy
        return self._pseudo_transient(solver, total, rtol, max_iterations)

    def _continuation(self, solver: NewtonSolver, total: NewtonReport, rtol: float, max_iterations: int) -> bool:
        """Raise the buoyancy from 0 to its value in adaptive geometric steps (a decade of
        Rayleigh number at first, halved in log on failure); True when it arrives."""
        full = self._full_buoyancy

        def attempt(fraction: float) -> bool:
            self.buoyancy.value = fraction * full
            report = solver.solve(rtol, max_iterations)
            total.absorb(report)
            if report.converged:
                total.continuation.append(fraction)
            return report.converged

        if not attempt(0.0):
            raise SolverError(f"the steady heat and flow problem did not converge even without buoyancy "
                              f"({total.reason_text}): check the heat sources and boundary conditions")
        rayleigh = full * self._temperature_span()  # in the domain's length scale
        fraction = min(1.0, 1e3 / rayleigh) if rayleigh > 1e3 else 1.0
        factor, done = 10.0, 0.0
        saved = self.solution.x.array.copy()
        while True:
            if attempt(fraction):
                log.info(f"  continuation: buoyancy x {fraction:.3g} (Rayleigh number ~{fraction * rayleigh:.3g}) "
                         f"converged in {total.iterations} Newton iterations so far")
                if fraction >= 1.0:
                    return True
                done, saved[:] = fraction, self.solution.x.array
                if len(total.continuation) > 2 and total.iterations < 5 * len(total.continuation):
                    factor = min(factor * 2.0, 100.0)  # easy steps: stride further
                fraction = min(1.0, done * factor) if done > 0 else fraction
            else:
                self.solution.x.array[:] = saved
                factor = math.sqrt(factor)
                if factor < 1.05:
                    log.info(f"  continuation stalled at buoyancy x {done:.3g}")
                    return False
                fraction = min(1.0, done * factor) if done > 0 else fraction / 10.0

    def _pseudo_transient(self, steady: NewtonSolver, total: NewtonReport, rtol: float, max_iterations: int,
                          max_steps: int = 150) -> NewtonReport:
        """Backward-Euler steps in pseudo-time with the step grown as the steady residual
        falls (switched evolution relaxation), then Newton. A stable steady state attracts
        this iteration; a flow that oscillates does not, and is reported as unsteady."""
        total.method = "pseudo_transient"
        stepper = self._newton_solver(1)
        initial = previous = steady.residual_norm()
        rayleigh = max(self._full_buoyancy * self._temperature_span(), 1.0)
        dt = 0.1 / math.sqrt(rayleigh)  # scaled time: about a tenth of a buoyant turnover
        residuals = []
        for step in range(1, max_steps + 1):
            self._dt.value = dt
            saved = self.solution.x.array.copy()
            shift_history(self._history, self.solution)
            report = stepper.solve(1e-9, max_iterations)
            total.pseudo_time_steps = step
            if not report.converged:
                self.solution.x.array[:] = saved
                dt *= 0.25
                continue
            norm = steady.residual_norm()
            residuals.append(norm / initial)
            if norm < 1e-3 * initial or step % 10 == 0:
                reached = self.solution.x.array.copy()
                attempt = steady.solve(rtol, max_iterations)
                total.absorb(attempt)
                if attempt.converged:
                    log.info(f"  pseudo-transient continuation reached the steady state in {step} steps")
                    return total
                self.solution.x.array[:] = reached
            dt *= min(10.0, max(0.5, previous / norm))
            previous = norm
        tail = residuals[-len(residuals) // 3:] or [math.nan]
        raise SolverError(
            f"no steady state: Newton, continuation in the buoyancy and {max_steps} pseudo-time steps did not "
            f"converge, and the steady residual stays at {min(tail):.1e}-{max(tail):.1e} of its start while "
            "the flow keeps changing: this flow is unsteady (oscillating); run it as a transient "
            "(time.transient = true)")

    def _linear_failure(self, report: NewtonReport) -> str:
        """What to change when the linear solver inside Newton failed."""
        if self.linear_solver == "direct":
            advice = ("the factorisation failed: for a large 3D problem usually MUMPS's workspace or memory; use "
                      "solver.linear_solver = 'iterative' (or fewer unknowns: a lower mesh.resolution)")
        else:
            advice = "the iterative solver did not converge: use solver.linear_solver = 'direct' or a looser solver.rtol"
        return (f"the linear solver inside Newton failed ({report.linear_reason or 'no reason given'}, Newton "
                f"iteration {report.iterations + 1}): {advice}")

    def _temperature_span(self) -> float:
        T = self.solution.sub(2).collapse()
        local = T.x.array
        hi = self.domain.comm.allreduce(float(local.max()) if local.size else -math.inf, op=MPI.MAX)
        lo = self.domain.comm.allreduce(float(local.min()) if local.size else math.inf, op=MPI.MIN)
        return max(hi - lo, 0.0)

    # --- thermo-osmotic slip ------------------------------------------------------------
    def _update_slip(self) -> float:
        """Slip values from the current temperature; returns their relative change."""
        ell = self.domain.length_scale
        grad_T = ufl.grad(ufl.split(self.solution)[2]) / ell  # K/m
        changes = np.zeros(2)
        owned = self._V_u.dofmap.index_map.size_local * self._V_u.dofmap.index_map_bs
        for value, projector, chi, centre in self._slip:
            factor = chi / self.velocity_scale
            n_exact = None if centre is None else sphere_normal(ufl.SpatialCoordinate(self.domain.mesh),
                                                                  np.asarray(centre, dtype=float) / ell)

            def make(restrict, n_facet, factor=factor, n_exact=n_exact):
                # the sign of n does not matter in (I - n n)
                n = n_facet if n_exact is None else restrict(n_exact)
                return factor * thermo_osmotic_slip(1.0, restrict(grad_T), n)

            new = projector.project(make).x.array
            changes += [np.sum((new[:owned] - value.x.array[:owned]) ** 2), np.sum(new[:owned] ** 2)]
            value.x.array[:] = new
        change, size = np.sqrt(self.domain.comm.allreduce(changes, op=MPI.SUM))
        return float(change / size) if size > 0 else float(change)

    def _with_slip(self, newton: Callable[[], NewtonReport]) -> NewtonReport:
        """Run Newton; with slip walls, repeat with the slip recomputed from the new
        temperature until it stops changing (``slip_rtol``)."""
        if not self._slip:
            return newton()
        self._update_slip()
        report = newton()
        for iteration in range(1, self.max_slip_iterations + 1):
            change = self._update_slip()
            report.slip_iterations = iteration
            if change <= self.slip_rtol:
                log.info(f"  thermo-osmotic slip settled after {iteration} fixed-point iteration(s) "
                         f"(relative change {change:.1e})")
                return report
            report = newton()
        raise SolverError(f"the thermo-osmotic slip did not settle in {self.max_slip_iterations} fixed-point "
                          f"iterations (last relative change {change:.2e}): the flow advects heat too strongly "
                          "for the slip iteration; lower the slip coefficient or the temperature gradient")

    # --- results in SI ------------------------------------------------------------------
    def velocity(self, out: dolfinx.fem.Function | None = None) -> dolfinx.fem.Function:
        """Flow velocity in m/s: a new Function on the collapsed P2 space, or written into
        ``out`` (one made by an earlier call)."""
        return self._part(0, self.velocity_scale, "velocity", out)

    def temperature(self, out: dolfinx.fem.Function | None = None) -> dolfinx.fem.Function:
        """Temperature in K, as :meth:`velocity`."""
        return self._part(2, 1.0, "temperature", out)

    def _part(self, index: int, scale: float, name: str, out):
        if out is None:
            out = self.solution.sub(index).collapse()
            out.x.array[:] *= scale
            out.name = name
            return out
        if index not in self._part_dofs:
            self._part_dofs[index] = np.asarray(compat.collapse(self.W.sub(index))[1], dtype=np.int32)
        out.x.array[:] = self.solution.x.array[self._part_dofs[index]] * scale
        return out

    def wall_heat_flow(self, boundary: str) -> float:
        """Heat flow into the domain through a fixed-temperature wall (W, per metre of depth
        in 2D), from the steady weak-form residual (reaction), which converges faster than
        integrating the gradient."""
        V_T, dofs_in_W = compat.collapse(self.W.sub(2))
        facets = self.domain.facet_tags.find(self.domain.boundary_tag(boundary))
        wall_dofs = compat.locate_dofs_topological(V_T, self.domain.dim - 1, facets)
        indicator = dolfinx.fem.Function(self.W)
        indicator.x.array[np.asarray(dofs_in_W)[wall_dofs]] = 1.0
        return reaction(self._forms[0][0], indicator, self.domain.comm) * self._power_scale

    @property
    def _power_scale(self) -> float:
        """W (W/m in 2D) per scaled unit of a heat-equation integral."""
        return self.fluid.thermal_conductivity * self.domain.length_scale ** (self.domain.dim - 2)

    def boundary_heat_flow(self, boundary: str) -> float:
        """Heat leaving the domain through a named boundary: W (W per metre of depth in 2D).

        Fixed temperature: from the residual of the last solve (steady, or the last time
        step) tested with the wall's dofs (the discrete reaction; corner dofs shared by two
        fixed-temperature boundaries split between them); convective cooling:
        ``int h (T - T_inf) ds``; heat flux: ``-int q ds`` (on an interior facet group:
        minus the heater's power). Heat carried by the flow across open boundaries is not
        included. In a steady state without open boundaries the sum over all boundaries
        equals :meth:`heat_source_power` up to ``int (T - T0) div u`` over the fluid
        (Taylor-Hood's divergence is weakly zero against P1 only: exact for
        ``temperature_degree=1``, of the size of the discretisation error squared for P2).
        """
        self.domain.boundary_tag(boundary)
        scaled = 0.0
        if any(name == boundary for name, _ in self._dirichlet):
            weights = dirichlet_weights([dofs for _, dofs in self._dirichlet], self.solution.x.array.size)
            indicator = dolfinx.fem.Function(self.W)
            for (name, dofs), weight in zip(self._dirichlet, weights):
                if name == boundary:
                    indicator.x.array[dofs] += weight
            scaled -= reaction(self._forms[self._last_order][0], indicator, self.domain.comm)
        T = ufl.split(self.solution)[2]
        one = compat.constant(self.domain.mesh, 1.0)
        for term in self._boundary_terms.get(boundary, []):
            if term[0] == "robin":
                _, h, ambient, ds = term
                form = h * (T - ambient) * ds
                sign = 1.0
            else:
                _, flux, measure = term
                form = facet_flux_term(flux, one, measure)
                sign = -1.0
            local = dolfinx.fem.assemble_scalar(compile_form(form))
            scaled += sign * self.domain.comm.allreduce(local, op=MPI.SUM)
        return scaled * self._power_scale

    def heat_source_power(self) -> float:
        """Total power of the volumetric heat sources (``heat_source``, ``heat_sources``,
        region heaters): W (W/m in 2D)."""
        form = self._zero * self._dx
        if self._heat_source is not None:
            form = form + self._heat_source * self._fluid_dx
        for q, measure in self._sources:
            form = form + q * measure
        local = dolfinx.fem.assemble_scalar(compile_form(form))
        return self.domain.comm.allreduce(local, op=MPI.SUM) * self._power_scale
