"""Particle state: positions, ids, status, internal states, step counter (NumPy or CuPy arrays)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .kernels_cpu import ACTIVE, ADSORBED, ESCAPED, INVALID
from .rng import PURPOSE_INITIAL, PURPOSE_INITIAL_STATE, uniforms

STATUS_NAMES = {ACTIVE: "in_domain", ADSORBED: "adsorbed", ESCAPED: "escaped", INVALID: "invalid"}


def to_numpy(array) -> np.ndarray:
    """A NumPy view/copy of a NumPy or CuPy array."""
    if hasattr(array, "get") and not isinstance(array, np.ndarray):
        return array.get()
    return np.asarray(array)


def local_batch(n_total: int, rank: int, size: int) -> tuple[int, int]:
    """(count, id_offset) of this rank's share of ``n_total`` particles.

    Random numbers are keyed by particle id, so ranks tracking their batches reproduce a
    serial run exactly (gather with :meth:`ParticleState.concatenate`).
    """
    base, extra = divmod(int(n_total), int(size))
    count = base + (1 if rank < extra else 0)
    return count, rank * base + min(rank, extra)


@dataclass
class ParticleState:
    """N point particles.

    ``positions`` is (3, N) (structure of arrays: coalesced on GPUs), ``ids`` the uint64
    global particle ids that key the random numbers, ``status`` int8 (ACTIVE, ADSORBED,
    ESCAPED, INVALID), ``step`` the global step counter (also part of the RNG counter, so
    ``advance(n); advance(m)`` equals ``advance(n + m)``), ``time`` in s, and
    ``internal_state`` the int8 index of each particle's internal state (None: the
    particles have none; a tracker with an internal-state model draws them from the local
    equilibrium on its first advance, :meth:`.Tracker.equilibrium_internal_states`).
    """

    positions: np.ndarray
    ids: np.ndarray
    status: np.ndarray
    step: int = 0
    time: float = 0.0
    internal_state: np.ndarray | None = None

    @classmethod
    def from_points(cls, points: np.ndarray, id_offset: int = 0, dtype=np.float64,
                    ids: np.ndarray | None = None) -> "ParticleState":
        """Particles at ``points`` (N x 3) with ids ``id_offset, id_offset + 1, ...``."""
        points = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        n = points.shape[0]
        if ids is None:
            ids = np.arange(id_offset, id_offset + n, dtype=np.uint64)
        return cls(positions=np.ascontiguousarray(points.T, dtype=dtype),
                   ids=np.ascontiguousarray(ids, dtype=np.uint64),
                   status=np.zeros(n, dtype=np.int8))

    @classmethod
    def uniform(cls, n: int, lower: Sequence[float], upper: Sequence[float], seed: int,
                id_offset: int = 0, dtype=np.float64) -> "ParticleState":
        """n particles uniform in the box; particle i's position depends on (seed, id) only,
        so splitting a population into batches (``id_offset``) reproduces it exactly."""
        ids = np.arange(id_offset, id_offset + n, dtype=np.uint64)
        u = uniforms(ids, step=0, seed=seed, purpose=PURPOSE_INITIAL)[:3]
        lower = np.asarray(lower, dtype=np.float64).reshape(3, 1)
        upper = np.asarray(upper, dtype=np.float64).reshape(3, 1)
        positions = lower + (upper - lower) * u
        return cls(positions=np.ascontiguousarray(positions, dtype=dtype), ids=ids,
                   status=np.zeros(n, dtype=np.int8))

    @property
    def n(self) -> int:
        return int(self.ids.shape[0])

    @property
    def on_gpu(self) -> bool:
        return not isinstance(self.positions, np.ndarray)

    def points(self) -> np.ndarray:
        """Positions as an (N, 3) NumPy array."""
        return to_numpy(self.positions).T.copy()

    def counts(self) -> dict[str, int]:
        """Particles in the domain, adsorbed, escaped, invalid (NaN guard) and in total."""
        status = to_numpy(self.status)
        counts = {name: int(np.count_nonzero(status == code)) for code, name in STATUS_NAMES.items()}
        counts["total"] = int(status.size)
        return counts

    def state_counts(self, n_states: int) -> np.ndarray:
        """In-domain particles in each internal state, shape (n_states,)."""
        if self.internal_state is None:
            raise ValueError("these particles carry no internal state")
        active = to_numpy(self.status) == ACTIVE
        return np.bincount(to_numpy(self.internal_state)[active].astype(np.int64), minlength=n_states)

    def copy(self) -> "ParticleState":
        return ParticleState(self.positions.copy(), self.ids.copy(), self.status.copy(),
                             self.step, self.time,
                             None if self.internal_state is None else self.internal_state.copy())

    def to_host(self) -> "ParticleState":
        """A NumPy copy (no-op copy if already on the host)."""
        internal = None if self.internal_state is None else to_numpy(self.internal_state).copy()
        return ParticleState(to_numpy(self.positions).copy(), to_numpy(self.ids).copy(),
                             to_numpy(self.status).copy(), self.step, self.time, internal)

    def concatenate(self, other: "ParticleState") -> "ParticleState":
        """Two batches on the host as one state (same step and time required)."""
        if other.step != self.step:
            raise ValueError("batches must be at the same step")
        if (self.internal_state is None) != (other.internal_state is None):
            raise ValueError("either both batches carry internal states or neither")
        a, b = self.to_host(), other.to_host()
        internal = None if a.internal_state is None else np.concatenate([a.internal_state, b.internal_state])
        return ParticleState(np.concatenate([a.positions, b.positions], axis=1),
                             np.concatenate([a.ids, b.ids]), np.concatenate([a.status, b.status]),
                             self.step, self.time, internal)


def draw_internal_states(populations: np.ndarray, ids: np.ndarray, seed: int) -> np.ndarray:
    """int8 states drawn from per-particle probabilities ``populations`` (n_states, N);
    particle i's draw depends on (seed, id) only (one PURPOSE_INITIAL_STATE uniform)."""
    populations = np.asarray(populations, dtype=np.float64)
    u = uniforms(np.asarray(ids, dtype=np.uint64), step=0, seed=seed, purpose=PURPOSE_INITIAL_STATE)[0]
    cumulative = np.cumsum(populations, axis=0)
    cumulative /= cumulative[-1]
    states = np.sum(u[None, :] >= cumulative[:-1], axis=0)
    return states.astype(np.int8)
