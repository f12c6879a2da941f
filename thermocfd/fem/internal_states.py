"""Transport of a species with internal states: N coupled advection-diffusion-switching
equations, steady and transient, in one monolithic system.

``dc_i/dt + div(u c_i - D_i(T) (grad c_i + c_i S_T,i(T) grad T)) = sum_j (k_ji c_j - k_ij c_i)``,
no-flux walls (S_T,i: a state's own Soret law, if it has one; none in the seed paper),
with the states, diffusivities and detailed-balance rates of a
:class:`thermocfd.physics.internal_states.InternalStateModel` evaluated in UFL at the
local temperature (Liang, Busiello & De Los Rios: the total density drifts in a
temperature gradient although no state has thermophoresis of its own).

Stiff switching. The rates may exceed diffusion across the cell by many orders
(``Da = k L^2 / D`` up to 1e8 and beyond). The switching terms are implicit and
monolithic (all states in one vector Lagrange space, one linear solve: no splitting error,
no step-size limit), and for P1 they are integrated with the vertex quadrature rule (mass
lumping). Then each node couples only to its own states, with the rates of its own
temperature: the off-diagonal switching entries are non-positive, the operator stays an
M-matrix (positive concentrations for any rate and time step on non-obtuse meshes), and
in the fast limit the discrete states are exactly in local equilibrium at the nodes,
``c_i = p_i(T) rho``. With constant D_i the remaining equation for the total density is
then the stiffness matrix applied to the interpolant of ``<D>_p rho``, whose null space
gives ``rho <D>_p = const`` at the nodes -- the fast-switching steady state without
discretisation error. The time derivative uses the same lumped mass, and the mass
functional the same quadrature, so that the reactions cancel node by node in the sum
over states and the total amount is conserved to round-off in a closed cell. P2 uses
one fixed Gauss rule for every term instead (no lumping: no M-matrix guarantee).

Scaled units: lengths by l (the domain's scale), D by ``<D>_p(T_ref)``, time by
``l^2 / <D>_p(T_ref)``, rates by the inverse time scale; concentrations keep the unit of
the inputs (mol/m^3 for the entropy production in W/(K m^3)). Flow and the states' own
Soret drift: Galerkin, conservative form (``u.n = 0`` on closed walls), no stabilisation:
keep the cell Peclet numbers (flow ``|u| h / D``, Soret ``S_T |grad T| h``) below about 2.
A moving temperature or flow (``moving=True``: the caller updates the Functions between
steps) reassembles the operator every step.
"""

from __future__ import annotations

from typing import Callable, Sequence

import dolfinx.fem
import numpy as np
import ufl
from mpi4py import MPI

from ..physics.internal_states import (InternalStateModel, diffusion_entropy_production,
                                       transition_entropy_production, transition_flux, transition_pairs)
from . import compat
from .linear import DIRECT, LinearSystem, VariableBDF2, iterative_options, shift_history
from .transport import lowest_node, touched_dofs
from .mesh import Domain
from .quadrature import compile_form


