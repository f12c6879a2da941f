"""Steady buoyant convection: Boussinesq flow two-way coupled to heat, solved by Newton.

Unknowns (u, p, T) in one Taylor-Hood P2-P1 (+ P2 temperature) space; heat advection
by the flow and buoyancy of the temperature field are both in the Jacobian, so Newton
converges quadratically where a Picard iteration would crawl at larger Rayleigh numbers.
Inertia ``rho (u.grad)u`` is optional: negligible in microfluidic chambers (Re << 1),
needed for benchmarks such as de Vahl Davis' cavity (Pr = 0.71).

Scaled units: lengths by l (the domain's scale), velocity by kappa / l (thermal
diffusion speed), pressure by mu_ref kappa / l^2; temperature in kelvin. Reported in SI.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import dolfinx.fem
import dolfinx.fem.petsc
import numpy as np
import ufl
from mpi4py import MPI
from petsc4py import PETSc

from .. import log
from ..errors import SolverError
from ..physics.fluid import FluidProperties
from . import compat
from .forms import BDF_COEFFICIENTS, buoyant_flow_residual
from .heat import ConvectiveCooling, FixedTemperature, HeatFlux
from .linear import DIRECT, forget_options, set_options, shift_history
from .mesh import Domain


@dataclass
class NewtonReport:
    iterations: int = 0
    residuals: list[float] = field(default_factory=list)
    converged: bool = False


class BuoyantFlowProblem:
    """(u, p, T) with no-slip walls; a closed chamber, or a channel with a prescribed
    ``inflow`` profile on one boundary and a traction-free ``outflow`` on another.

    ``gravity``: SI vector (its first ``dim`` components act in the mesh plane).
    ``thermal_conditions``: :mod:`thermocfd.fem.heat` conditions on named boundaries.
    """

    def __init__(self, domain: Domain, fluid: FluidProperties, gravity: Sequence[float],
                 thermal_conditions: Sequence, *, reference_temperature: float, inertia: bool = False,
                 heat_source=None, temperature_degree: int = 2,
                 inflow: tuple[str, Callable] | None = None, outflow: str | None = None):
        self.domain = domain
        self.fluid = fluid
        mesh = domain.mesh
        dim = mesh.topology.dim
        ell = domain.length_scale
        self.kappa = fluid.thermal_diffusivity
        self.velocity_scale = self.kappa / ell
        self.mu_ref = float(fluid.viscosity.viscosity(reference_temperature))
        self.reference_temperature = reference_temperature
        g = np.asarray(gravity, dtype=float)[:dim]
        self.gravity_magnitude = float(np.linalg.norm(g))
        direction = g / self.gravity_magnitude if self.gravity_magnitude > 0 else np.zeros(dim)

        self.W = compat.mixed_function_space(mesh, [("Lagrange", 2, (dim,)), ("Lagrange", 1, None),
                                                    ("Lagrange", temperature_degree, None)])
        self.solution = dolfinx.fem.Function(self.W)
        u, p, T = ufl.split(self.solution)
        v, q, s = ufl.TestFunctions(self.W)
        self.buoyancy = compat.constant(mesh, fluid.density * fluid.thermal_expansion * self.gravity_magnitude
                                        * ell**3 / (self.mu_ref * self.kappa))
        neumann, robin = [], []
        self.bcs = []
        fdim = dim - 1
        V_T, _ = compat.collapse(self.W.sub(2))
        for bc in thermal_conditions:
            if isinstance(bc, FixedTemperature):
                facets = domain.facet_tags.find(domain.boundary_tag(bc.boundary))
                dofs = dolfinx.fem.locate_dofs_topological((self.W.sub(2), V_T), fdim, facets)
                value = dolfinx.fem.Function(V_T)
                if callable(bc.value):
                    compat.interpolate(value, bc.value(domain.physical_coordinates()))
                else:
                    value.x.array[:] = bc.value
                self.bcs.append(dolfinx.fem.dirichletbc(value, dofs, self.W.sub(2)))
            elif isinstance(bc, HeatFlux):
                neumann.append((bc.value * ell / fluid.thermal_conductivity, domain.ds(bc.boundary)))
            elif isinstance(bc, ConvectiveCooling):
                robin.append((bc.coefficient * ell / fluid.thermal_conductivity, bc.ambient, domain.ds(bc.boundary)))
        V_u, _ = compat.collapse(self.W.sub(0))
        wall_facets = dolfinx.mesh.exterior_facet_indices(mesh.topology)
        if inflow is not None:
            # a prescribed inlet profile (m/s, a function of the physical coordinate)
            inlet = domain.facet_tags.find(domain.boundary_tag(inflow[0]))
            profile = dolfinx.fem.Function(V_u)
            compat.interpolate(profile, inflow[1](domain.physical_coordinates()) / self.velocity_scale)
            self.bcs.append(dolfinx.fem.dirichletbc(
                profile, dolfinx.fem.locate_dofs_topological((self.W.sub(0), V_u), fdim, inlet), self.W.sub(0)))
            wall_facets = np.setdiff1d(wall_facets, inlet)
        if outflow is not None:  # traction-free ("do nothing"): it also fixes the pressure level
            wall_facets = np.setdiff1d(wall_facets, domain.facet_tags.find(domain.boundary_tag(outflow)))
        self.bcs.append(dolfinx.fem.dirichletbc(
            dolfinx.fem.Function(V_u),
            dolfinx.fem.locate_dofs_topological((self.W.sub(0), V_u), fdim, wall_facets), self.W.sub(0)))
        if outflow is None:
            self.bcs.append(self._pressure_pin())
        source = None if heat_source is None else heat_source * ell**2 / fluid.thermal_conductivity
        self.residual = buoyant_flow_residual(
            u, p, T, v, q, s, ufl.dx(domain=mesh),
            viscosity=fluid.viscosity.viscosity(T) / self.mu_ref, buoyancy=self.buoyancy,
            gravity_direction=ufl.as_vector(direction.tolist()), reference_temperature=reference_temperature,
            conductivity=1.0, inertia=(fluid.density * self.kappa / self.mu_ref) if inertia else None,
            heat_source=source, neumann=neumann, robin=robin)
        self._forms = {0: self._compile(self.residual)}
        self._inertia = (fluid.density * self.kappa / self.mu_ref) if inertia else None
        self._history = [dolfinx.fem.Function(self.W), dolfinx.fem.Function(self.W)]
        self._dt = compat.constant(mesh, 1.0)
        self.time_scale = ell**2 / self.kappa  # thermal diffusion time
        self.time = 0.0
        self._steps = 0
        self.report = NewtonReport()
        self._thermal_conditions = thermal_conditions

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
        return (dolfinx.fem.form(residual),
                dolfinx.fem.form(ufl.derivative(residual, self.solution, ufl.TrialFunction(self.W))))

    def _transient_forms(self, order: int):
        """Residual of one BDF step: heat capacity (and inertia) terms added."""
        if order not in self._forms:
            alpha = BDF_COEFFICIENTS[order]
            u, _, T = ufl.split(self.solution)
            v, _, s = ufl.TestFunctions(self.W)
            old = [ufl.split(h) for h in self._history[:order]]
            dT = alpha[0] * T + sum(a * h[2] for a, h in zip(alpha[1:], old))
            F = self.residual + dT / self._dt * s * ufl.dx(domain=self.domain.mesh)
            if self._inertia is not None:
                du = alpha[0] * u + sum(a * h[0] for a, h in zip(alpha[1:], old))
                F += self._inertia * ufl.dot(du, v) / self._dt * ufl.dx(domain=self.domain.mesh)
            self._forms[order] = self._compile(F)
        return self._forms[order]

    def advance(self, dt: float, max_iterations: int = 25) -> NewtonReport:
        """One BDF2 step (backward Euler first) of physical size dt (s) from the current
        state (``initial_conduction_guess`` or an earlier solution)."""
        order = 1 if self._steps == 0 else 2
        self._dt.value = dt / self.time_scale
        shift_history(self._history, self.solution)
        report = self._newton(*self._transient_forms(order), max_iterations, 1e-9, quiet=True)
        self._steps += 1
        self.time += dt
        return report

    def solve(self, max_iterations: int = 25, rtol: float = 1e-9) -> NewtonReport:
        """Steady state by damped Newton; raises SolverError with advice when it fails."""
        return self._newton(*self._forms[0], max_iterations, rtol)

    def _newton(self, F_form, J_form, max_iterations: int, rtol: float, quiet: bool = False) -> NewtonReport:
        A = dolfinx.fem.petsc.create_matrix(J_form)
        b = dolfinx.fem.petsc.create_vector(F_form)
        dx = A.createVecRight()
        ksp = PETSc.KSP().create(self.domain.comm)
        prefix = f"thermocfd_convection_{id(self)}_"
        ksp.setOptionsPrefix(prefix)
        options = {**DIRECT, "mat_mumps_icntl_14": 200}
        set_options(prefix, options)
        ksp.setFromOptions()
        x = compat.petsc_vector(self.solution)
        report = self.report = NewtonReport()

        def residual_norm() -> float:
            with b.localForm() as local:
                local.set(0.0)
            dolfinx.fem.petsc.assemble_vector(b, F_form)
            compat.apply_lifting(b, [J_form], [self.bcs], [x], -1.0)
            b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
            compat.set_bc(b, self.bcs, x, -1.0)
            return b.norm()

        norm = residual_norm()
        report.residuals.append(norm)
        initial = max(norm, 1e-300)
        for iteration in range(1, max_iterations + 1):
            A.zeroEntries()
            dolfinx.fem.petsc.assemble_matrix(A, J_form, bcs=self.bcs)
            A.assemble()
            ksp.setOperators(A)
            ksp.solve(b, dx)
            if iteration == 1:
                forget_options(prefix, options)
            if ksp.getConvergedReason() < 0:
                raise SolverError(f"linear solve failed in Newton iteration {iteration}")
            if dx.norm() <= 1e-12 * x.norm():  # already converged to round-off
                report.converged = True
                report.iterations = iteration
                break
            step = 1.0
            previous = x.copy()  # garbage-collected; petsc4py frees it
            for _ in range(6):  # backtracking: accept the first step that lowers |F|
                x.waxpy(-step, dx, previous)
                x.ghostUpdate(addv=PETSc.InsertMode.INSERT, mode=PETSc.ScatterMode.FORWARD)
                new_norm = residual_norm()
                if new_norm < norm or step < 0.05:
                    break
                step *= 0.5
            norm = new_norm
            report.residuals.append(norm)
            report.iterations = iteration
            if not quiet:
                log.info(f"  Newton {iteration}: |F| = {norm:.3e} (relative {norm / initial:.1e}), step {step:g}")
            # converged: residual reduced, or a full Newton step that no longer moves the
            # solution (the residual has reached its round-off floor)
            if norm / initial < rtol or (step == 1.0 and dx.norm() <= 1e-11 * x.norm()):
                report.converged = True
                break
            if not math.isfinite(norm):
                break
        ksp.destroy()
        A.destroy()
        if not report.converged and quiet:
            raise SolverError(f"Newton did not converge within a time step at t = {self.time:.4g} s: "
                              "take smaller time steps (time.steps)")
        if not report.converged:
            raise SolverError(
                f"the steady convection solver did not converge in {report.iterations} Newton iterations "
                f"(|F| {report.residuals[0]:.2e} -> {report.residuals[-1]:.2e}); the flow is probably "
                "unsteady or too strongly driven for a steady solve: run it as a transient "
                "(time.transient = true) or lower the temperature difference")
        return report

    # --- results in SI ------------------------------------------------------------------
    def velocity(self) -> dolfinx.fem.Function:
        """Flow velocity in m/s (a new Function on the collapsed P2 space)."""
        u = self.solution.sub(0).collapse()
        u.x.array[:] *= self.velocity_scale
        u.name = "velocity"
        return u

    def temperature(self) -> dolfinx.fem.Function:
        T = self.solution.sub(2).collapse()
        T.name = "temperature"
        return T

    def pressure(self) -> dolfinx.fem.Function:
        p = self.solution.sub(1).collapse()
        p.x.array[:] *= self.mu_ref * self.kappa / self.domain.length_scale**2
        p.name = "pressure"
        return p

    def wall_heat_flow(self, boundary: str) -> float:
        """Heat flow into the fluid through a fixed-temperature wall (W, per metre of depth
        in 2D), from the weak-form residual (reaction), which converges faster than
        integrating the gradient."""
        V_T, dofs_in_W = compat.collapse(self.W.sub(2))
        indicator_T = dolfinx.fem.Function(V_T)
        facets = self.domain.facet_tags.find(self.domain.boundary_tag(boundary))
        wall_dofs = dolfinx.fem.locate_dofs_topological(V_T, self.domain.dim - 1, facets)
        indicator_T.x.array[wall_dofs] = 1.0
        indicator_T.x.scatter_forward()
        indicator = dolfinx.fem.Function(self.W)
        indicator.x.array[dofs_in_W] = indicator_T.x.array
        local = dolfinx.fem.assemble_scalar(dolfinx.fem.form(self._heat_reaction_form(indicator)))
        scaled = self.domain.comm.allreduce(local, op=MPI.SUM)  # = int grad T . n ds (scaled)
        return scaled * self.fluid.thermal_conductivity * self.domain.length_scale ** (self.domain.dim - 2)

    def _heat_reaction_form(self, indicator):
        """The heat equation's weak residual tested with a function that is 1 on one
        wall's dofs: by Green's formula, the discrete heat flux through that wall."""
        _, _, s = ufl.split(indicator)
        u, _, T = ufl.split(self.solution)
        return (ufl.dot(u, ufl.grad(T)) * s + ufl.dot(ufl.grad(T), ufl.grad(s))) * ufl.dx(domain=self.domain.mesh)
