"""Steady heat and Soret transport coupled both ways: thermodiffusion in the temperature
field and the Dufour heat flux of the solute in the heat equation.

A Picard (block Gauss-Seidel) iteration between :meth:`HeatProblem.solve_steady` (with
a :class:`~thermocfd.fem.heat.DufourCoupling`) and
:meth:`SoretTransportProblem.solve_steady`, handing T to the transport solver and c to the
heat solver after each solve. The
Dufour term is weak in every physical case (relative size ``R D S_T^2 c T^2 / k``,
:mod:`thermocfd.physics.onsager`), so the iteration contracts by that factor and
converges in a few sweeps.
"""

from __future__ import annotations

from dataclasses import dataclass

import dolfinx.fem
import numpy as np
from mpi4py import MPI

from ..errors import SolverError
from . import compat
from .heat import HeatProblem
from .transport import SoretTransportProblem


@dataclass
class CoupledSteadyState:
    iterations: int
    temperature: dolfinx.fem.Function  # K
    concentration: dolfinx.fem.Function
    changes: list[float]  # relative max-norm change of (T, c) per sweep


def _max_abs(comm, values: np.ndarray) -> float:
    return comm.allreduce(float(np.max(np.abs(values), initial=0.0)), op=MPI.MAX)


def solve_soret_dufour_steady(heat: HeatProblem, transport: SoretTransportProblem, total_mass: float | None = None,
                              rtol: float = 1e-10, max_iterations: int = 50) -> CoupledSteadyState:
    """The steady (T, c) of the two-way coupled problem; ``total_mass`` for a closed cell.

    The transport's temperature and the heat problem's Dufour concentration are either
    the other solver's Function itself (as when one solver is built on the other's) or
    Functions of their own that this loop fills by interpolation (the solvers refer to each
    other's unknown, so one of them has to be built on a stand-in). Converged when a sweep
    changes T and c by at most rtol relative to their max norms.
    """
    if heat.dufour is None:
        raise ValueError("the heat problem has no Dufour coupling (HeatProblem(..., dufour=DufourCoupling(...)))")
    for name, target in (("transport temperature", transport.temperature),
                         ("Dufour concentration", heat.dufour.concentration)):
        if not isinstance(target, dolfinx.fem.Function):
            raise TypeError(f"the {name} must be a dolfinx Function for the coupled solve")
    comm = heat.domain.comm
    T, c = heat.temperature, transport.concentration
    T_previous, c_previous = T.x.array.copy(), c.x.array.copy()
    changes = []
    for iteration in range(1, max_iterations + 1):
        heat.solve_steady()
        if transport.temperature is not T:
            compat.interpolate(transport.temperature, T)
        transport.temperature_changed()  # its matrix holds D(T) and the weight exp(-Phi(T))
        transport.solve_steady(total_mass)
        if heat.dufour.concentration is not c:
            compat.interpolate(heat.dufour.concentration, c)
        change = max(_max_abs(comm, T.x.array - T_previous) / _max_abs(comm, T.x.array),
                     _max_abs(comm, c.x.array - c_previous) / max(_max_abs(comm, c.x.array), 1e-300))
        changes.append(change)
        if change <= rtol:
            return CoupledSteadyState(iteration, T, c, changes)
        T_previous[:], c_previous[:] = T.x.array, c.x.array
    raise SolverError(f"heat-solute coupling: no convergence in {max_iterations} sweeps (last relative change "
                      f"{changes[-1]:.3g})")
