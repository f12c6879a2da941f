"""Checkpoints of long time loops, and a clean stop on SIGTERM/SIGINT.

A run started by :func:`thermocfd.pipelines.run_case` holds a :class:`Checkpoints`
session (:func:`active`). A time loop asks it for a saved state and reports every
completed step::

    with checkpoint.active().loop("transport_transient") as loop:
        if loop.restored is not None:      # --resume found a checkpoint of this loop
            step = loop.restored.step
            restore_functions({"w": w}, loop.restored.arrays)
        for step in range(step + 1, steps + 1):
            ...advance...
            loop.completed(step, time, lambda: (function_arrays({"w": w}), {"done": ...}))

``completed`` writes a checkpoint when ``output.checkpoint_interval`` seconds of wall time
have passed, every ``output.checkpoint_steps`` steps, and when a stop signal arrived, then
raises :class:`Interrupted` in that last case. Outside a loop a signal stops the run at
once (nothing to save). Outside ``run_case`` (the Python API) :func:`active` is a session
that never writes.

On disk: ``OUT/checkpoints/NNNNNN/rankRRRR.npz`` (each rank's arrays, e.g. the
owned + ghost dof values of its Functions) and ``manifest.json`` (step, time, loop name,
the small rank-independent values, case fingerprint, MPI size, version), every file
written to a temporary name, fsynced and renamed; the manifest last, after a barrier, so
a directory without one is incomplete and ignored. The last two complete checkpoints are
kept. Resuming needs the same case (the fingerprint ignores output-only keys), the same
MPI size and the same mesh partition (the dof coordinates are compared), which the same
case on the same machine gives.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
from mpi4py import MPI

from . import __version__, log
from .errors import ThermocfdError
from .output import atomic_file, write_atomic

KEEP = 2
DIRECTORY = "checkpoints"
MANIFEST = "manifest.json"
# inputs that change what is written, not what is computed
_OUTPUT_ONLY = ("output", "pictures")


class Interrupted(ThermocfdError):
    """The run was stopped by SIGTERM/SIGINT; ``checkpoint`` is where it can resume from
    (None: stopped before a time loop had anything to save)."""

    def __init__(self, message: str, checkpoint: Path | None = None):
        super().__init__(message)
        self.checkpoint = checkpoint


class CheckpointMismatch(ThermocfdError):
    """A checkpoint that belongs to another case, MPI size, mesh or version (bad input)."""


@dataclass
class Checkpoint:
    """A complete checkpoint as read back on one rank."""

    path: Path
    stage: str
    step: int
    time: float
    values: dict  # rank-independent, JSON-able (from the manifest)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)  # this rank's


def fingerprint(case) -> str:
    """Hash of the resolved inputs that change the computed state."""
    inputs = {key: value for key, value in case.to_dict().items() if key not in _OUTPUT_ONLY}
    inputs["case"] = {"kind": case.kind}  # name and description are labels
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:16]


def _complete(root: Path) -> list[Path]:
    """Checkpoint directories that hold a manifest, oldest first."""
    if not root.is_dir():
        return []
    found = [path for path in root.iterdir() if path.name.isdigit() and (path / MANIFEST).is_file()]
    return sorted(found, key=lambda path: int(path.name))


def latest(out_dir: str | Path) -> Path | None:
    """The newest complete checkpoint of a run's output directory, or None."""
    done = _complete(Path(out_dir) / DIRECTORY)
    return done[-1] if done else None


def _fsync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    with atomic_file(path, binary=True) as handle:
        np.savez(handle, **arrays)


def _dof_checksum(function) -> str:
    """Identifies this rank's dof layout of a Function's space: a resumed run must put
    every stored value back on the same dof (same mesh, same partition)."""
    space = function.function_space
    cell_dofs = space.dofmap.list
    cell_dofs = getattr(cell_dofs, "array", cell_dofs)  # an AdjacencyList in dolfinx 0.5, an array later
    checksum = hashlib.sha256(np.ascontiguousarray(space.mesh.geometry.x).tobytes())
    checksum.update(np.ascontiguousarray(cell_dofs).tobytes())  # mixed spaces have no dof coordinates
    return checksum.hexdigest()


def function_arrays(functions: dict) -> dict[str, np.ndarray]:
    """Arrays to checkpoint dolfinx Functions by name: owned + ghost values and a
    checksum of their dof coordinates."""
    out = {}
    for name, function in functions.items():
        out[name] = function.x.array.copy()
        out[f"{name}.dofs"] = np.array(_dof_checksum(function))
    return out


