"""Progress messages: rank 0 alone prints under MPI."""

from __future__ import annotations

import sys
import time

from mpi4py import MPI

_quiet = False


def set_quiet(quiet: bool) -> None:
    global _quiet
    _quiet = quiet


def info(message: str) -> None:
    if not _quiet and MPI.COMM_WORLD.rank == 0:
        print(message, flush=True)


def warn(message: str) -> None:
    if MPI.COMM_WORLD.rank == 0:
        print(f"warning: {message}", file=sys.stderr, flush=True)


class Progress:
    """Reports a long loop about ``updates`` times, with elapsed time and a status."""

    def __init__(self, label: str, total: int, updates: int = 10):
        self.label, self.total = label, total
        self.every = max(1, total // updates)
        self.start = time.perf_counter()

    def update(self, done: int, status: str = "") -> None:
        if done % self.every == 0 or done == self.total:
            elapsed = time.perf_counter() - self.start
            info(f"  {self.label} {done}/{self.total}  ({elapsed:.1f} s){'  ' + status if status else ''}")


class Timer:
    """Named wall-clock timings for summary.json."""

    def __init__(self):
        self.times: dict[str, float] = {}

    def __call__(self, name: str):
        timer = self

        class _Section:
            def __enter__(self):
                self.start = time.perf_counter()

            def __exit__(self, *exc):
                timer.times[name] = timer.times.get(name, 0.0) + time.perf_counter() - self.start

        return _Section()
