"""Brownian particle tracking in sampled FEM fields (DESIGN.md, issue 5).

Many point colloids follow the Ito SDE
``dX = [u - D_T grad T + grad D + F_ext/zeta] dt + sqrt(2 D) dW`` in fields sampled on a
structured grid (:class:`GridFields`), advanced by a fused multi-step kernel on the GPU
(CuPy) or the CPU (numba) with the same counter-based random numbers (Philox4x32-10).

Typical use::

    fields = GridFields.from_callables(lower, upper, shape, T, diffusivity_law, soret_law)
    tracker = Tracker(fields, dt, backend="auto")
    state = ParticleState.uniform(100_000, lower, upper, seed=1)
    report = tracker.advance(state, n_steps=1000)

Particles that switch among internal states (Liang, Busiello & De Los Rios)::

    tracker = Tracker(fields, dt, internal_states=model)  # an InternalStateModel
    report = tracker.advance(state, n_steps=1000)  # states start from the local equilibrium
    report.state_counts

dolfinx is imported only by :func:`grid_fields_from_dolfinx` (lazily).
"""

from .backend import backend_info, gpu_available, select_backend
from .driver import TrackingConfig, TrackingResult, run_tracking
from .fields import GRAD_D_MODES, FieldSeries, GridFields, buoyant_weight
from .kernels_cpu import ACTIVE, ADSORBED, ESCAPED, INVALID, MAX_STATES
from .outputs import (Estimate, TrajectoryRecorder, concentration_on_grid, concentration_profile,
                      histogram, internal_state_fractions, mean_drift_velocity, msd_diffusivity,
                      summary_quantities, wall_concentration_ratio)
from .state import ParticleState, local_batch
from .tracker import AdvanceReport, Tracker, suggest_time_step


def grid_fields_from_dolfinx(*args, **kwargs) -> GridFields:
    """See :func:`thermocfd.tracking.sampling.grid_fields_from_dolfinx` (imports dolfinx)."""
    from .sampling import grid_fields_from_dolfinx as sample

    return sample(*args, **kwargs)


__all__ = [
    "backend_info", "gpu_available", "select_backend",
    "GRAD_D_MODES", "FieldSeries", "GridFields", "buoyant_weight", "grid_fields_from_dolfinx",
    "ACTIVE", "ADSORBED", "ESCAPED", "INVALID", "MAX_STATES",
    "Estimate", "TrajectoryRecorder", "concentration_on_grid", "concentration_profile",
    "histogram", "internal_state_fractions", "mean_drift_velocity", "msd_diffusivity", "summary_quantities",
    "wall_concentration_ratio", "ParticleState", "local_batch", "AdvanceReport", "Tracker",
    "suggest_time_step", "TrackingConfig", "TrackingResult", "run_tracking",
]
