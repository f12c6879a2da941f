"""One call for a pipeline: place particles, advance them, gather, summarise.

``run_tracking(fields, TrackingConfig(...), comm)`` is what a ``tracking`` case (or the
tracking option of another case) needs after it has computed its fields: every MPI rank
tracks its own batch of particle ids (the random numbers are keyed by id, so the result
does not depend on the number of ranks), rank 0 gathers the states, and every rank gets
the same summary and density.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from .. import checkpoint
from ..errors import SolverError
from ..physics.internal_states import InternalStateModel
from .fields import FieldSeries, GridFields
from .outputs import TrajectoryRecorder, concentration_on_grid, summary_quantities
from .state import ParticleState, local_batch
from .tracker import AdvanceReport, Tracker, suggest_time_step


@dataclass
class TrackingConfig:
    """What to track and how (SI units). Give ``n_steps`` or ``duration``."""

    n_particles: int = 100_000
    duration: float | None = None  # s
    n_steps: int | None = None
    dt: float | None = None  # default: suggest_time_step(fields, dt_fraction)
    dt_fraction: float = 0.5
    backend: str = "auto"
    dtype: str = "float64"
    scheme: str = "euler"
    grad_d: str = "trilinear"
    seed: int = 0
    walls: str | Sequence[str] | Mapping[str, str] = "reflect"
    sticking_probability: float | Sequence[float] | Mapping[str, float] = 1.0
    external_force: Sequence[float] | None = None  # N, e.g. buoyant_weight(...)
    initial_lower: Sequence[float] | None = None  # uniform start box (default: the domain)
    initial_upper: Sequence[float] | None = None
    record_every: int = 0  # steps between trajectory frames; 0: no trajectories
    record_particles: int = 1000
    cell_axis: int | None = None  # two-wall cell: axis from the hot (lower) to the cold wall
    histogram_bins: int = 20
    internal_states: InternalStateModel | None = None  # switching states (start: local equilibrium)


@dataclass
class TrackingResult:
    """Summary (canonical summary.json keys) and density (on every rank); the final and
    initial states are the gathered ones on rank 0 and the local batch elsewhere."""

    summary: dict
    state: ParticleState
    initial_positions: np.ndarray
    density: np.ndarray  # cloud-in-cell number density on the field grid, 1/m^3
    recorder: TrajectoryRecorder | None = None
    reports: list[AdvanceReport] = field(default_factory=list)
    state_densities: np.ndarray | None = None  # (n_states,) + grid shape: density of each state, 1/m^3


def _first_grid(fields: GridFields | FieldSeries) -> GridFields:
    return fields.snapshots[0] if isinstance(fields, FieldSeries) else fields


def run_tracking(fields: GridFields | FieldSeries, config: TrackingConfig, comm=None) -> TrackingResult:
    """Track ``config.n_particles`` Brownian particles in ``fields`` and summarise."""
    grid = _first_grid(fields)
    if config.n_particles < 1:
        raise ValueError("tracking needs at least one particle")
    for snapshot in fields.snapshots if isinstance(fields, FieldSeries) else [fields]:
        snapshot.check_finite()
    model = config.internal_states
    dt = float(config.dt) if config.dt is not None else suggest_time_step(grid, config.dt_fraction, model)
    if config.n_steps is not None:
        n_steps = int(config.n_steps)
    elif config.duration is not None:
        n_steps = max(1, int(np.ceil(config.duration / dt)))
    else:
        raise ValueError("give tracking n_steps or duration")
    rank, size = (comm.rank, comm.size) if comm is not None else (0, 1)

    tracker = Tracker(fields, dt, backend=config.backend, dtype=np.dtype(config.dtype),
                      scheme=config.scheme, grad_d=config.grad_d,
                      external_force=config.external_force, walls=config.walls,
                      sticking_probability=config.sticking_probability, seed=config.seed,
                      internal_states=model)
    lower = tracker.box_lower if config.initial_lower is None else np.asarray(config.initial_lower)
    upper = tracker.box_upper if config.initial_upper is None else np.asarray(config.initial_upper)
    count, offset = local_batch(config.n_particles, rank, size)
    reports: list[AdvanceReport] = []
    with checkpoint.active().loop("tracking") as loop:
        if loop.restored is not None:
            state, initial, recorder, particle_steps, wall = _restored(loop.restored, config, rank)
        else:
            state = ParticleState.uniform(count, lower, upper, seed=config.seed, id_offset=offset,
                                          dtype=tracker.dtype)
            if model is not None:
                state.internal_state = tracker.equilibrium_internal_states(state)
            initial = state.to_host()
            recorder = None
            if config.record_every > 0 and rank == 0:
                recorder = TrajectoryRecorder(every=config.record_every, max_particles=config.record_particles)
            particle_steps, wall = 0, 0.0
        chunk = _steps_between_polls(config, fields, tracker)
        while state.step < n_steps:
            steps = min(chunk, n_steps - state.step, loop.steps_to_checkpoint(state.step))
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="particle tracker: .*NaN guard")  # raised below
                report = tracker.advance(state, steps, recorder=recorder)
            wall += time.perf_counter() - start
            particle_steps += report.particle_steps
            reports.append(report)
            invalid = comm.allreduce(report.invalid_new) if size > 1 else report.invalid_new
            if invalid:
                raise SolverError(f"particle tracker: {invalid} particle(s) reached a non-finite position by step "
                                  f"{state.step} (NaN guard): the drift or diffusivity overflows somewhere; use a "
                                  "smaller tracking.time_step and check the property laws over the temperature "
                                  "range")
            loop.completed(state.step, state.time,
                           lambda: (_checkpoint_arrays(state, initial, recorder, particle_steps, wall), {}))

    final = state.to_host()
    if size > 1:
        parts = comm.gather((initial, final), root=0)
        if rank == 0:
            initial, final = parts[0]
            for first, last in parts[1:]:
                initial = initial.concatenate(first)
                final = final.concatenate(last)
        wall = comm.allreduce(wall, op=_mpi_max())
        particle_steps = comm.allreduce(particle_steps)

    summary = density = state_densities = None
    if rank == 0:
        cell = {}
        if config.cell_axis is not None:
            axis = int(config.cell_axis)
            cell = dict(cell_axis=axis, cell_lower=float(tracker.box_lower[axis]),
                        cell_upper=float(tracker.box_upper[axis]), bins=config.histogram_bins)
        summary = summary_quantities(initial, final, final.time, **cell,
                                     n_states=None if model is None else model.size)
        summary.update(tracking_backend=tracker.backend, tracking_dtype=tracker.dtype.name,
                       tracking_scheme=config.scheme, tracking_dt=dt, tracking_steps=n_steps,
                       tracking_particles=config.n_particles,
                       tracking_particle_steps_per_s=particle_steps / wall if wall > 0 else None,
                       tracking_wall_time_s=wall)
        density = concentration_on_grid(final, grid.origin, grid.spacing, grid.shape)
        if model is not None:
            state_densities = np.stack([concentration_on_grid(final, grid.origin, grid.spacing, grid.shape,
                                                              internal_state=i) for i in range(model.size)])
    if size > 1:
        summary, density, state_densities = comm.bcast((summary, density, state_densities), root=0)
    return TrackingResult(summary=summary, state=final, initial_positions=initial.positions,
                          density=density, recorder=recorder, reports=reports,
                          state_densities=state_densities)


def _steps_between_polls(config: TrackingConfig, fields, tracker: Tracker) -> int:
    """Steps per :meth:`Tracker.advance` call between checkpoint and signal checks.

    About 2e7 particle-steps (seconds on a CPU) keep the per-call overhead small and a
    stop signal answered in time. The same on every rank (the checks are collective).
    A FieldSeries is re-blended every ``field_update_steps`` steps counted from the
    call's start, and trajectory frames fall on multiples of ``record_every``: a chunk
    that is a multiple of both gives the same fields and frames as one long call."""
    steps = max(1, int(2e7 // config.n_particles))
    if isinstance(fields, FieldSeries):
        align = math.lcm(tracker.field_update_steps, max(1, config.record_every))
        steps = align * max(1, steps // align)
    return steps


def _checkpoint_arrays(state: ParticleState, initial: ParticleState, recorder: TrajectoryRecorder | None,
                       particle_steps: int, wall: float) -> dict[str, np.ndarray]:
    """This rank's restart state: the particles (the random numbers are keyed by seed, id
    and step, so these and the step counter are all the generator needs), the initial
    positions (for MSD and drift), the trajectory frames so far, the work done."""
    host = state.to_host()
    arrays = {"positions": host.positions, "ids": host.ids, "status": host.status,
              "initial_positions": initial.positions, "particle_steps": np.array(particle_steps),
              "wall_time_s": np.array(wall)}
    if host.internal_state is not None:
        arrays["internal_state"] = host.internal_state
    if recorder is not None:  # rank 0; its first frame is taken before the first step
        arrays.update(frames=np.stack(recorder.frames), frame_times=np.asarray(recorder.times),
                      frame_selection=recorder._selection, frame_ids=recorder.ids,
                      frame_status=np.stack(recorder.statuses))
        if recorder.internal_states:
            arrays["frame_internal_state"] = np.stack(recorder.internal_states)
    return arrays


def _restored(saved: checkpoint.Checkpoint, config: TrackingConfig, rank: int):
    """(state, initial, recorder, particle_steps, wall) from a checkpoint."""
    a = saved.arrays
    state = ParticleState(a["positions"], a["ids"], a["status"], saved.step, saved.time,
                          a.get("internal_state"))
    initial = ParticleState(a["initial_positions"], a["ids"].copy(), np.zeros_like(a["status"]))
    recorder = None
    if config.record_every > 0 and rank == 0:
        recorder = TrajectoryRecorder(every=config.record_every, max_particles=config.record_particles,
                                      frames=list(a["frames"]), times=[float(t) for t in a["frame_times"]],
                                      _selection=a["frame_selection"], statuses=list(a["frame_status"]),
                                      internal_states=list(a.get("frame_internal_state", [])))
        recorder.ids = a["frame_ids"]
    return state, initial, recorder, int(a["particle_steps"]), float(a["wall_time_s"])


def _mpi_max():
    from mpi4py import MPI

    return MPI.MAX