def restore_functions(functions: dict, arrays: dict[str, np.ndarray]) -> None:
    """Put checkpointed values back into the Functions (refusing another mesh layout)."""
    for name, function in functions.items():
        values = arrays[name]
        if values.shape != function.x.array.shape or str(arrays[f"{name}.dofs"]) != _dof_checksum(function):
            raise CheckpointMismatch(f"the checkpoint's {name!r} was written on another mesh or partition; "
                                     "resume with the same case file, mesh and MPI size, or start afresh "
                                     "without --resume")
        function.x.array[:] = values


# --- signals -----------------------------------------------------------------------------------
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class _Signals:
    """SIGTERM/SIGINT: a flag while a loop can checkpoint, an immediate stop otherwise."""

    def __init__(self):
        self.received: int | None = None
        self.armed = False

    def handle(self, number, frame) -> None:
        self.received = number
        if not self.armed:
            raise Interrupted(f"stopped by {signal.Signals(number).name} before any checkpoint was written; "
                              "run it again (--resume starts from scratch)")


@contextlib.contextmanager
def stop_on_signals(signals: "_Signals") -> Iterator[None]:
    """Route SIGTERM and SIGINT to ``signals`` inside the block (main thread only: Python
    delivers signals there, and another thread cannot install handlers)."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.signal(number, signals.handle) for number in _STOP_SIGNALS}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


# --- the session -------------------------------------------------------------------------------
class Checkpoints:
    """The checkpoints of one run: when to write them, where, and what to resume from.

    ``interval_s``: wall-clock seconds between checkpoints (0: only on a signal);
    ``every_steps``: also every this many steps (None: not by count); ``resume``: restore
    the newest complete checkpoint of ``out_dir`` when a loop of its name starts.
    ``enabled=False`` gives a session that restores and writes nothing (the Python API
    outside ``run_case``).
    """

    def __init__(self, out_dir: str | Path, case=None, *, interval_s: float = 600.0,
                 every_steps: int | None = None, resume: bool = False, enabled: bool = True,
                 comm: MPI.Comm = MPI.COMM_WORLD):
        self.root = Path(out_dir) / DIRECTORY
        self.comm = comm
        self.enabled = enabled
        self.interval_s = float(interval_s)
        self.every_steps = every_steps
        self.signals = _Signals()
        self.fingerprint = fingerprint(case) if enabled and case is not None else ""
        self.resume_from: Path | None = None
        self._number = 0
        if not enabled:
            return
        done = _complete(self.root) if comm.rank == 0 else None
        done = comm.bcast(done, root=0)
        if self.root.is_dir() and comm.rank == 0:
            numbers = [int(path.name) for path in self.root.iterdir() if path.name.isdigit()]
            self._number = max(numbers, default=0)
        self._number = comm.bcast(self._number, root=0)
        if resume:
            if done:
                self.resume_from = done[-1]
                self._check(self._manifest(self.resume_from))
                log.info(f"resume: from checkpoint {self.resume_from}")
            else:
                log.info(f"resume: no complete checkpoint in {self.root}; starting from scratch")

    @classmethod
    def for_case(cls, case, out_dir: str | Path, resume: bool = False) -> "Checkpoints":
        """The session of a case's run, set by its ``[output]`` keys."""
        return cls(out_dir, case, interval_s=case.output.checkpoint_interval,
                   every_steps=case.output.checkpoint_steps, resume=resume)

    @staticmethod
    def _manifest(path: Path) -> dict:
        return json.loads((path / MANIFEST).read_text())

    def _check(self, manifest: dict) -> None:
        where = self.resume_from
        if manifest.get("fingerprint") != self.fingerprint:
            raise CheckpointMismatch(f"{where} belongs to another case (different inputs): resume with the "
                                     "case and --set values it was written with, or run without --resume "
                                     "(or with another --out)")
        if manifest.get("mpi_size") != self.comm.size:
            raise CheckpointMismatch(f"{where} was written by {manifest.get('mpi_size')} MPI rank(s); resume "
                                     f"with mpirun -n {manifest.get('mpi_size')} (this run has {self.comm.size})")
        if manifest.get("version") != __version__:
            raise CheckpointMismatch(f"{where} was written by thermocfd {manifest.get('version')}, this is "
                                     f"{__version__}: run without --resume")

    @contextlib.contextmanager
    def loop(self, stage: str) -> Iterator["Loop"]:
        """A checkpointed time loop named ``stage``; stop signals wait for its next step."""
        current = Loop(self, stage, self._restore(stage))
        self.signals.armed = self.enabled
        try:
            yield current
        finally:
            self.signals.armed = False

    def _restore(self, stage: str) -> Checkpoint | None:
        if self.resume_from is None:
            return None
        manifest = self._manifest(self.resume_from)
        if manifest["stage"] != stage:
            return None
        with np.load(self.resume_from / f"rank{self.comm.rank:04d}.npz") as data:
            arrays = {name: data[name] for name in data.files}
        log.info(f"resume: {stage} from step {manifest['step']} (t = {manifest['time']:.6g} s)")
        path, self.resume_from = self.resume_from, None  # a later loop of the same name starts afresh
        return Checkpoint(path, manifest["stage"], manifest["step"], manifest["time"], manifest["values"], arrays)

    def save(self, stage: str, step: int, time_s: float, arrays: dict[str, np.ndarray], values: dict) -> Path:
        """Write one checkpoint (collective): every rank its arrays, rank 0 the manifest
        after all are on disk, then drop all but the newest :data:`KEEP`."""
        self._number += 1
        path = self.root / f"{self._number:06d}"
        if self.comm.rank == 0:
            path.mkdir(parents=True, exist_ok=True)
        self.comm.barrier()
        _write_npz(path / f"rank{self.comm.rank:04d}.npz", arrays)
        self.comm.barrier()
        if self.comm.rank == 0:
            manifest = {"stage": stage, "step": int(step), "time": float(time_s), "values": values,
                        "fingerprint": self.fingerprint, "mpi_size": self.comm.size, "version": __version__,
                        "written": time.strftime("%Y-%m-%dT%H:%M:%S")}
            write_atomic(path / MANIFEST, json.dumps(manifest) + "\n")
            _fsync_directory(path)
            self._prune()
        self.comm.barrier()
        return path

    def _prune(self) -> None:
        """Keep the newest KEEP complete checkpoints; older ones, complete or not, go."""
        done = _complete(self.root)
        if len(done) <= KEEP:
            return
        oldest_kept = int(done[-KEEP].name)
        for path in self.root.iterdir():
            if path.name.isdigit() and int(path.name) < oldest_kept:
                shutil.rmtree(path, ignore_errors=True)

    def discard(self) -> None:
        """Remove the checkpoints of a run that finished (nothing is left to resume)."""
        if self.enabled and self.comm.rank == 0 and self.root.is_dir():
            shutil.rmtree(self.root, ignore_errors=True)
        self.comm.barrier()


