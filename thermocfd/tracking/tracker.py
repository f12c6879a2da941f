"""The one interface to both kernels: ``Tracker(fields, dt, ...).advance(state, n_steps)``."""

from __future__ import annotations

import time as _time
import warnings
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from ..errors import SolverError
from . import kernels_cpu
from .backend import select_backend
from .fields import GRAD_D_MODES, FieldSeries, GridFields
from .kernels_cpu import FACE_ADSORB, FACE_OPEN, FACE_REFLECT, INVALID
from .state import ParticleState, to_numpy

FACE_NAMES = ("x-", "x+", "y-", "y+", "z-", "z+")
FACE_KINDS = {"reflect": FACE_REFLECT, "adsorb": FACE_ADSORB, "open": FACE_OPEN}
SCHEMES = ("euler", "heun")


@dataclass
class AdvanceReport:
    """What one :meth:`Tracker.advance` did."""

    n_steps: int
    wall_time_s: float
    particle_steps: int  # active particles at the start times steps
    invalid_new: int  # particles stopped by the NaN guard during this call
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def particle_steps_per_s(self) -> float:
        return self.particle_steps / self.wall_time_s if self.wall_time_s > 0 else float("inf")


def suggest_time_step(fields: GridFields, fraction: float = 0.5) -> float:
    """A dt whose rms diffusive step and largest drift step are ``fraction`` of the finest
    grid spacing (so a step samples the fields cell by cell)."""
    fields.check_finite()
    h = float(np.min(fields.spacing))
    d_max = float(np.max(fields.diffusivity))
    drift = fields.node_records("grid")[..., :3]
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


class Tracker:
    """Brownian point particles in sampled fields (Ito SDE of DESIGN.md).

    ``dX = [u - D_T grad T + grad D + F_ext/zeta] dt + sqrt(2 D) dW`` with
    ``zeta = k_B T / D``, in the box ``[box_lower, box_upper]`` (default: the grid).

    Parameters: ``fields`` (:class:`GridFields` or a :class:`FieldSeries`), time step
    ``dt`` (s); ``backend`` ``"auto" | "cpu" | "gpu"``; ``dtype`` float64 or float32
    (state and fields on the GPU; the CPU backend always uses float64); ``scheme``
    ``"euler"`` (Euler-Maruyama) or ``"heun"`` (predictor-corrector on the drift);
    ``grad_d`` one of :data:`.fields.GRAD_D_MODES`; ``external_force`` (N, constant,
    e.g. :func:`.fields.buoyant_weight`); ``walls`` a face kind ``"reflect" | "adsorb" |
    "open"`` for all faces, six of them, or a mapping ``{"x-": ..., "z+": ...}``;
    ``sticking_probability`` for adsorbing faces (one value, six, or a mapping);
    ``seed`` keys the random numbers; ``steps_per_launch`` caps the steps fused into one
    GPU launch; ``field_update_steps``: how often a FieldSeries is re-blended.
    """

    def __init__(self, fields: GridFields | FieldSeries, dt: float, *, backend: str = "auto",
                 dtype=np.float64, scheme: str = "euler", grad_d: str = "trilinear",
                 external_force: Sequence[float] | None = None,
                 box_lower: Sequence[float] | None = None, box_upper: Sequence[float] | None = None,
                 walls: str | Sequence[str] | Mapping[str, str] = "reflect",
                 sticking_probability: float | Sequence[float] | Mapping[str, float] = 1.0,
                 seed: int = 0, steps_per_launch: int = 200, field_update_steps: int = 10):
        if not dt > 0:
            raise ValueError(f"time step must be positive, got {dt}")
        if scheme not in SCHEMES:
            raise ValueError(f"scheme must be one of {SCHEMES}, got {scheme!r}")
        if grad_d not in GRAD_D_MODES:
            raise ValueError(f"grad_d must be one of {GRAD_D_MODES}, got {grad_d!r}")
        if np.dtype(dtype) not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise ValueError("dtype must be float32 or float64")
        self.fields = fields
        self.dt = float(dt)
        self.backend = select_backend(backend)
        # The CPU kernel works in double precision whatever is asked (float32 would save
        # neither time nor memory traffic that matters there, and one numba specialisation
        # keeps the compile time down); float32 is a GPU option.
        self.dtype = np.dtype(dtype) if self.backend == "gpu" else np.dtype(np.float64)
        self.scheme = scheme
        self.grad_d = grad_d
        self.external_force = None if external_force is None else \
            np.asarray(external_force, dtype=np.float64).reshape(3)
        grid = fields.snapshots[0] if isinstance(fields, FieldSeries) else fields
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
            step = np.sqrt(2.0 * float(np.min(grid.diffusivity)) * self.dt)
            extent = float(np.max(np.abs(np.concatenate([self.box_lower, self.box_upper]))))
            if step < 1e-5 * extent:
                warnings.warn(f"float32 positions: the rms Brownian step {step:.3g} m is below "
                              f"1e-5 of the coordinates ({extent:.3g} m); use float64",
                              RuntimeWarning, stacklevel=2)

    # --- field upload ------------------------------------------------------------------
    def _prepare(self, grid: GridFields):
        """(nodes, mask, use_mask, origin, inv_h) as arrays of the backend."""
        nodes = grid.node_records(self.grad_d, self.external_force, self.dtype)
        mask = grid.mask_array(self.dtype)
        use_mask = mask is not None
        if mask is None:
            mask = np.zeros((2, 2, 2), dtype=self.dtype)  # never read
        if self.backend == "gpu":
            import cupy

            nodes, mask = cupy.asarray(nodes), cupy.asarray(mask)
        return nodes, mask, use_mask, grid.origin.copy(), 1.0 / grid.spacing

    def _fields_at(self, t: float):
        if self._static is not None:
            return self._static
        return self._prepare(self.fields.at(t))

    def _to_backend(self, state: ParticleState) -> None:
        if state.positions.dtype != self.dtype:
            state.positions = state.positions.astype(self.dtype)
        if self.backend == "gpu" and not state.on_gpu:
            import cupy

            state.positions = cupy.ascontiguousarray(cupy.asarray(state.positions))
            state.ids = cupy.asarray(state.ids)
            state.status = cupy.asarray(state.status)
        elif self.backend == "cpu":
            state.positions = np.ascontiguousarray(to_numpy(state.positions), dtype=np.float64)
            state.ids = np.ascontiguousarray(to_numpy(state.ids), dtype=np.uint64)
            state.status = np.ascontiguousarray(to_numpy(state.status), dtype=np.int8)

    def _launch(self, state: ParticleState, prepared, n_steps: int) -> None:
        nodes, mask, use_mask, origin, inv_h = prepared
        args = (state.positions, state.status, state.ids, nodes, mask, use_mask, origin, inv_h,
                self.box_lower, self.box_upper, self.face_kind, self.sticking)
        if self.backend == "gpu":
            from .kernels_gpu import advance_gpu

            advance_gpu(*args, self.seed, state.step, n_steps, self.dt,
                        self.scheme == "heun", self.grad_d == "trilinear")
        else:
            kernels_cpu.advance_cpu(*args, np.uint64(self.seed), np.uint64(state.step),
                                    np.int64(n_steps), np.float64(self.dt),
                                    self.scheme == "heun", self.grad_d == "trilinear")

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
            prepared = self._fields_at(state.time + 0.5 * chunk * self.dt)
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
        return AdvanceReport(n_steps=n_steps, wall_time_s=wall, particle_steps=active0 * n_steps,
                             invalid_new=invalid_new, counts=counts)
