"""Advection-diffusion-Soret transport of a dilute species, steady and transient.

``dc/dt + div(u c - D grad c - D_T c grad T) = f``, ``D_T = S_T D``, with D(T) and
S_T(T) from :mod:`thermocfd.physics` laws, no-flux walls by default, fixed
concentration or outflow on named boundaries.

Formulation: Slotboom variable ``w = c exp(Phi(T) - Phi(T_ref))``, ``Phi = int S_T dT``
(see :func:`thermocfd.fem.forms.soret_transport_forms`). Why: the Soret drift is then
exactly exponentially fitted -- a closed cell without flow has the discrete steady state
``w = const``, i.e. ``c ∝ exp(-Phi)`` at the nodes for any ``S_T dT`` (a 20000-fold
concentration ratio is as easy as a 2-fold one), the diffusion matrix stays an M-matrix
(no oscillations, positive c), and the form is conservative so total mass is kept to
round-off. Flow advection at high Peclet number is stabilised with SUPG.

Scaled units: lengths by l (the domain's scale), D by D_ref, time by ``l^2 / D_ref``,
velocity by ``D_ref / l``; concentrations keep the unit of the inputs.

Chips with solid walls: ``regions`` names the (liquid) regions where the solute lives; the
forms and the mass are integrated over them only, dofs that no liquid cell touches are
fixed at zero, and the liquid-solid interface is a no-flux wall (the natural condition).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence, Union

import dolfinx.fem
import numpy as np
import ufl
from mpi4py import MPI
from petsc4py import PETSc

from ..physics import DiffusivityLaw, SoretLaw
from . import compat
from .forms import soret_transport_forms
from .linear import DIRECT, LinearSystem, VariableBDF2, iterative_options, shift_history
from .mesh import Domain
from .quadrature import compile_form


def touched_dofs(domain: Domain, V, regions: Sequence[str]) -> np.ndarray:
    """Mask of the (local) dofs of the scalar space V that a cell of the regions touches,
    parallel-consistent (a ghost knows what its owner's cells touch)."""
    cells = np.concatenate([domain.cell_tags.find(domain.region_tag(name)) for name in regions])
    touched = dolfinx.fem.Function(V)
    touched.x.array[compat.locate_dofs_topological(V, domain.mesh.topology.dim, cells.astype(np.int32))] = 1.0
    vec = compat.petsc_vector(touched)
    vec.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
    vec.ghostUpdate(addv=PETSc.InsertMode.INSERT, mode=PETSc.ScatterMode.FORWARD)
    return touched.x.array > 0.0


def lowest_node(index_map, inside: np.ndarray | None, comm) -> np.ndarray:
    """Local indices (owned or ghost) of the node with the smallest global index among
    ``inside`` (None: all nodes), where a closed cell's steady state is pinned. Every rank
    that holds the node must know the condition, or the ranks' column elimination and
    lifting disagree."""
    local = np.arange(index_map.size_local + index_map.num_ghosts, dtype=np.int32)
    global_index = np.asarray(index_map.local_to_global(local), dtype=np.int64)
    chosen_from = global_index if inside is None else global_index[inside]
    candidate = int(chosen_from.min()) if chosen_from.size else np.iinfo(np.int64).max
    return local[global_index == comm.allreduce(candidate, op=MPI.MIN)].astype(np.int32)


@dataclass(frozen=True)
class FixedConcentration:
    boundary: str
    value: float | Callable  # concentration, or a function of the physical coordinate


@dataclass(frozen=True)
class Outflow:
    """Open boundary where solute leaves with the flow (no diffusive flux)."""

    boundary: str


TransportCondition = Union[FixedConcentration, Outflow]


class SoretTransportProblem:
    """Concentration c of a species with diffusivity and Soret laws in a temperature field.

    ``temperature`` is a UFL expression in kelvin on the domain (usually the heat
    solver's Function); ``velocity`` a UFL vector in m/s or None.
    ``regions``: the region names where the solute lives (None: every cell).
    """

    def __init__(self, domain: Domain, temperature, diffusivity: DiffusivityLaw, soret: SoretLaw, *,
                 velocity=None, source: float | Callable | None = None,
                 boundary_conditions: Sequence[TransportCondition] = (), degree: int = 1,
                 reference_temperature: float, diffusivity_scale: float | None = None,
                 linear_solver: str = "direct", rtol: float = 1e-12, regions: Sequence[str] | None = None,
                 moving: bool = False):
        self.domain = domain
        self.degree = degree
        mesh = domain.mesh
        ell = domain.length_scale
        self.diffusivity_scale = diffusivity_scale or float(diffusivity.diffusivity(reference_temperature))
        self.time_scale = ell**2 / self.diffusivity_scale
        if isinstance(temperature, (int, float)):
            temperature = compat.constant(mesh, float(temperature))
        self.temperature = temperature
        self.soret = soret
        self.diffusivity_law = diffusivity

        def weight_of(T):
            return ufl.exp(-(soret.soret_potential(T) - soret.soret_potential(reference_temperature)))

        self.weight = weight_of(temperature)
        # moving: the temperature (and velocity) Functions change between time steps, so
        # the history terms carry the weight of their own time level -- then the discrete
        # mass int weight w is still conserved exactly -- and the matrix is rebuilt per step
        self.moving = moving
        self._temperature_history = []
        if moving:
            if not isinstance(temperature, dolfinx.fem.Function):
                raise TypeError("a moving temperature must be a dolfinx Function (updated by the caller)")
            self._temperature_history = [temperature.copy(), temperature.copy()]
        self._history_weights = [weight_of(T) for T in self._temperature_history]
        self.diffusivity = diffusivity.diffusivity(temperature) / self.diffusivity_scale
        self.velocity = None if velocity is None else velocity * (ell / self.diffusivity_scale)
        if source is None:
            self.source = compat.constant(mesh, 0.0)
        elif callable(source):
            self.source = source(domain.physical_coordinates()) * self.time_scale
        else:
            self.source = compat.constant(mesh, float(source) * self.time_scale)

        # exp(-Phi) is not polynomial: one fixed quadrature for every term and for the
        # mass functional, so that "mass conserved" holds exactly for the discrete forms.
        self.dx = domain.dx(metadata={"quadrature_degree": 2 * degree + 3})
        self.regions = None if regions is None else list(regions)
        solid = [] if regions is None else [name for name in domain.regions if name not in self.regions]
        if regions is not None:
            for name in self.regions:
                domain.region_tag(name)
            if solid:
                self.dx = self.dx(tuple(domain.region_tag(name) for name in self.regions))
        self.V = compat.function_space(mesh, "Lagrange", degree)
        self.slotboom = dolfinx.fem.Function(self.V, name="slotboom_variable")
        self.concentration = dolfinx.fem.Function(self.V, name="concentration")
        self._history = [dolfinx.fem.Function(self.V), dolfinx.fem.Function(self.V)]
        self._dt = compat.constant(mesh, 1.0)
        self._bdf2 = VariableBDF2(mesh)
        self._steps = 0
        self.time = 0.0

        fdim = mesh.topology.dim - 1
        self.bcs, self._outflow = [], []
        for bc in boundary_conditions:
            if isinstance(bc, FixedConcentration):
                facets = domain.facet_tags.find(domain.boundary_tag(bc.boundary))
                dofs = compat.locate_dofs_topological(self.V, fdim, facets)
                value = bc.value(domain.physical_coordinates()) if callable(bc.value) else bc.value
                w_value = dolfinx.fem.Function(self.V)
                compat.interpolate(w_value, value / self.weight)
                self.bcs.append(dolfinx.fem.dirichletbc(w_value, dofs))
            elif isinstance(bc, Outflow):
                self._outflow.append(domain.ds(bc.boundary))
            else:
                raise TypeError(f"not a transport boundary condition: {bc!r}")
        self.closed = not self.bcs and not self._outflow and source is None
        # dofs outside the solute's regions: c = 0 (their rows get a zero diagonal entry
        # from a zero-valued term over the solid cells, then the Dirichlet row)
        self._solid_bcs, self._solid_dx, self._inside = [], None, None
        if solid:
            self._solid_dx = domain.dx()(tuple(domain.region_tag(name) for name in solid))
            self._inside = touched_dofs(domain, self.V, self.regions)
            outside = np.flatnonzero(~self._inside).astype(np.int32)
            self._solid_bcs = [dolfinx.fem.dirichletbc(dolfinx.fem.Function(self.V), outside)]
        self._zero = compat.constant(mesh, 0.0)
        symmetric = self.velocity is None
        self._options = DIRECT if linear_solver == "direct" else iterative_options(symmetric, rtol, mesh.topology.dim)
        self._systems: dict[int, LinearSystem] = {}
        self._mass_form = compile_form(self.weight * self.slotboom * self.dx)

    # --- assembly -------------------------------------------------------------------
    def _forms(self, steps_in_history: int):
        w, v = ufl.TrialFunction(self.V), ufl.TestFunction(self.V)
        transient = steps_in_history > 0
        weights = self._history_weights or [self.weight, self.weight]
        history = [weight * h for weight, h in zip(weights, self._history[:steps_in_history])]
        a, L = soret_transport_forms(
            w, v, self.weight, self.diffusivity, self.source, self.dx, velocity=self.velocity,
            outflow=self._outflow, dt=self._dt if transient else None, history=history,
            coefficients=self._bdf2.weights if steps_in_history == 2 else None,
            cell_size=ufl.CellDiameter(self.domain.mesh), degree=self.degree,
            preserve_constants=self.velocity is not None and not self.closed)
        if self._solid_dx is not None:
            a += self._zero * w * v * self._solid_dx
        return a, L

    def _system(self, steps_in_history: int, bcs) -> LinearSystem:
        if steps_in_history not in self._systems:
            a, L = self._forms(steps_in_history)
            self._systems[steps_in_history] = LinearSystem(a, L, list(bcs) + self._solid_bcs, self.slotboom,
                                                           self._options, "transport")
        return self._systems[steps_in_history]

    def _pin(self):
        """Fix w at one dof: a closed cell's steady operator has the constants' direction
        of the steady state as its null space; the pinned row is implied by the others
        (the columns of the operator sum to zero), so pinning and rescaling to the total
        mass gives the exact discrete steady state."""
        dofs = lowest_node(self.V.dofmap.index_map, self._inside, self.domain.comm)
        value = dolfinx.fem.Function(self.V)
        value.x.array[:] = 1.0
        return dolfinx.fem.dirichletbc(value, dofs)

    # --- public API -----------------------------------------------------------------
    def total_mass(self) -> float:
        """Total amount of solute (concentration x m^3 in 2D: per metre of depth)."""
        local = dolfinx.fem.assemble_scalar(self._mass_form)
        return self.domain.comm.allreduce(local, op=MPI.SUM) * self.domain.length_scale ** self.domain.dim

    def solve_steady(self, total_mass: float | None = None) -> dolfinx.fem.Function:
        """Steady state; a closed cell needs its total mass (amount of solute)."""
        if self.closed:
            if total_mass is None:
                raise ValueError("a closed cell's steady state needs the total mass")
            self._system(0, [self._pin()]).solve()
            self.slotboom.x.array[:] *= total_mass / self.total_mass()
        else:
            self._system(0, self.bcs).solve()
        self.slotboom.x.scatter_forward()
        return self._update_concentration()

    def initialise(self, initial: float | Callable, total_mass: float | None = None) -> None:
        """c(t=0): a number or a function of the physical coordinate.

        ``total_mass``: rescale the interpolated state to this exact amount (the
        interpolant of ``c0 exp(Phi)`` carries an O(h^2) mass error otherwise).
        """
        c0 = initial(self.domain.physical_coordinates()) if callable(initial) else initial
        compat.interpolate(self.slotboom, c0 / self.weight)
        if self._inside is not None:
            self.slotboom.x.array[~self._inside] = 0.0
        if total_mass is not None:
            self.slotboom.x.array[:] *= total_mass / self.total_mass()
        for T in self._temperature_history:
            T.x.array[:] = self.temperature.x.array
        self._steps = 0
        self.time = 0.0
        self._update_concentration()

    def advance(self, dt: float, order: int = 2) -> dolfinx.fem.Function:
        """One BDF step of physical size dt (s); the first step is backward Euler.
        ``moving``: the temperature and velocity Functions hold their values at the new
        time level when this is called."""
        steps_in_history = 1 if (order == 1 or self._steps == 0) else 2
        self._dt.value = dt / self.time_scale
        ratio = self._bdf2.set_step(dt, steps_in_history == 2)
        system = self._system(steps_in_history, self.bcs)
        if self.moving:
            system.assemble_matrix()
        else:
            system.assemble_for((dt, ratio))
        shift_history(self._history, self.slotboom)
        system.solve()
        if self.moving:
            shift_history(self._temperature_history, self.temperature)
        self._steps += 1
        self.time += dt
        return self._update_concentration()

    def temperature_changed(self) -> None:
        """Reassemble the cached matrices after the temperature Function changed (a
        steady solve coupled to the heat equation, e.g. with the Dufour term)."""
        for system in self._systems.values():
            system.assemble_matrix()

    def restart_functions(self) -> dict[str, dolfinx.fem.Function]:
        """The Functions a restart needs: the state, its BDF history (and with a moving
        temperature the temperatures of the history levels)."""
        functions = {"slotboom": self.slotboom, "history0": self._history[0], "history1": self._history[1]}
        functions.update({f"temperature_history{i}": T for i, T in enumerate(self._temperature_history)})
        return functions

    def restore(self, steps: int, time: float, last_step: float | None = None) -> None:
        """After :meth:`restart_functions` were filled from a checkpoint taken after
        ``steps`` steps at ``time`` (s); ``last_step``: the size of the last step (s) when
        the steps vary."""
        self._steps, self.time, self._bdf2.previous_step = steps, time, last_step
        self._update_concentration()

    def _update_concentration(self) -> dolfinx.fem.Function:
        compat.interpolate(self.concentration, self.weight * self.slotboom)
        return self.concentration