class Loop:
    """One checkpointed time loop (see :meth:`Checkpoints.loop`)."""

    def __init__(self, session: Checkpoints, stage: str, restored: Checkpoint | None):
        self.session = session
        self.stage = stage
        self.restored = restored
        self._last = time.monotonic()

    def steps_to_checkpoint(self, step: int) -> int:
        """Steps from ``step`` to the next checkpoint by count, for a loop that advances
        many steps per call (it stops there); a large number when none is due by count."""
        every = self.session.every_steps
        if not self.session.enabled or every is None:
            return sys.maxsize
        return every - step % every

    def completed(self, step: int, time_s: float,
                  state: Callable[[], tuple[dict[str, np.ndarray], dict]]) -> None:
        """After step ``step`` (time ``time_s``): checkpoint ``state()`` (this rank's
        arrays, rank-independent values) when due; after a stop signal, raise
        :class:`Interrupted` once it is written."""
        session = self.session
        if not session.enabled:
            return
        stop = session.signals.received is not None
        by_steps = session.every_steps is not None and step % session.every_steps == 0
        by_time = session.interval_s > 0 and time.monotonic() - self._last >= session.interval_s
        if session.comm.size > 1:
            # every rank must take the same decision (the save is collective); clocks and
            # signal arrival differ between ranks
            flags = session.comm.allreduce(int(stop) | int(by_steps) << 1 | int(by_time) << 2, op=MPI.BOR)
            stop, by_steps, by_time = bool(flags & 1), bool(flags & 2), bool(flags & 4)
        if not (stop or by_steps or by_time):
            return
        arrays, values = state()
        path = session.save(self.stage, step, time_s, arrays, values)
        self._last = time.monotonic()
        if stop:
            name = signal.Signals(session.signals.received).name if session.signals.received else "a signal"
            raise Interrupted(f"stopped by {name} at step {step} (t = {time_s:.6g} s); checkpoint {path}",
                              checkpoint=path)


_active = Checkpoints(".", enabled=False)


def active() -> Checkpoints:
    """The running case's session (one that writes nothing outside ``run_case``)."""
    return _active


@contextlib.contextmanager
def session(checkpoints: Checkpoints) -> Iterator[Checkpoints]:
    """Make ``checkpoints`` the active session and route stop signals to it."""
    global _active
    previous, _active = _active, checkpoints
    try:
        with stop_on_signals(checkpoints.signals):
            yield checkpoints
    finally:
        _active = previous
