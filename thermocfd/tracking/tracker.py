"""The one interface to both kernels: ``Tracker(fields, dt, ...).advance(state, n_steps)``."""

from __future__ import annotations

import time as _time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator, Mapping, Sequence

import numpy as np

from ..errors import SolverError
from ..physics.constants import BOLTZMANN
from ..physics.internal_states import InternalStateModel
from . import kernels_cpu
from .backend import select_backend
from .fields import (GRAD_D_MODES, FieldSeries, GridFields, finite_difference_gradient, state_rate_parameters,
                     trilinear)
from .kernels_cpu import FACE_ADSORB, FACE_OPEN, FACE_REFLECT, INVALID
from .state import ParticleState, draw_internal_states, to_numpy

FACE_NAMES = ("x-", "x+", "y-", "y+", "z-", "z+")
FACE_KINDS = {"reflect": FACE_REFLECT, "adsorb": FACE_ADSORB, "open": FACE_OPEN}
SCHEMES = ("euler", "heun")
STATE_GRAD_D_MODES = ("trilinear", "none")  # per-state node gradients ("grid") are not stored


@dataclass
class AdvanceReport:
    """What one :meth:`Tracker.advance` did."""

    n_steps: int
    wall_time_s: float
    particle_steps: int  # active particles at the start times steps
    invalid_new: int  # particles stopped by the NaN guard during this call
    counts: dict[str, int] = field(default_factory=dict)
    state_counts: list[int] | None = None  # in-domain particles per internal state

    @property
    def particle_steps_per_s(self) -> float:
        return self.particle_steps / self.wall_time_s if self.wall_time_s > 0 else float("inf")


def suggest_time_step(fields: GridFields, fraction: float = 0.5,
                      internal_states: InternalStateModel | None = None) -> float:
    """A dt whose rms diffusive step and largest drift step are ``fraction`` of the finest
    grid spacing (so a step samples the fields cell by cell). With ``internal_states`` the
    largest state D counts; the switching rates do not limit dt (switching is exact
    within a step)."""
    fields.check_finite()
    h = float(np.min(fields.spacing))
    if internal_states is None:
        d_max = float(np.max(fields.diffusivity))
        drift = fields.node_records("grid")[..., :3]
    else:
        state_d = fields.state_diffusivities(internal_states)
        d_max = float(np.max(state_d))
        # The state-averaged drift is bounded by b plus the steepest state's grad D.
        steepest = np.max(np.abs(np.stack([finite_difference_gradient(d, fields.spacing) for d in state_d])), axis=0)
        drift = np.abs(fields.state_node_records(internal_states)[..., :3]) + steepest
    with np.errstate(over="ignore"):
        v_max = float(np.max(np.linalg.norm(drift, axis=-1)))
    if not np.isfinite(v_max):
        raise SolverError("particle tracker: the drift -D_T grad T (+ u) overflows on the sampled grid: S_T D or "
                          "the temperature gradient is far too large; check the property laws and temperatures")
    candidates = [np.inf]
    if d_max > 0:
        candidates.append((fraction * h) ** 2 / (2.0 * d_max))
    if v_max > 0:
        candidates.append(fraction * h / v_max)
    dt = min(candidates)
    if not np.isfinite(dt):
        raise ValueError("no diffusion and no drift: any time step is exact")
    return dt


def _faces(spec: str | Sequence[str] | Mapping[str, str]) -> np.ndarray:
    """Face kinds for x-, x+, y-, y+, z-, z+ from one name, six names or a mapping."""
    if isinstance(spec, str):
        names = [spec] * 6
    elif isinstance(spec, Mapping):
        unknown = set(spec) - set(FACE_NAMES)
        if unknown:
            raise ValueError(f"unknown wall face(s) {sorted(unknown)}; faces are {FACE_NAMES}")
        names = [spec.get(face, "reflect") for face in FACE_NAMES]
    else:
        names = list(spec)
        if len(names) != 6:
            raise ValueError(f"give 6 wall kinds ({FACE_NAMES}), got {len(names)}")
    for name in names:
        if name not in FACE_KINDS:
            raise ValueError(f"wall kind must be one of {tuple(FACE_KINDS)}, got {name!r}")
    return np.array([FACE_KINDS[name] for name in names], dtype=np.int32)