class InternalStateTransportProblem:
    """Concentrations c_i of the internal states of one species in a temperature field.

    ``temperature``: a UFL expression in kelvin (usually the heat solver's Function);
    ``velocity``: a UFL vector in m/s or None; ``regions``: the region names where the
    species lives (None: every cell). The walls are closed (no flux): a steady state needs
    the total amount, :meth:`solve_steady`.
    """

    def __init__(self, domain: Domain, temperature, model: InternalStateModel, *, velocity=None,
                 degree: int = 1, reference_temperature: float, regions: Sequence[str] | None = None,
                 linear_solver: str = "direct", rtol: float = 1e-12, moving: bool = False):
        self.domain, self.model, self.degree, self.moving = domain, model, degree, moving
        mesh = domain.mesh
        ell = domain.length_scale
        self.diffusivity_scale = float(model.mean_diffusivity(reference_temperature))
        self.time_scale = ell**2 / self.diffusivity_scale
        if isinstance(temperature, (int, float)):
            temperature = compat.constant(mesh, float(temperature))
        self.temperature = temperature
        self.velocity = velocity
        self._velocity = None if velocity is None else velocity * (ell / self.diffusivity_scale)
        self.pairs = transition_pairs(model)

        self.regions = None if regions is None else list(regions)
        cells = None
        solid = []
        if regions is not None:
            cells = tuple(domain.region_tag(name) for name in self.regions)
            solid = [name for name in domain.regions if name not in self.regions]
        # the rates and diffusivities are exponentials of T: a fixed quadrature for every term
        self.dx = domain.dx(metadata={"quadrature_degree": 2 * degree + 3})
        lumped = vertex_quadrature(mesh) if degree == 1 else {"quadrature_degree": 2 * degree + 3}
        self.dx_switching = domain.dx(metadata=lumped)
        if solid:
            self.dx, self.dx_switching = self.dx(cells), self.dx_switching(cells)

        n = model.size
        self.V = compat.function_space(mesh, "Lagrange", degree, shape=(n,))
        self.solution = dolfinx.fem.Function(self.V, name="internal_states")
        self._subspaces = compat.components(self.V)
        self.concentrations = []
        for (space, _), state in zip(self._subspaces, model.states):
            self.concentrations.append(dolfinx.fem.Function(space, name=f"concentration_{state.name}"))
        # the total density, named as an ordinary solute's concentration in the field files
        self.total_density = dolfinx.fem.Function(self._subspaces[0][0], name="concentration")
        self._history = [dolfinx.fem.Function(self.V), dolfinx.fem.Function(self.V)]
        self._dt = compat.constant(mesh, 1.0)
        self._bdf2 = VariableBDF2(mesh)
        self._steps = 0
        self.time = 0.0

        self._solid_bcs, self._solid_dx, self._inside = [], None, None
        if solid:
            self._solid_dx = domain.dx()(tuple(domain.region_tag(name) for name in solid))
            self._inside = self._touched_blocks(self.regions)
            outside = np.flatnonzero(~self._inside).astype(np.int32)
            self._solid_bcs = [dolfinx.fem.dirichletbc(dolfinx.fem.Function(self.V), outside)]
        self._zero = compat.constant(mesh, 0.0)
        self._options = DIRECT if linear_solver == "direct" else iterative_options(False, rtol, mesh.topology.dim)
        self._systems: dict[int, LinearSystem] = {}
        self._mass_form = compile_form(sum(self.states()) * self.dx_switching)

    # --- coefficients in scaled units ----------------------------------------------------
    def states(self) -> list:
        """The state concentrations as UFL components of the solution."""
        return [self.solution[i] for i in range(self.model.size)]

    def _diffusivity(self, i: int):
        return self.model.states[i].diffusivity.diffusivity(self.temperature) / self.diffusivity_scale

    def _rate(self, i: int, j: int):
        return self.model.rate(i, j, self.temperature) * self.time_scale

    def _touched_blocks(self, regions) -> np.ndarray:
        """Mask of the (local) nodes that a cell of the regions touches, parallel-consistent."""
        scalar, parent_dofs = self._subspaces[0]
        inside = np.zeros(self.solution.x.array.size // self.model.size, dtype=bool)
        inside[np.asarray(parent_dofs) // self.model.size] = touched_dofs(self.domain, scalar, regions)
        return inside

    # --- forms ------------------------------------------------------------------------
    def _forms(self, steps_in_history: int):
        c, v = ufl.TrialFunction(self.V), ufl.TestFunction(self.V)
        n = self.model.size
        a = sum(self._diffusivity(i) * ufl.inner(ufl.grad(c[i]), ufl.grad(v[i])) * self.dx for i in range(n))
        for i, state in enumerate(self.model.states):
            if state.soret is not None:
                drift = self._diffusivity(i) * state.soret.soret_coefficient(self.temperature) * ufl.grad(self.temperature)
                a += c[i] * ufl.inner(drift, ufl.grad(v[i])) * self.dx
        if self._velocity is not None:  # conservative form: u.n = 0 closes the walls
            a -= sum(c[i] * ufl.inner(self._velocity, ufl.grad(v[i])) * self.dx for i in range(n))
        for i, j in self.pairs:  # net flux i -> j leaves i and enters j
            net = self._rate(i, j) * c[i] - self._rate(j, i) * c[j]
            a += net * (v[i] - v[j]) * self.dx_switching
        L = self._zero * v[0] * self.dx_switching
        if steps_in_history > 0:
            alpha = self._bdf2.weights if steps_in_history == 2 else (1.0, -1.0)
            a += alpha[0] / self._dt * ufl.inner(c, v) * self.dx_switching
            for weight, old in zip(alpha[1:], self._history[:steps_in_history]):
                L -= weight / self._dt * ufl.inner(old, v) * self.dx_switching
        if self._solid_dx is not None:
            a += self._zero * ufl.inner(c, v) * self._solid_dx
        return a, L

    def _system(self, steps_in_history: int, bcs) -> LinearSystem:
        if steps_in_history not in self._systems:
            a, L = self._forms(steps_in_history)
            self._systems[steps_in_history] = LinearSystem(a, L, list(bcs) + self._solid_bcs, self.solution,
                                                           self._options, "internal_states")
        return self._systems[steps_in_history]

    def _pin(self):
        """c_0 = 1 at one node: the closed cell's steady operator has a one-dimensional null
        space (the steady state's direction); its rows sum to zero, so the pinned row is
        implied by the others, and rescaling to the total amount gives the exact discrete
        steady state. Every rank that holds the node (owner or ghost) knows the condition."""
        blocks = lowest_node(self.V.dofmap.index_map, self._inside, self.domain.comm)
        dofs = (blocks * self.V.dofmap.index_map_bs).astype(np.int32)  # component 0 of the node
        return compat.component_dirichletbc(1.0, dofs, self.V, 0)

    # --- public API --------------------------------------------------------------------
    def total_mass(self) -> float:
        """Total amount over all states (concentration x m^3; in 2D per metre of depth)."""
        local = dolfinx.fem.assemble_scalar(self._mass_form)
        return self.domain.comm.allreduce(local, op=MPI.SUM) * self.domain.length_scale ** self.domain.dim

    def solve_steady(self, total_mass: float) -> list[dolfinx.fem.Function]:
        """Steady state of the closed cell holding ``total_mass``; returns the state
        concentrations."""
        self._system(0, [self._pin()]).solve()
        self.solution.x.array[:] *= total_mass / self.total_mass()
        self.solution.x.scatter_forward()
        return self._update()

    def initialise(self, initial: float | Callable | Sequence, total_mass: float | None = None) -> None:
        """State at t = 0: a total density (number or function of the physical coordinate)
        split into the local-equilibrium populations, or one entry per state.
        ``total_mass``: rescale to this exact amount."""
        x = self.domain.physical_coordinates()

        def value(entry):
            return entry(x) if callable(entry) else entry

        if isinstance(initial, Sequence):
            states = [value(entry) for entry in initial]
        else:
            rho = value(initial)
            states = [p * rho for p in self.model.populations(self.temperature)]
        for (_, parent_dofs), c, state in zip(self._subspaces, self.concentrations, states):
            compat.interpolate(c, state + 0.0 * x[0] if not hasattr(state, "ufl_shape") else state)
            self.solution.x.array[parent_dofs] = c.x.array
        if self._inside is not None:
            self.solution.x.array.reshape(-1, self.model.size)[~self._inside] = 0.0
        if total_mass is not None:
            self.solution.x.array[:] *= total_mass / self.total_mass()
        self._steps, self.time = 0, 0.0
        self._update()

    def advance(self, dt: float, order: int = 2) -> list[dolfinx.fem.Function]:
        """One BDF step of physical size dt (s), the first one backward Euler."""
        steps_in_history = 1 if (order == 1 or self._steps == 0) else 2
        self._dt.value = dt / self.time_scale
        ratio = self._bdf2.set_step(dt, steps_in_history == 2)
        system = self._system(steps_in_history, [])
        if self.moving:
            system.assemble_matrix()
        else:
            system.assemble_for((dt, ratio))
        shift_history(self._history, self.solution)
        system.solve()
        self._steps += 1
        self.time += dt
        return self._update()

    @property
    def concentration(self) -> dolfinx.fem.Function:
        """The total density over the states (what the single-species solver calls its
        concentration, so the pipelines' time loops take either)."""
        return self.total_density

    def restart_functions(self) -> dict[str, dolfinx.fem.Function]:
        """The Functions a restart needs: the state and its BDF history."""
        return {"solution": self.solution, "history0": self._history[0], "history1": self._history[1]}

    def restore(self, steps: int, time: float, last_step: float | None = None) -> None:
        """After :meth:`restart_functions` were filled from a checkpoint taken after
        ``steps`` steps at ``time`` (s); ``last_step``: the last step's size (s)."""
        self._steps, self.time, self._bdf2.previous_step = steps, time, last_step
        self._update()

    def _update(self) -> list[dolfinx.fem.Function]:
        self.total_density.x.array[:] = 0.0
        for (_, parent_dofs), c in zip(self._subspaces, self.concentrations):
            c.x.array[:] = self.solution.x.array[parent_dofs]
            self.total_density.x.array[:] += c.x.array
        return self.concentrations

    # --- fluxes and entropy production (SI) ------------------------------------------------
    def state_flux(self, i: int):
        """UFL: J_i = -D_i (grad c_i + c_i S_T,i grad T) + u c_i in mol/(m^2 s) (for c in mol/m^3)."""
        c, state = self.solution[i], self.model.states[i]
        gradient = ufl.grad(c)
        if state.soret is not None:
            gradient = gradient + c * state.soret.soret_coefficient(self.temperature) * ufl.grad(self.temperature)
        flux = -state.diffusivity.diffusivity(self.temperature) * gradient / self.domain.length_scale
        return flux if self.velocity is None else flux + self.velocity * c

    def total_flux(self):
        """UFL: sum_i J_i."""
        return sum(self.state_flux(i) for i in range(self.model.size))

    def transition_flux(self, i: int, j: int):
        """UFL: r_ij = k_ij c_i - k_ji c_j in mol/(m^3 s)."""
        return transition_flux(self.model, i, j, self.temperature, self.states())

    def _diffusion_entropy(self):
        gradients = [ufl.grad(c) / self.domain.length_scale for c in self.states()]
        return diffusion_entropy_production(self.model, self.temperature, self.states(), gradients)

    def entropy_production(self):
        """UFL: the cycle's entropy production density (W/(K m^3)), state diffusion plus
        switching (:func:`thermocfd.physics.internal_states.cycle_entropy_production`)."""
        return self._diffusion_entropy() + transition_entropy_production(self.model, self.temperature,
                                                                         self.states())

    def flux_fields(self) -> dict[str, dolfinx.fem.Function]:
        """Functions for output: the state and total fluxes (vector DG of degree - 1), the
        net transition fluxes (the concentrations' space) and the entropy production (DG)."""
        mesh, dim = self.domain.mesh, self.domain.mesh.geometry.dim
        vector = compat.function_space(mesh, "DG", self.degree - 1, shape=(dim,))
        scalar = compat.function_space(mesh, "DG", self.degree - 1)
        fields = {}

        def field(space, name, expression):
            function = dolfinx.fem.Function(space, name=name)
            compat.interpolate(function, expression)
            fields[name] = function

        for i, state in enumerate(self.model.states):
            field(vector, f"flux_{state.name}", self.state_flux(i))
        field(vector, "total_flux", self.total_flux())
        for i, j in self.pairs:
            field(self._subspaces[0][0], f"transition_flux_{i}_{j}", self.transition_flux(i, j))
        field(scalar, "entropy_production_cycle", self.entropy_production())
        return fields

    def _integral(self, integrand, dx) -> float:
        local = dolfinx.fem.assemble_scalar(compile_form(integrand * dx))
        return self.domain.comm.allreduce(local, op=MPI.SUM) * self.domain.length_scale ** self.domain.dim

    def flux_norms(self) -> dict:
        """Integrals for a summary, SI (2D: per metre of depth): L2 norms of the state fluxes
        and of the total flux, L1 norms of the net transition fluxes (per transition) and the
        total entropy production of the cycle (W/K), each term with the quadrature of its
        form (switching: the lumped rule)."""
        def l2(flux):
            return float(np.sqrt(self._integral(ufl.inner(flux, flux), self.dx)))

        return {
            "state_flux_l2": [l2(self.state_flux(i)) for i in range(self.model.size)],
            "total_flux_l2": l2(self.total_flux()),
            "transition_flux_l1": [self._integral(abs(self.transition_flux(i, j)), self.dx_switching)
                                   for i, j in self.pairs],
            "entropy_production_cycle": (
                self._integral(self._diffusion_entropy(), self.dx)
                + self._integral(transition_entropy_production(self.model, self.temperature, self.states()),
                                 self.dx_switching)),
        }



def vertex_quadrature(mesh) -> dict:
    """Measure metadata of the vertex rule (mass lumping for P1). On intervals the
    two-point Gauss-Lobatto rule, the same points and weights: Debian 12's FFCx 0.5 fails
    to compile the vertex rule there."""
    if compat.cell_type_name(mesh) == "interval":
        return {"quadrature_rule": "GLL", "quadrature_degree": 1}
    return {"quadrature_rule": "vertex", "quadrature_degree": 1}
