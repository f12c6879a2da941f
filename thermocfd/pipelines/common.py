"""Pieces shared by the pipelines."""

from __future__ import annotations

from dataclasses import dataclass, field

import dolfinx.fem
from mpi4py import MPI

from ..fem.quadrature import compile_form


@dataclass
class PipelineResult:
    """What a pipeline hands back: named SI results, their units, the live fields."""

    results: dict
    units: dict
    fields: dict = field(default_factory=dict)
    domain: object = None


def integrate(domain, integrand) -> float:
    """Assemble a scalar UFL form over all ranks."""
    local = dolfinx.fem.assemble_scalar(compile_form(integrand))
    return domain.comm.allreduce(local, op=MPI.SUM)


def drift_velocity(domain, temperature, solute, velocity=None, degree: int = 2):
    """Colloid drift ``v = u - D_T(T) grad T`` (m/s) as a vector Function for output.

    Interpolated at the nodes of a P``degree`` space (grad T is discontinuous across
    cells; node values take one neighbour's, which is what a picture needs).
    """
    import ufl

    from ..fem import compat

    V = compat.function_space(domain.mesh, "Lagrange", degree, (domain.dim,))
    D_T = solute.soret_law.soret_coefficient(temperature) * solute.diffusivity_law.diffusivity(temperature)
    expression = -D_T * ufl.grad(temperature) / domain.length_scale
    if velocity is not None:
        expression = expression + velocity
    v = dolfinx.fem.Function(V, name="drift_velocity")
    compat.interpolate(v, expression)
    return v


def tracking_config(case, domain, fields, duration: float, boundaries: dict, fluid_density: float, **extra):
    """The tracker's set-up from [tracking] and the boundary table, shared by the pipelines:
    time step (given or suggested from the grid), wall kinds per box face, sedimentation
    force from tracking.particle_radius/density."""
    import numpy as np

    from ..tracking import TrackingConfig, buoyant_weight, suggest_time_step
    from .conditions import box_faces, tracker_walls

    spec = case.tracking
    dt = spec.time_step or suggest_time_step(fields, internal_states=extra.get("internal_states"))
    walls, sticking = tracker_walls(boundaries, box_faces(domain))
    external_force = None
    if spec.particle_radius is not None and any(case.gravity):
        external_force = buoyant_weight(spec.particle_radius, spec.particle_density, fluid_density, case.gravity)
    return TrackingConfig(n_particles=spec.particles, n_steps=max(1, int(np.ceil(duration / dt))), dt=dt,
                          backend=spec.backend, dtype=spec.precision, scheme=spec.scheme, seed=spec.seed,
                          walls=walls, sticking_probability=sticking, external_force=external_force, **extra)


def region_bounds(domain, names) -> tuple:
    """Global (lower, upper) corners (mesh units, 3 components) of the named regions' cells."""
    import numpy as np

    tdim = domain.dim
    cells = np.concatenate([domain.cell_tags.find(domain.region_tag(name)) for name in names]) \
        if names else np.zeros(0, np.int32)
    from ..fem import compat

    x = domain.mesh.geometry.x[compat.entity_nodes(domain.mesh, tdim, cells).ravel()] if cells.size \
        else np.zeros((0, 3))
    from ..fem.mesh import global_box

    return global_box(domain.comm, x)


def max_of(V, expression) -> float:
    """Largest value of a UFL expression at the owned nodes of its interpolant in V (e.g.
    the P2 temperature space, so no space is built per call; a DG space for a gradient,
    which jumps between cells, so that no value shared by two cells or ranks is taken)."""
    import math

    import numpy as np

    from ..fem import compat

    f = dolfinx.fem.Function(V)
    compat.interpolate(f, expression)
    owned = f.x.array[: V.dofmap.index_map.size_local * V.dofmap.index_map_bs]
    local = float(np.max(owned)) if owned.size else -math.inf
    return V.mesh.comm.allreduce(local, op=MPI.MAX)


def liquid_indicator(domain, names):
    """1 on the named regions' cells, 0 elsewhere (a DG0 Function)."""
    from ..fem import compat

    V0 = compat.function_space(domain.mesh, "DG", 0)
    indicator = dolfinx.fem.Function(V0)
    for name in names:
        cells = domain.cell_tags.find(domain.region_tag(name))
        indicator.x.array[compat.cell_dofs(V0)[cells, 0]] = 1.0
    indicator.x.scatter_forward()
    return indicator


def nodes_per_vertex(degree: int, dim: int) -> float:
    """Lagrange nodes per mesh vertex: 1 for P1; P2 adds the edges (about 3 per vertex in
    2D, 7 in 3D)."""
    return 1.0 if degree == 1 else (4.0 if dim == 2 else 8.0)


def taylor_hood_unknowns_per_vertex(dim: int, scalar_p2_fields: int = 0) -> float:
    """Unknowns per vertex of P2 velocity, P1 pressure and further scalar P2 fields (the
    coupled solver's temperature)."""
    return (dim + scalar_p2_fields) * nodes_per_vertex(2, dim) + 1.0


def linear_solver(case, domain, unknowns_per_vertex: float = 1.0) -> str:
    """"direct" or "iterative" for a problem on this mesh: the case's choice, or the size
    rule of ``solver.linear_solver = "auto"``."""
    vertices = domain.mesh.topology.index_map(0).size_global
    return case.solver.linear_solver_for(vertices * unknowns_per_vertex, domain.dim)
