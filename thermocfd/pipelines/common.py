"""Pieces shared by the pipelines."""

from __future__ import annotations

from dataclasses import dataclass, field

import dolfinx.fem
from mpi4py import MPI


@dataclass
class PipelineResult:
    """What a pipeline hands back: named SI results, their units, the live fields."""

    results: dict
    units: dict
    fields: dict = field(default_factory=dict)
    domain: object = None


def integrate(domain, integrand) -> float:
    """Assemble a scalar UFL form over all ranks."""
    local = dolfinx.fem.assemble_scalar(dolfinx.fem.form(integrand))
    return domain.comm.allreduce(local, op=MPI.SUM)


def drift_velocity(domain, temperature, solute, velocity=None, degree: int = 2):
    """Colloid drift ``v = u - D_T(T) grad T`` (m/s) as a vector Function for output.

    Interpolated at the nodes of a P``degree`` space (grad T is discontinuous across
    cells; node values take one neighbour's, which is what a picture needs).
    """
    import ufl

    from ..fem import compat

    V = compat.function_space(domain.mesh, "Lagrange", degree, (domain.dim,))
    D_T = solute.soret_coefficient.soret_coefficient(temperature) * solute.diffusivity.diffusivity(temperature)
    expression = -D_T * ufl.grad(temperature) / domain.length_scale
    if velocity is not None:
        expression = expression + velocity
    v = dolfinx.fem.Function(V, name="drift_velocity")
    compat.interpolate(v, expression)
    return v