def _per_face(value: float | Sequence[float] | Mapping[str, float], default: float) -> np.ndarray:
    if isinstance(value, Mapping):
        out = np.array([float(value.get(face, default)) for face in FACE_NAMES])
    else:
        out = np.broadcast_to(np.asarray(value, dtype=np.float64), (6,)).copy()
    if np.any((out < 0) | (out > 1)):
        raise ValueError("sticking probabilities must lie in [0, 1]")
    return out


@contextmanager
def in_grid_order(state: ParticleState, origin: np.ndarray, inv_h: np.ndarray,
                  grid_shape: tuple[int, int, int]) -> Iterator[ParticleState]:
    """The ACTIVE particles of a host ``state``, gathered in the order of the grid blocks
    they lie in (:func:`.kernels_cpu.locality_order`), and written back on exit.

    A kernel that loops over them in this order reads each neighbourhood's corner records
    from cache, and its own particle records contiguously (sort, gather and scatter take
    ~12, ~20 and ~7 ms per 1e6 particles; the step rate on a 1.6e6-node chip grid goes
    from 1.7e7 to 2.2-2.5e7, ``bench_tracker.py --chip-only``). The results do not depend
    on the order: each particle's random numbers are keyed by its id.
    """
    order = kernels_cpu.locality_order(state.positions, state.status, origin, inv_h, grid_shape)

    def gathered(array: np.ndarray) -> np.ndarray:
        out = np.empty(array.shape[:-1] + order.shape, dtype=array.dtype)
        for row, out_row in zip(array.reshape(-1, array.shape[-1]), out.reshape(-1, order.size)):
            kernels_cpu.gather(row, order, out_row)
        return out

    active = ParticleState(positions=gathered(state.positions), ids=gathered(state.ids),
                           status=gathered(state.status),
                           internal_state=None if state.internal_state is None else gathered(state.internal_state))
    yield active
    for row, out_row in zip(active.positions, state.positions):
        kernels_cpu.scatter(row, order, out_row)
    kernels_cpu.scatter(active.status, order, state.status)
    if state.internal_state is not None:
        kernels_cpu.scatter(active.internal_state, order, state.internal_state)


