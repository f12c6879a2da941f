"""Incompressible Stokes flow with thermo-osmotic slip: Taylor-Hood P2-P1 and a scalable
block-preconditioned Krylov solver (MUMPS as an option).

Scaled units: lengths by the domain's length scale l (``domain.length_scale``),
viscosity by ``mu_ref``, velocity by ``velocity_scale`` U; then stress and pressure are
in units of ``mu_ref U / l``, forces of ``mu_ref U l`` and torques of ``mu_ref U l^2``.

The operator is assembled and its preconditioner set up once; every :meth:`StokesProblem.solve`
only reassembles the right-hand side from the current boundary values. That is what the
mobility problem needs: the six unit rigid motions and the slip problem of a particle use
one operator and one preconditioner.

Solid regions (particles, chip walls meshed as regions) stay in the mesh -- the
temperature lives there too -- but the Stokes forms integrate over the ``fluid`` region
only; velocity dofs in solid cells are set by Dirichlet conditions (rigid motion or rest)
and pressure dofs that no fluid cell touches are pinned to zero, so the discrete system is
exactly the fluid-only one plus decoupled identity rows.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Callable, Sequence, Union

import dolfinx.fem
import dolfinx.fem.petsc
import dolfinx.mesh
import numpy as np
import ufl
from mpi4py import MPI
from petsc4py import PETSc

from ..errors import SolverError, ThermocfdError
from ..physics.slip import SlipLaw, slip_coefficient_at
from . import compat
from .linear import forget_options, set_options
from .mesh import Domain
from .quadrature import compile_form
from .stokes_forms import (boussinesq_force, pressure_mass_form, scalar_velocity_laplacian, sphere_normal,
                           stokes_forms, stress_residual, thermo_osmotic_slip)
from .stokes_preconditioner import (VELOCITY_BLOCKS, BlockPreconditioner, pressure_mass_options,
                                    velocity_amg_options)

_counter = itertools.count()


# --- boundary conditions -------------------------------------------------------------
@dataclass(frozen=True)
class NoSlip:
    """u = 0 on a named boundary."""

    boundary: str


@dataclass(frozen=True)
class PrescribedVelocity:
    """u = value (m/s) on a named boundary: a constant vector or ``f(x) -> (gdim, N)``
    of the physical coordinates x (NumPy, shape (3, N))."""

    boundary: str
    value: Sequence[float] | Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class ThermoOsmoticSlip:
    """Wall at rest with thermo-osmotic slip ``u = chi (I - n n) grad T`` (chi in m^2/(s K)).

    The normal is the facet normal (exact on plane walls) unless ``centre`` (m) is given:
    then the surface is a sphere about it and its exact normal is used.
    """

    boundary: str
    slip_coefficient: float | SlipLaw  # a number or a law chi(T)
    centre: Sequence[float] | None = None


@dataclass(frozen=True)
class Pressure:
    """Natural outlet/inlet condition ``sigma n = -p n`` with p in Pa (0: free outflow)."""

    boundary: str
    value: float


@dataclass(frozen=True)
class RigidBody:
    """A solid region moving rigidly, ``u = U + Omega x (x - centre) [+ slip]``.

    Velocity dofs of every cell of ``region`` are set (the surface ``surface`` included);
    with ``slip_coefficient`` the thermo-osmotic slip along ``surface`` is added (sphere
    normal about ``centre``). Set the motion with :meth:`StokesProblem.set_rigid_motion`.
    """

    region: str
    surface: str
    centre: Sequence[float]
    slip_coefficient: float | SlipLaw | None = None


@dataclass(frozen=True)
class Boussinesq:
    """Buoyancy ``f = -rho0 beta (T - T0) g`` (SI: kg/m^3, 1/K, K, m/s^2)."""

    density: float
    thermal_expansion: float
    reference_temperature: float
    gravity: Sequence[float]


Condition = Union[NoSlip, PrescribedVelocity, ThermoOsmoticSlip, Pressure, RigidBody]


# --- solver options --------------------------------------------------------------------
def iterative_options(rtol: float = 1e-8, krylov: str = "gmres", velocity_amg: str | None = None,
                      pressure_pc: str = "chebyshev", max_it: int = 1000,
                      dim: int = 3, velocity_block: str = "laplacian") -> dict[str, object]:
    """GMRES with the block upper-triangular preconditioner ``[[AMG(A_u), B^T], [0,
    -M_p/(2 mu)]]``, or MINRES with the block-diagonal one (:mod:`.stokes_preconditioner`).

    Keys are relative to the Stokes solver's prefix; the inner solvers' options carry
    ``velocity_`` and ``pressure_``. velocity_amg: "gamg" (PETSc's smoothed aggregation)
    or "hypre" (BoomerAMG); default: GAMG on the Laplacian block, hypre on the strain block.
    """
    opts: dict[str, object] = {"ksp_type": krylov, "ksp_rtol": rtol, "ksp_atol": 1e-50,
                               "ksp_max_it": max_it}
    if krylov == "gmres":
        opts["ksp_gmres_restart"] = 200
    velocity_amg = velocity_amg or ("gamg" if velocity_block == "laplacian" else "hypre")
    opts.update({f"velocity_{key}": value for key, value in velocity_amg_options(velocity_amg).items()})
    opts.update({f"pressure_{key}": value for key, value in pressure_mass_options(pressure_pc, dim).items()})
    return opts


def direct_options(null_space: bool) -> dict[str, object]:
    """MUMPS LU; with a pressure null space MUMPS is told to detect the null pivot."""
    opts: dict[str, object] = {"ksp_type": "preonly", "pc_type": "lu",
                               "pc_factor_mat_solver_type": "mumps"}
    if null_space:
        opts["mat_mumps_icntl_24"] = 1
        opts["mat_mumps_cntl_3"] = 1e-12
    return opts


# --- helpers -----------------------------------------------------------------------------
# The slip integrands hold grad T, the exact sphere normal (a square root) and, on curved
# cells, rational Jacobian terms: UFL's degree estimate explodes; degree 6 is exact enough
# for P2 traces (and keeps the per-facet point count small).
_SURFACE_QUADRATURE = {"quadrature_degree": 6}


def _measure_interior(domain: Domain, name: str):
    return ufl.Measure("dS", domain=domain.mesh, subdomain_data=domain.facet_tags,
                       metadata=_SURFACE_QUADRATURE)(domain.boundary_tag(name))


def _facets(domain: Domain, name: str) -> np.ndarray:
    return domain.facet_tags.find(domain.boundary_tag(name))


def _is_interior_surface(domain: Domain, name: str) -> bool:
    """True if the tagged facets lie between two cells (e.g. a meshed particle's surface)."""
    mesh = domain.mesh
    tdim = mesh.topology.dim
    mesh.topology.create_connectivity(tdim - 1, tdim)
    f2c = mesh.topology.connectivity(tdim - 1, tdim)
    facets = _facets(domain, name)
    local = any(len(f2c.links(f)) == 2 for f in facets[: min(len(facets), 50)])
    return bool(domain.comm.allreduce(local, op=MPI.LOR))


def _fluid_indicator(domain: Domain, solid_regions: Sequence[str]) -> dolfinx.fem.Function:
    """DG0 field: 1 in fluid cells, 0 in solid ones (to pick the fluid side of a surface)."""
    W = compat.function_space(domain.mesh, "DG", 0)
    chi = dolfinx.fem.Function(W)
    chi.x.array[:] = 1.0
    dofs = compat.cell_dofs(W)
    for name in solid_regions:
        chi.x.array[dofs[domain.cell_tags.find(domain.region_tag(name)), 0]] = 0.0
    chi.x.scatter_forward()
    return chi


class SurfaceProjector:
    """L2 projection of a (discontinuous) vector expression onto the trace of V on a surface.

    Why not plain interpolation: grad T is discontinuous between cells, so interpolating
    it at shared surface nodes takes the value of whichever cell comes last -- which depends
    on the mesh partition. The surface L2 projection is unique, partition-independent and
    of optimal order. On an interior surface (particle meshed as a region) only the fluid
    side is used. The result is zero away from the surface.
    """

    def __init__(self, domain: Domain, V, boundary: str, solid_regions: Sequence[str] = ()):
        self.domain = domain
        self.V = V
        fdim = domain.dim - 1
        dofs = compat.locate_dofs_topological(V, fdim, _facets(domain, boundary))
        index_map, bs = V.dofmap.index_map, V.dofmap.index_map_bs
        owned = dofs[dofs < index_map.size_local]
        global_blocks = index_map.local_to_global(owned.astype(np.int32))
        rows = (bs * np.asarray(global_blocks, dtype=np.int64)[:, None] + np.arange(bs)[None, :]).ravel()
        # the surface dofs only: the mass matrix has no rows elsewhere
        self._is = PETSc.IS().createGeneral(rows.astype(PETSc.IntType), comm=domain.comm)
        self.interior = _is_interior_surface(domain, boundary)
        if self.interior:
            self._measure = _measure_interior(domain, boundary)
            self._side = _fluid_indicator(domain, solid_regions)
        else:
            self._measure = domain.ds(boundary, metadata=_SURFACE_QUADRATURE)
        u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
        mass = ufl.inner(u("+"), v("+")) if self.interior else ufl.inner(u, v)
        full = dolfinx.fem.petsc.assemble_matrix(compile_form(mass * self._measure))
        full.assemble()
        self.A = full.createSubMatrix(self._is, self._is)
        full.destroy()
        self.ksp = PETSc.KSP().create(domain.comm)
        prefix = f"thermocfd_slip_{next(_counter)}_"
        self.ksp.setOptionsPrefix(prefix)
        projection_options = {"ksp_type": "cg", "pc_type": "jacobi", "ksp_rtol": 1e-14,
                              "ksp_atol": 1e-50, "ksp_max_it": 2000}
        set_options(prefix, projection_options)
        self.ksp.setFromOptions()
        forget_options(prefix, projection_options)  # CG + Jacobi read everything here
        self.ksp.setOperators(self.A)
        self._x_surface = self.A.createVecRight()
        self.result = dolfinx.fem.Function(V)

    def project(self, make: Callable) -> dolfinx.fem.Function:
        """Project ``make(restrict, n)`` onto the surface and return it (zero elsewhere).

        ``make`` builds the UFL vector from ``restrict`` (apply it to every cell-wise
        quantity, e.g. a gradient) and the facet normal ``n`` (already restricted); on an
        interior surface it is evaluated on the fluid side.
        """
        v = ufl.TestFunction(self.V)
        n = ufl.FacetNormal(self.domain.mesh)
        if self.interior:
            chi = self._side
            w = (chi("+") * make(lambda e: e("+"), n("+"))
                 + chi("-") * make(lambda e: e("-"), n("-")))
            L = ufl.inner(w, v("+")) * self._measure
        else:
            L = ufl.inner(make(lambda e: e, n), v) * self._measure
        b = dolfinx.fem.petsc.assemble_vector(compile_form(L))
        b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        b_surface = b.getSubVector(self._is)
        self.ksp.solve(b_surface, self._x_surface)
        b.restoreSubVector(self._is, b_surface)
        if self.ksp.getConvergedReason() < 0:
            raise SolverError(f"surface projection failed (PETSc reason {self.ksp.getConvergedReason()})")
        x = compat.petsc_vector(self.result)
        x.set(0.0)
        x_surface = x.getSubVector(self._is)
        self._x_surface.copy(x_surface)
        x.restoreSubVector(self._is, x_surface)
        self.result.x.scatter_forward()
        b.destroy()
        return self.result

    def destroy(self) -> None:
        self.ksp.destroy()
        self.A.destroy()


class DirichletLifting:
    """The Dirichlet data's part of a block right-hand side, ``b -= A g`` and ``b = g`` on
    the Dirichlet rows, for velocity data g and pinned (zero) pressures.

    dolfinx's lifting computes the element matrices of every cell holding a Dirichlet dof
    for every right-hand side; on P2 geometry that cost 0.15 s per right-hand side on the
    phoretic sphere at 401,637 dofs (2 ranks). Here the operator's velocity columns on those
    cells are assembled once, without conditions (``forms``: the velocity-velocity and
    pressure-velocity blocks integrated over those cells), and each lifting is one product
    per block row (~1 ms).
    """

    def __init__(self, V, Q, forms, velocity_data: list, dirichlet_nodes: np.ndarray,
                 pinned_pressures: np.ndarray):
        self.forms = [compile_form(forms[0][0]), compile_form(forms[1][0])]
        self.matrices = [dolfinx.fem.petsc.create_matrix(self.forms[0], "baij"),
                         dolfinx.fem.petsc.create_matrix(self.forms[1])]
        self.assemble()
        self.velocity_data = velocity_data
        self.data = dolfinx.fem.Function(V)
        owned = V.dofmap.index_map.size_local
        self.nodes = dirichlet_nodes[dirichlet_nodes < owned]
        self.pinned = pinned_pressures[pinned_pressures < Q.dofmap.index_map.size_local]
        self.velocity_size = owned * V.dofmap.index_map_bs
        self._products = [matrix.createVecLeft() for matrix in self.matrices]

    def assemble(self) -> None:
        """(Re)assemble the columns (after the viscosity changed)."""
        for form, matrix in zip(self.forms, self.matrices):
            matrix.zeroEntries()
            dolfinx.fem.petsc.assemble_matrix(matrix, form)
            matrix.assemble()

    def apply(self, b: PETSc.Vec) -> None:
        """Lift the current data of ``velocity_data`` into the monolithic vector b."""
        bs = self.data.function_space.dofmap.index_map_bs
        g = self.data.x.array.reshape(-1, bs)
        g[:] = 0.0
        for value, nodes in self.velocity_data:  # in the order of the conditions, as dolfinx
            g[nodes] = value.x.array.reshape(-1, bs)[nodes]
        for matrix, product in zip(self.matrices, self._products):
            matrix.mult(compat.petsc_vector(self.data), product)
        n = self.velocity_size
        array = b.array
        array[:n] -= self._products[0].array_r
        array[n:] -= self._products[1].array_r
        array[:n].reshape(-1, bs)[self.nodes] = g[self.nodes]
        array[n + self.pinned] = 0.0
        del array  # hands the array back to PETSc (its state changes) before b is used

    def destroy(self) -> None:
        for obj in (*self.matrices, *self._products):
            obj.destroy()


def _viscosity_field(domain: Domain, viscosity, temperature, viscosity_scale):
    """(scaled UFL viscosity, mu_ref in Pa s) for a number, a law with .viscosity(T),
    or a function of the physical coordinate."""
    if isinstance(viscosity, (int, float)):
        if viscosity <= 0:
            raise ThermocfdError(f"fluid.viscosity must be positive, got {viscosity!r}")
        mu_ref = float(viscosity_scale or viscosity)
        return compat.constant(domain.mesh, float(viscosity) / mu_ref), mu_ref
    if hasattr(viscosity, "viscosity"):
        if temperature is None:
            raise ThermocfdError("a temperature-dependent viscosity needs the temperature field")
        if viscosity_scale is None:
            values = temperature.x.array
            local = (values.sum(), values.size)
            total = domain.comm.allreduce(np.array(local, dtype=float), op=MPI.SUM)
            viscosity_scale = float(viscosity.viscosity(total[0] / total[1]))
        return viscosity.viscosity(temperature) / viscosity_scale, float(viscosity_scale)
    if callable(viscosity):
        if viscosity_scale is None:
            raise ValueError("a viscosity given as a function of x needs viscosity_scale")
        return viscosity(domain.physical_coordinates()) / viscosity_scale, float(viscosity_scale)
    raise TypeError(f"cannot use {viscosity!r} as a viscosity")


# --- the problem --------------------------------------------------------------------------
class StokesProblem:
    """Steady Stokes flow on a :class:`Domain` with named boundary conditions.

    viscosity: Pa s (number), a law with ``.viscosity(T)`` (needs ``temperature``), or
    ``f(x)`` of the physical coordinate (needs ``viscosity_scale``).
    temperature: dolfinx Function (K) on the same mesh: drives slip, mu(T), buoyancy.
    body_force: ``f(x)`` (UFL, N/m^3) of the physical coordinate, added to buoyancy.
    solver: "iterative" (Krylov + block preconditioner) or "direct" (MUMPS).
    krylov: "gmres" (default; block-triangular preconditioner) or "minres" (block diagonal).
    velocity_block: the preconditioner's velocity block, "laplacian" (scalar Laplacian per
    component, GAMG: fastest per solve) or "strain" (the vector strain block, BoomerAMG:
    about half the iterations); see :mod:`.stokes_preconditioner`.
    rtol: relative tolerance of the preconditioned residual (1e-8: forces to ~1e-8).
    options: PETSc options overriding the defaults, keys relative to the solver's prefix
    (e.g. ``{"velocity_pc_type": "hypre"}``).
    null_space: attach the constant-pressure null space; default: when velocity is
    prescribed on the whole boundary.

    After :meth:`solve`, ``velocity`` (scaled; ``velocity_scale`` m/s per unit) and
    ``pressure`` (scaled; ``pressure_scale`` Pa per unit) hold the solution.
    """

    def __init__(self, domain: Domain, viscosity, conditions: Sequence[Condition], *,
                 temperature: dolfinx.fem.Function | None = None, body_force: Callable | None = None,
                 buoyancy: Boussinesq | None = None, velocity_scale: float = 1.0,
                 viscosity_scale: float | None = None, solver: str = "iterative", rtol: float = 1e-8,
                 krylov: str = "gmres", velocity_block: str = "laplacian", options: dict | None = None,
                 null_space: bool | None = None):
        self.domain = domain
        mesh = domain.mesh
        tdim = mesh.topology.dim
        fdim = tdim - 1
        ell = domain.length_scale
        self.temperature = temperature
        self.velocity_scale = float(velocity_scale)
        self.mu, self.viscosity_scale = _viscosity_field(domain, viscosity, temperature, viscosity_scale)
        self.pressure_scale = self.viscosity_scale * self.velocity_scale / ell
        self.force_scale = self.viscosity_scale * self.velocity_scale * ell
        self.torque_scale = self.force_scale * ell
        force_factor = ell**2 / (self.viscosity_scale * self.velocity_scale)

        self.V = compat.function_space(mesh, "Lagrange", 2, shape=(domain.dim,))
        self.Q = compat.function_space(mesh, "Lagrange", 1)
        self.velocity = dolfinx.fem.Function(self.V, name="velocity")
        self.pressure = dolfinx.fem.Function(self.Q, name="pressure")
        self.conditions = list(conditions)

        self.solid_regions = [name for name in domain.regions if name != "fluid"] \
            if "fluid" in domain.regions and len(domain.regions) > 1 else []
        dx = domain.dx("fluid") if self.solid_regions else domain.dx()
        self.dx = dx
        x = domain.physical_coordinates()

        f = None
        if buoyancy is not None:
            if temperature is None:
                raise ThermocfdError("buoyancy needs the temperature field")
            g = ufl.as_vector([float(c) for c in buoyancy.gravity][: domain.dim])
            f = boussinesq_force(buoyancy.density, buoyancy.thermal_expansion, temperature,
                                 buoyancy.reference_temperature, g)
        if body_force is not None:
            f = body_force(x) if f is None else f + body_force(x)
        self.body_force = None if f is None else f * force_factor

        # Dirichlet conditions: one value Function per condition, updated before solves.
        self.values: dict[str, dolfinx.fem.Function] = {}
        self.bcs: list = []
        self._slip: dict[str, tuple[SurfaceProjector, float, object]] = {}
        self._rigid: dict[str, RigidBody] = {}
        self._rigid_dofs: dict[str, np.ndarray] = {}
        self._rigid_cells: dict[str, np.ndarray] = {}
        self._rigid_arms: dict[str, np.ndarray] = {}
        covered = []
        tractions = []
        # (values, P2 nodes) of every velocity condition; each fixes all components
        self._velocity_data: list[tuple[dolfinx.fem.Function, np.ndarray]] = []
        n = ufl.FacetNormal(mesh)
        for condition in self.conditions:
            if isinstance(condition, Pressure):
                p_scaled = condition.value / self.pressure_scale
                tractions.append((-compat.constant(mesh, p_scaled) * n, domain.ds(condition.boundary)))
                continue
            value = dolfinx.fem.Function(self.V)
            if isinstance(condition, RigidBody):
                cells = domain.cell_tags.find(domain.region_tag(condition.region))
                dofs = compat.locate_dofs_topological(self.V, tdim, cells)
                self._rigid[condition.region] = condition
                self._rigid_dofs[condition.region] = dofs
                self._rigid_cells[condition.region] = cells
                self.values[condition.region] = value
                if condition.slip_coefficient is not None:
                    self._slip[condition.region] = (
                        SurfaceProjector(domain, self.V, condition.surface, self.solid_regions),
                        condition.slip_coefficient, condition.centre)
            else:
                facets = _facets(domain, condition.boundary)
                covered.append(facets)
                dofs = compat.locate_dofs_topological(self.V, fdim, facets)
                self.values[condition.boundary] = value
                if isinstance(condition, PrescribedVelocity):
                    self.set_boundary_velocity(condition.boundary, condition.value)
                elif isinstance(condition, ThermoOsmoticSlip):
                    self._slip[condition.boundary] = (
                        SurfaceProjector(domain, self.V, condition.boundary, self.solid_regions),
                        condition.slip_coefficient, condition.centre)
                elif not isinstance(condition, NoSlip):
                    raise TypeError(f"not a Stokes boundary condition: {condition!r}")
            self.bcs.append(dolfinx.fem.dirichletbc(value, dofs))
            self._velocity_data.append((value, dofs))
        # solid regions that are not rigid bodies are at rest
        for name in self.solid_regions:
            if name not in self._rigid:
                cells = domain.cell_tags.find(domain.region_tag(name))
                dofs = compat.locate_dofs_topological(self.V, tdim, cells)
                rest = dolfinx.fem.Function(self.V)
                self.bcs.append(dolfinx.fem.dirichletbc(rest, dofs))
                self._velocity_data.append((rest, dofs))
        # every velocity condition fixes all components of its nodes
        self._dirichlet_nodes = np.unique(np.concatenate([nodes for _, nodes in self._velocity_data]
                                                         or [np.zeros(0, np.int32)])).astype(np.int32)
        self._pinned = self._pinned_pressure_dofs() if self.solid_regions else np.zeros(0, np.int32)
        pressure_bcs = []
        if self.solid_regions:
            pressure_bcs.append(dolfinx.fem.dirichletbc(dolfinx.fem.Function(self.Q), self._pinned))
            self.bcs += pressure_bcs
        if null_space is None:
            null_space = not tractions and self._boundary_fully_covered(covered)
        self.has_null_space = bool(null_space)

        # forms and operator: assembled once
        u, p = ufl.TrialFunction(self.V), ufl.TrialFunction(self.Q)
        v, q = ufl.TestFunction(self.V), ufl.TestFunction(self.Q)
        self._zero = compat.constant(mesh, 0.0)
        solid_dx = (domain.dx()(tuple(domain.region_tag(name) for name in self.solid_regions))
                    if self.solid_regions else None)
        a, L = stokes_forms(u, p, v, q, self.mu, dx, self._zero, body_force=self.body_force,
                            tractions=tractions, solid_dx=solid_dx)
        self._a = compile_form(a)
        self._L = compile_form(L)
        self._loaded = bool(tractions) or self.body_force is not None
        # Only the fluid cells that hold a velocity Dirichlet dof lift the boundary data into
        # the right-hand side or carry a reaction (the residual at a Dirichlet dof).
        dirichlet_dx = self._dirichlet_cells_measure(dx)
        lifting_forms = stokes_forms(u, p, v, q, self.mu, dirichlet_dx, self._zero)[0]
        self._lifting = DirichletLifting(self.V, self.Q, lifting_forms, self._velocity_data, self._dirichlet_nodes,
                                         self._pinned)
        self._residual = compile_form(stress_residual(self.velocity, self.pressure, v, self.mu, dirichlet_dx,
                                                          body_force=self.body_force))
        if solver not in ("iterative", "direct"):
            raise ValueError(f"solver must be 'iterative' or 'direct', got {solver!r}")
        self.solver = solver
        self.A = self._assemble_operator()
        self.b = compat.create_vector_block(self._L)
        self.x = self.b.duplicate()

        V_map, bs = self.V.dofmap.index_map, self.V.dofmap.index_map_bs
        Q_map = self.Q.dofmap.index_map
        self._u_size = V_map.size_local * bs

        self.null_space = None
        if self.has_null_space:
            z = self.b.duplicate()
            z.set(0.0)
            mask = np.ones(Q_map.size_local + Q_map.num_ghosts)
            mask[self._pinned] = 0.0
            z.array[self._u_size:] = mask[: Q_map.size_local]
            z.normalize()
            self.null_space = PETSc.NullSpace().create(vectors=[z], comm=domain.comm)
            self.A.setNullSpace(self.null_space)

        self.velocity_block = velocity_block
        if solver == "iterative":
            if velocity_block not in VELOCITY_BLOCKS:
                raise ValueError(f"velocity_block must be one of {VELOCITY_BLOCKS}, got {velocity_block!r}")
            opts = iterative_options(rtol, krylov, dim=domain.dim, velocity_block=velocity_block)
        else:
            opts = direct_options(self.has_null_space)
        opts.update(options or {})
        self.krylov = str(opts["ksp_type"])  # minres: block-diagonal preconditioner, else triangular
        self.prefix = f"thermocfd_stokes_{next(_counter)}_"
        self._options = dict(opts)
        set_options(self.prefix, self._options)
        self.ksp = PETSc.KSP().create(domain.comm)
        self.ksp.setOptionsPrefix(self.prefix)
        self.ksp.setOperators(self.A)
        self._preconditioner = None
        if solver == "iterative":
            self._setup_block_preconditioner(pressure_bcs, solid_dx)
        self.ksp.setFromOptions()
        self.iterations: list[int] = []
        self._residual_vector = dolfinx.fem.petsc.create_vector(self._residual)

    # -- set-up helpers --
    def _dirichlet_cells_measure(self, dx):
        """``dx`` restricted to the cells that hold a velocity Dirichlet dof (owned or ghost;
        the located dofs include those that are Dirichlet dofs on other ranks)."""
        mesh, tdim = self.domain.mesh, self.domain.dim
        index_map = self.V.dofmap.index_map
        marked = np.zeros(index_map.size_local + index_map.num_ghosts, dtype=bool)
        marked[self._dirichlet_nodes] = True
        cells = np.flatnonzero(marked[compat.cell_dofs(self.V)].any(axis=1)).astype(np.int32)
        if self.solid_regions:
            cells = np.intersect1d(cells, self.domain.cell_tags.find(self.domain.region_tag("fluid")))
        tags = dolfinx.mesh.meshtags(mesh, tdim, cells, np.ones(cells.size, dtype=np.int32))
        return ufl.Measure("dx", domain=mesh, subdomain_data=tags, metadata=dx.metadata())(1)

    def _assemble_operator(self, A: PETSc.Mat | None = None) -> PETSc.Mat:
        """The Stokes operator (a new matrix, or reassembled into A).

        MUMPS factorises one monolithic AIJ matrix. The Krylov solver gets a MatNest whose
        velocity block is BAIJ with the dimension as block size, on the same monolithic
        vectors (the nest's default index sets are dolfinx's block layout): its sparsity is
        built per block and per node, and the element matrices go in by node. Measured on
        the phoretic sphere (401,637 dofs, 2 ranks): creating the matrix 0.3 s against
        2.3 s, assembling it 1.6 s against 3.1 s, a product 21 ms against 33 ms.
        """
        if A is not None:
            A.zeroEntries()
        if self.solver == "direct":
            A = compat.assemble_matrix_block(self._a, self.bcs, A)
            A.assemble()
            return A
        if A is None:
            A = compat.create_matrix_nest(self._a, [["baij", "aij"], ["aij", "aij"]])
        compat.assemble_matrix_nest(A, self._a, self.bcs)
        return A

    def _pinned_pressure_dofs(self) -> np.ndarray:
        """Pressure dofs that no fluid cell touches (parallel-consistent)."""
        tdim = self.domain.dim
        fluid_cells = self.domain.cell_tags.find(self.domain.region_tag("fluid"))
        touched = dolfinx.fem.Function(self.Q)
        touched.x.array[compat.locate_dofs_topological(self.Q, tdim, fluid_cells)] = 1.0
        vec = compat.petsc_vector(touched)
        vec.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        vec.ghostUpdate(addv=PETSc.InsertMode.INSERT, mode=PETSc.ScatterMode.FORWARD)
        solid = [self.domain.cell_tags.find(self.domain.region_tag(name)) for name in self.solid_regions]
        solid_dofs = compat.locate_dofs_topological(self.Q, tdim, np.concatenate(solid).astype(np.int32))
        return solid_dofs[touched.x.array[solid_dofs] == 0.0].astype(np.int32)

    def _setup_block_preconditioner(self, pressure_bcs: list, solid_dx) -> None:
        """Assemble the velocity block (scalar Laplacian, or take the operator's strain
        block) and the pressure mass matrix and hang :class:`BlockPreconditioner` on the
        Krylov solver."""
        mesh = self.domain.mesh
        p, q = ufl.TrialFunction(self.Q), ufl.TestFunction(self.Q)
        self._pressure_bcs = pressure_bcs
        self._pressure_form = compile_form(pressure_mass_form(p, q, self.mu, self.dx, self._zero, solid_dx))
        # the triangular form applies -M_p/(2 mu): -1 on the pinned pressure rows makes the
        # preconditioned eigenvalue there +1 (as the operator's +1 rows), not -1
        self._pinned_diagonal = 1.0 if self.krylov == "minres" else -1.0
        self.pressure_matrix = dolfinx.fem.petsc.assemble_matrix(self._pressure_form, bcs=self._pressure_bcs,
                                                                 diagonal=self._pinned_diagonal)
        self.pressure_matrix.assemble()
        if self.velocity_block == "strain":
            # hypre takes AIJ; the block size carries over and makes the components the
            # "functions" of a systems AMG
            self.velocity_matrix = self.A.getNestSubMatrix(0, 0).convert("aij", out=PETSc.Mat())
        else:
            S = compat.function_space(mesh, "Lagrange", 2)
            u, v = ufl.TrialFunction(S), ufl.TestFunction(S)
            # the scalar matrix takes the velocity conditions' nodes as Dirichlet rows
            self._scalar_bcs = [dolfinx.fem.dirichletbc(PETSc.ScalarType(0.0), self._dirichlet_nodes, S)]
            self._velocity_form = compile_form(scalar_velocity_laplacian(u, v, self.mu, self.dx, self._zero,
                                                                             solid_dx))
            self.velocity_matrix = dolfinx.fem.petsc.assemble_matrix(self._velocity_form, bcs=self._scalar_bcs)
            self.velocity_matrix.assemble()
        inner = []
        for name, matrix in (("velocity_", self.velocity_matrix), ("pressure_", self.pressure_matrix)):
            ksp = PETSc.KSP().create(self.domain.comm)
            ksp.setOptionsPrefix(self.prefix + name)
            ksp.setOperators(matrix)
            ksp.setFromOptions()
            inner.append(ksp)
        coupling = self.A.getNestSubMatrix(0, 1) if self.krylov != "minres" else None  # B^T
        self._preconditioner = BlockPreconditioner(*inner, dim=self.domain.dim, velocity_size=self._u_size,
                                                   coupling=coupling)
        pc = self.ksp.getPC()
        pc.setType(PETSc.PC.Type.PYTHON)
        pc.setPythonContext(self._preconditioner)

    def _reassemble_preconditioner(self) -> None:
        """After the operator changed (mu(T)): the velocity and pressure blocks again."""
        if self.velocity_block == "strain":
            self.A.getNestSubMatrix(0, 0).convert("aij", out=self.velocity_matrix)
        else:
            self.velocity_matrix.zeroEntries()
            dolfinx.fem.petsc.assemble_matrix(self.velocity_matrix, self._velocity_form, bcs=self._scalar_bcs)
            self.velocity_matrix.assemble()
        self.pressure_matrix.zeroEntries()
        dolfinx.fem.petsc.assemble_matrix(self.pressure_matrix, self._pressure_form, bcs=self._pressure_bcs,
                                          diagonal=self._pinned_diagonal)
        self.pressure_matrix.assemble()
        for ksp, matrix in ((self._preconditioner.velocity_ksp, self.velocity_matrix),
                            (self._preconditioner.pressure_ksp, self.pressure_matrix)):
            ksp.setOperators(matrix)

    def _boundary_fully_covered(self, covered: list[np.ndarray]) -> bool:
        mesh = self.domain.mesh
        exterior = dolfinx.mesh.exterior_facet_indices(mesh.topology)
        done = np.concatenate(covered) if covered else np.zeros(0, np.int32)
        missing = np.setdiff1d(exterior, done).size
        return self.domain.comm.allreduce(missing, op=MPI.SUM) == 0

    # -- boundary values --
    def set_temperature(self, temperature: dolfinx.fem.Function) -> None:
        """Use a new temperature field for the slip (and mu(T), buoyancy).

        The slip is recomputed at the next :meth:`update_slip`/:meth:`set_rigid_motion`.
        mu(T) and buoyancy were compiled with the Function given at construction: its
        values are overwritten and the operator (and preconditioner) reassembled.
        """
        if self.temperature is None or self.temperature is temperature:
            self.temperature = temperature
            return
        self.temperature.x.array[:] = temperature.x.array
        self.temperature.x.scatter_forward()
        if not isinstance(self.mu, dolfinx.fem.Constant):
            self._assemble_operator(self.A)
            self._lifting.assemble()
            if self._preconditioner is not None:
                self._reassemble_preconditioner()
            self.ksp.setOperators(self.A)

    def set_boundary_velocity(self, boundary: str, value) -> None:
        """Velocity (m/s) on a PrescribedVelocity boundary: vector or f(x) of physical x."""
        target = self.values[boundary]
        ell, scale = self.domain.length_scale, self.velocity_scale
        if callable(value):
            dim = self.domain.dim
            compat.interpolate(target, lambda x: np.asarray(value(ell * x), dtype=float)[:dim] / scale)
        else:
            vec = np.asarray(value, dtype=float)[: self.domain.dim] / scale
            compat.interpolate(target, lambda x: np.outer(vec, np.ones(x.shape[1])))

    def slip_velocity(self, name: str) -> dolfinx.fem.Function:
        """Recompute the scaled thermo-osmotic slip on a slip surface from the temperature."""
        if self.temperature is None:
            raise ThermocfdError("thermo-osmotic slip needs the temperature field")
        projector, chi, centre = self._slip[name]
        ell = self.domain.length_scale
        grad_T = ufl.grad(self.temperature) / ell  # K/m
        factor = slip_coefficient_at(chi, self.temperature) / self.velocity_scale
        n_exact = None if centre is None else sphere_normal(ufl.SpatialCoordinate(self.domain.mesh),
                                                              np.asarray(centre, dtype=float) / ell)

        def make(restrict, n_facet):
            # the sign of n does not matter in (I - n n)
            n = n_facet if n_exact is None else restrict(n_exact)
            return factor * thermo_osmotic_slip(1.0, restrict(grad_T), n)

        return projector.project(make)

    def update_slip(self) -> None:
        """Recompute the slip on thermo-osmotic walls (after the temperature changed)."""
        for condition in self.conditions:
            if isinstance(condition, ThermoOsmoticSlip):
                self.values[condition.boundary].x.array[:] = self.slip_velocity(condition.boundary).x.array

    def set_rigid_motion(self, region: str, translation=(0.0, 0.0, 0.0), rotation=(0.0, 0.0, 0.0), *,
                         slip: bool = False, scaled: bool = False) -> None:
        """Velocity of a rigid body: U (m/s), Omega (rad/s) [+ the thermo-osmotic slip].

        With ``scaled`` the motion is in solver units (U / velocity_scale, Omega l /
        velocity_scale): the mobility problem's unit motions.
        """
        body = self._rigid[region]
        ell = self.domain.length_scale
        U = np.asarray(translation, dtype=float)
        W = np.asarray(rotation, dtype=float)
        if not scaled:
            U = U / self.velocity_scale
            W = W * ell / self.velocity_scale
        c = np.asarray(body.centre, dtype=float) / ell
        target = self.values[region]

        def rigid(x):
            r = x - c[:, None]
            return U[:, None] + np.cross(W, r, axis=0)

        # only the body's dofs carry its condition: interpolating elsewhere is wasted
        compat.interpolate(target, rigid, self._rigid_cells[region])
        if slip:
            if body.slip_coefficient is None:
                raise ThermocfdError(f"rigid body {region!r} has no slip coefficient")
            target.x.array[:] += self.slip_velocity(region).x.array
            target.x.scatter_forward()

    # -- solving --
    def assemble_rhs(self) -> PETSc.Vec:
        """``b = L - A g`` on the free rows, ``g`` on the Dirichlet rows (g: the current
        boundary data, pinned pressures zero)."""
        with self.b.localForm() as local:
            local.set(0.0)
        if self._loaded:
            compat.assemble_vector_block(self.b, self._L, self._a, [])  # no conditions: L alone
        self._lifting.apply(self.b)
        if self.null_space is not None:
            # the interpolated boundary data has a small net flux on faceted surfaces:
            # make the system consistent (MINRES stalls otherwise)
            self.null_space.remove(self.b)
        return self.b

    def solve(self) -> tuple[dolfinx.fem.Function, dolfinx.fem.Function]:
        """Solve with the current boundary values; (velocity, pressure) in scaled units."""
        self.assemble_rhs()
        self.ksp.solve(self.b, self.x)
        if self._options:  # the inner solvers, AMG and MUMPS have read theirs now
            forget_options(self.prefix, self._options)
            self._options = {}
        reason = self.ksp.getConvergedReason()
        if reason < 0:
            raise SolverError(f"Stokes solver {self.prefix} did not converge (PETSc reason {reason}, "
                              f"{self.ksp.getIterationNumber()} iterations)")
        self.iterations.append(self.ksp.getIterationNumber())
        if self.null_space is not None:
            self.null_space.remove(self.x)
        array = self.x.array_r
        self.velocity.x.array[: self._u_size] = array[: self._u_size]
        self.pressure.x.array[: array.size - self._u_size] = array[self._u_size:]
        self.velocity.x.scatter_forward()
        self.pressure.x.scatter_forward()
        return self.velocity, self.pressure

    def residual(self) -> PETSc.Vec:
        """Weak-form residual R(v) of the current solution on the velocity Dirichlet dofs
        (scaled; their reactions): it is assembled over the cells holding them only, so
        elsewhere it is not the residual."""
        vec = self._residual_vector
        with vec.localForm() as local:
            local.set(0.0)
        dolfinx.fem.petsc.assemble_vector(vec, self._residual)
        vec.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        return vec

    def boundary_data(self) -> np.ndarray:
        """Current Dirichlet velocity values (scaled) on the owned velocity dofs, zero on
        free dofs; blocked layout like :meth:`residual`. Solids at rest contribute zero."""
        bs = self.V.dofmap.index_map_bs
        n_owned = self.V.dofmap.index_map.size_local
        data = np.zeros((n_owned, bs))
        for value, nodes in self._velocity_data:
            nodes = nodes[nodes < n_owned]
            data[nodes] = value.x.array.reshape(-1, bs)[nodes]
        return data.ravel()

    def rigid_body_loads(self, region: str) -> tuple[np.ndarray, np.ndarray]:
        """Hydrodynamic force (N) and torque about the centre (N m) on a rigid body.

        The reaction of the weak form: ``F.e = -R(w)`` with w the rigid motion e (or
        ``e x (x - x_c)``) on the body's dofs and zero elsewhere.
        """
        forces = self._rigid_loads_scaled(region)
        return forces[:3] * self.force_scale, forces[3:] * self.torque_scale

    def _rigid_loads_scaled(self, region: str, residual: np.ndarray | None = None) -> np.ndarray:
        """Force and torque (solver units) from the residual (owned entries, blocked
        layout; assembled here unless given)."""
        r = self.residual().array_r if residual is None else residual
        bs = self.V.dofmap.index_map_bs
        n_owned = self.V.dofmap.index_map.size_local
        dofs = self._rigid_dofs[region]
        dofs = dofs[dofs < n_owned]
        if region not in self._rigid_arms:  # the dofs' positions about the centre, once
            c = np.asarray(self._rigid[region].centre, dtype=float) / self.domain.length_scale
            self._rigid_arms[region] = self.V.tabulate_dof_coordinates()[dofs] - c[None, :]
        rel = self._rigid_arms[region]
        res = r.reshape(-1, bs)[dofs]
        if bs == 2:
            res = np.column_stack([res, np.zeros(len(dofs))])
        force = -res.sum(axis=0)
        torque = -np.cross(rel, res).sum(axis=0)
        local = np.concatenate([force, torque])
        return self.domain.comm.allreduce(local, op=MPI.SUM)

    def destroy(self) -> None:
        self.ksp.destroy()
        self.A.destroy()
        if self._preconditioner is not None:
            self._preconditioner.velocity_ksp.destroy()
            self._preconditioner.pressure_ksp.destroy()
            self.velocity_matrix.destroy()
            self.pressure_matrix.destroy()
        self.b.destroy()
        self.x.destroy()
        self._lifting.destroy()
        for projector, _, _ in self._slip.values():
            projector.destroy()