class Tracker:
    """Brownian point particles in sampled fields (Ito SDE of DESIGN.md).

    ``dX = [u - D_T grad T + grad D + F_ext/zeta] dt + sqrt(2 D) dW`` with
    ``zeta = k_B T / D``, in the box ``[box_lower, box_upper]`` (default: the grid).

    Parameters: ``fields`` (:class:`GridFields` or a :class:`FieldSeries`), time step
    ``dt`` (s); ``backend`` ``"auto" | "cpu" | "gpu"``; ``dtype`` float64 or float32
    (the stored fields; on the GPU also the state and the arithmetic, while the CPU backend
    keeps float64 positions and arithmetic); ``scheme``
    ``"euler"`` (Euler-Maruyama) or ``"heun"`` (predictor-corrector on the drift);
    ``grad_d`` one of :data:`.fields.GRAD_D_MODES`; ``external_force`` (N, constant,
    e.g. :func:`.fields.buoyant_weight`); ``walls`` a face kind ``"reflect" | "adsorb" |
    "open"`` for all faces, six of them, or a mapping ``{"x-": ..., "z+": ...}``;
    ``sticking_probability`` for adsorbing faces (one value, six, or a mapping);
    ``seed`` keys the random numbers; ``steps_per_launch`` caps the steps fused into one
    GPU launch; ``field_update_steps``: how often a FieldSeries is re-blended.

    ``internal_states`` (an :class:`.InternalStateModel`, at most ``MAX_STATES`` states):
    each particle carries a state i and moves with ``dX = [b + grad D_i + D_i F/(k_B T)] dt
    + sqrt(2 D_i) dW`` (``b = u - D_T grad T`` of the fields, D_T zero for states without
    thermophoresis of their own), switching i -> j at the Arrhenius rate ``k_ij(T(X))``;
    the jump process within a step is exact (:mod:`.kernels_cpu`). The fields' own
    ``diffusivity`` is then unused: each state's D comes from its law at the node T.
    """

    def __init__(self, fields: GridFields | FieldSeries, dt: float, *, backend: str = "auto",
                 dtype=np.float64, scheme: str = "euler", grad_d: str = "trilinear",
                 external_force: Sequence[float] | None = None,
                 box_lower: Sequence[float] | None = None, box_upper: Sequence[float] | None = None,
                 walls: str | Sequence[str] | Mapping[str, str] = "reflect",
                 sticking_probability: float | Sequence[float] | Mapping[str, float] = 1.0,
                 seed: int = 0, steps_per_launch: int = 200, field_update_steps: int = 10,
                 internal_states: InternalStateModel | None = None):
        if not dt > 0:
            raise ValueError(f"time step must be positive, got {dt}")
        if scheme not in SCHEMES:
            raise ValueError(f"scheme must be one of {SCHEMES}, got {scheme!r}")
        if grad_d not in GRAD_D_MODES:
            raise ValueError(f"grad_d must be one of {GRAD_D_MODES}, got {grad_d!r}")
        if np.dtype(dtype) not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise ValueError("dtype must be float32 or float64")
        if internal_states is not None and grad_d not in STATE_GRAD_D_MODES:
            raise ValueError(f"with internal states grad_d must be one of {STATE_GRAD_D_MODES}, got {grad_d!r}")
        self.internal_states = internal_states
        self._rates = None if internal_states is None else state_rate_parameters(internal_states)
        self._device_tables = None  # the rate tables in GPU memory, uploaded on the first launch
        self.fields = fields
        self.dt = float(dt)
        self.backend = select_backend(backend)
        # Positions and arithmetic: ``dtype`` on the GPU, always float64 on the CPU (where
        # float32 positions would save nothing). The fields are stored in ``dtype`` on both:
        # float32 halves the bytes of a corner record.
        self.dtype = np.dtype(dtype) if self.backend == "gpu" else np.dtype(np.float64)
        self.field_dtype = np.dtype(dtype)
        self.scheme = scheme
        self.grad_d = grad_d
        self.external_force = None if external_force is None else \
            np.asarray(external_force, dtype=np.float64).reshape(3)
        grid = fields.snapshots[0] if isinstance(fields, FieldSeries) else fields
        if internal_states is not None and np.any(grid.thermal_diffusivity != 0.0):
            # Most likely the fields were built with the model's own fast-switching Soret law,
            # which the state switching reproduces: counting it again doubles the effect.
            warnings.warn("particle tracker: the fields carry a thermal diffusivity D_T and the particles have "
                          "internal states: every state also drifts with -D_T grad T; build the fields without a "
                          "Soret law unless the states have a thermophoresis of their own", RuntimeWarning,
                          stacklevel=2)
        self.box_lower = grid.lower if box_lower is None else np.asarray(box_lower, dtype=np.float64)
        self.box_upper = grid.upper if box_upper is None else np.asarray(box_upper, dtype=np.float64)
        tol = 1e-9 * np.max(grid.upper - grid.lower)
        if np.any(self.box_lower < grid.lower - tol) or np.any(self.box_upper > grid.upper + tol) \
                or np.any(self.box_upper <= self.box_lower):
            raise ValueError("the tracking box must be non-empty and lie inside the field grid")
        self.face_kind = _faces(walls)
        self.sticking = _per_face(sticking_probability, 1.0)
        self.seed = int(seed)
        if not 0 <= self.seed < 2**64:
            raise ValueError(f"seed must be an integer in [0, 2^64), got {seed}")
        self.steps_per_launch = max(1, int(steps_per_launch))
        self.field_update_steps = max(1, int(field_update_steps))
        self._static = None if isinstance(fields, FieldSeries) else self._prepare(fields)
        if self.dtype == np.float32:
            # float32 positions carry ~7 digits: a step much smaller than 1e-5 of the box
            # (where the positions live) would be rounded away.
            d_min = np.min(grid.diffusivity) if internal_states is None else \
                np.min(grid.state_diffusivities(internal_states))
            step = np.sqrt(2.0 * float(d_min) * self.dt)
            extent = float(np.max(np.abs(np.concatenate([self.box_lower, self.box_upper]))))
            if step < 1e-5 * extent:
                warnings.warn(f"float32 positions: the rms Brownian step {step:.3g} m is below "
                              f"1e-5 of the coordinates ({extent:.3g} m); use float64",
                              RuntimeWarning, stacklevel=2)

    # --- field upload ------------------------------------------------------------------
    def _prepare(self, grid: GridFields):
        """(nodes, mask, use_mask, origin, inv_h) as arrays of the backend."""
        if self.internal_states is None:
            nodes = grid.node_records(self.grad_d, self.external_force, self.field_dtype, with_inside=True)
        else:
            nodes = grid.state_node_records(self.internal_states, self.field_dtype)
        mask = grid.mask_array(self.field_dtype)
        use_mask = mask is not None
        if mask is None:
            mask = np.zeros((2, 2, 2), dtype=self.dtype)  # never read
        if self.backend == "gpu":
            import cupy

            nodes, mask = cupy.asarray(nodes), cupy.asarray(mask)
        return nodes, mask, use_mask, grid.origin.copy(), 1.0 / grid.spacing

    def fields_at(self, t: float) -> tuple:
        """The sampling arrays at time ``t`` as the kernels take them: (corner records,
        mask, whether the mask is used, grid origin, inverse spacing), on this tracker's
        backend (for calling a kernel directly, e.g. in a benchmark)."""
        if self._static is not None:
            return self._static
        return self._prepare(self.fields.at(t))

    def _to_backend(self, state: ParticleState) -> None:
        if self.internal_states is not None and state.internal_state is None:
            state.internal_state = self.equilibrium_internal_states(state)
        if state.positions.dtype != self.dtype:
            state.positions = state.positions.astype(self.dtype)
        if self.backend == "gpu":
            import cupy

            if not state.on_gpu:
                state.positions = cupy.ascontiguousarray(cupy.asarray(state.positions))
                state.ids = cupy.asarray(state.ids)
                state.status = cupy.asarray(state.status)
            if state.internal_state is not None:
                state.internal_state = cupy.ascontiguousarray(cupy.asarray(state.internal_state, dtype=cupy.int8))
        else:
            state.positions = np.ascontiguousarray(to_numpy(state.positions), dtype=np.float64)
            state.ids = np.ascontiguousarray(to_numpy(state.ids), dtype=np.uint64)
            state.status = np.ascontiguousarray(to_numpy(state.status), dtype=np.int8)
            if state.internal_state is not None:
                state.internal_state = np.ascontiguousarray(to_numpy(state.internal_state), dtype=np.int8)

    def equilibrium_internal_states(self, state: ParticleState) -> np.ndarray:
        """Internal states drawn from the local equilibrium ``p_i(T(X))`` at the particles'
        positions (T trilinear from the nodes, at ``state.time``); keyed by (seed, id)."""
        if self.internal_states is None:
            raise ValueError("this tracker has no internal-state model")
        grid = self.fields.at(state.time) if isinstance(self.fields, FieldSeries) else self.fields
        T = trilinear(grid.temperature, grid.origin, grid.spacing, state.points())
        populations = np.array(self.internal_states.populations(T), dtype=np.float64)
        return draw_internal_states(populations, to_numpy(state.ids), self.seed)

    def _launch(self, state: ParticleState, prepared, n_steps: int) -> None:
        nodes, _, _, origin, inv_h = prepared
        fields_and_walls = (nodes, origin, inv_h, self.box_lower, self.box_upper, self.face_kind, self.sticking)
        if self.internal_states is not None:
            self._launch_states(state, prepared, n_steps)
        elif self.backend == "gpu":
            from .kernels_gpu import advance_gpu

            advance_gpu(state.positions, state.status, state.ids, *fields_and_walls, self.seed, state.step,
                        n_steps, self.dt, self.scheme == "heun", self.grad_d == "trilinear")
        else:
            with in_grid_order(state, origin, inv_h, nodes.shape[:3]) as active:
                kernels_cpu.advance_cpu(active.positions, active.status, active.ids, *fields_and_walls,
                                        np.uint64(self.seed), np.uint64(state.step), np.int64(n_steps),
                                        np.float64(self.dt), self.scheme == "heun", self.grad_d == "trilinear")

    def _launch_states(self, state: ParticleState, prepared, n_steps: int) -> None:
        records, mask, use_mask, origin, inv_h = prepared
        rates = self._rates
        force = np.zeros(3) if self.external_force is None else self.external_force
        fields_and_walls = (records, mask, use_mask, origin, inv_h, self.box_lower, self.box_upper,
                            self.face_kind, self.sticking)
        tables = (rates.prefactor, rates.activation, rates.log_weight, rates.level, rates.component)
        if self.backend == "gpu":
            import cupy

            from .kernels_gpu import advance_states_gpu

            if self._device_tables is None:
                self._device_tables = tuple(cupy.asarray(table) for table in tables)
            advance_states_gpu(state.positions, state.status, state.internal_state, state.ids, *fields_and_walls,
                               self.seed, state.step, n_steps, self.dt, self.scheme == "heun",
                               self.grad_d == "trilinear", rates.n_states, *self._device_tables,
                               force / BOLTZMANN)
        else:
            with in_grid_order(state, origin, inv_h, records.shape[:3]) as active:
                kernels_cpu.advance_states_cpu(active.positions, active.status, active.internal_state, active.ids,
                                               *fields_and_walls, np.uint64(self.seed), np.uint64(state.step),
                                               np.int64(n_steps), np.float64(self.dt), self.scheme == "heun",
                                               self.grad_d == "trilinear", np.int64(rates.n_states), *tables,
                                               force / BOLTZMANN)

    # --- public ----------------------------------------------------------------------
    def advance(self, state: ParticleState, n_steps: int, recorder=None) -> AdvanceReport:
        """Advance ``state`` in place by ``n_steps`` steps; returns an :class:`AdvanceReport`.

        The state moves to the backend's memory (CuPy arrays on the GPU) and stays there;
        ``state.to_host()`` brings it back. A ``TrajectoryRecorder`` records every
        ``recorder.every`` steps.
        """
        n_steps = int(n_steps)
        if n_steps < 0:
            raise ValueError("n_steps must be non-negative")
        self._to_backend(state)
        status0 = to_numpy(state.status)
        active0 = int(np.count_nonzero(status0 == 0))
        invalid0 = int(np.count_nonzero(status0 == INVALID))
        if recorder is not None and not recorder.frames:
            recorder.record(state)
        start = _time.perf_counter()
        remaining = n_steps
        while remaining > 0:
            chunk = remaining
            if self.backend == "gpu":
                chunk = min(chunk, self.steps_per_launch)
            if recorder is not None:
                chunk = min(chunk, recorder.every - state.step % recorder.every)
            if self._static is None:
                chunk = min(chunk, self.field_update_steps)
            prepared = self.fields_at(state.time + 0.5 * chunk * self.dt)
            self._launch(state, prepared, chunk)
            state.step += chunk
            state.time += chunk * self.dt
            remaining -= chunk
            if recorder is not None and state.step % recorder.every == 0:
                recorder.record(state)
        if self.backend == "gpu":
            import cupy

            cupy.cuda.get_current_stream().synchronize()
        wall = _time.perf_counter() - start
        counts = state.counts()
        invalid_new = counts["invalid"] - invalid0
        if invalid_new:
            warnings.warn(f"particle tracker: {invalid_new} particle(s) produced a non-finite "
                          "position and were stopped (NaN guard); check the fields and dt",
                          RuntimeWarning, stacklevel=2)
        state_counts = None if self.internal_states is None else \
            [int(c) for c in state.state_counts(self.internal_states.size)]
        return AdvanceReport(n_steps=n_steps, wall_time_s=wall, particle_steps=active0 * n_steps,
                             invalid_new=invalid_new, counts=counts, state_counts=state_counts)
