"""Time-dependent factors: a laser switched on and off, a wall temperature stepped or ramped.

A :class:`Schedule` is a piecewise-linear function of time built from a list of entries
``[time, level]`` or ``[time, level, {"ramp": seconds}]`` (times in s, already converted
from units by the caller; levels ``"on"`` = 1, ``"off"`` = 0, booleans, or numbers)::

    [[0.0, "off"], [5.0, "on", {"ramp": 0.1}], [35.0, "off"]]

Semantics:

- before the first entry the first level holds; after the last, the last level;
- at an entry's time the value changes from the previous level to the entry's level:
  a jump (right-continuous: ``value(t_i)`` is the new level, ``value(t_i, side="left")``
  the old one), or, with a ramp of ``r`` seconds, linearly over ``[t_i, t_i + r]``;
- a ramp must end no later than the next entry's time; the first entry has no earlier
  level to ramp from, so an explicit ramp there is an error.

A default ramp for every change of level can be given to :meth:`Schedule.from_entries`;
an entry's own ``{"ramp": ...}`` overrides it. :meth:`Schedule.breakpoints` lists the
times where the value jumps or a ramp starts or ends, and :func:`step_times` makes a time
grid that lands on them, so a time stepper never integrates across a kink.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

import numpy as np

_NAMED_LEVELS = {"on": 1.0, "off": 0.0}
_OPTION_KEYS = ("ramp",)


@dataclass(frozen=True)
class Schedule:
    """A piecewise-linear level of time: jumps or ramps at ``times`` (see module doc)."""

    times: tuple[float, ...]
    levels: tuple[float, ...]
    ramps: tuple[float, ...]  # seconds; 0 = jump; ramps[0] is always 0

    def __post_init__(self) -> None:
        _check(self.times, self.levels, self.ramps, lambda i: f"schedule entry {i} (t = {self.times[i]!r} s)")

    @classmethod
    def constant(cls, level: float | str | bool = 1.0) -> "Schedule":
        """The same level at all times."""
        return cls((0.0,), (_parse_level(level, "constant schedule"),), (0.0,))

    @classmethod
    def from_entries(cls, entries: Sequence, ramp: float = 0.0) -> "Schedule":
        """Parse ``[[t, level], [t, level, {"ramp": r}], ...]``; ``ramp`` is the default
        ramp (s) of every change of level after the first entry. Raises ValueError naming
        the offending entry."""
        if isinstance(entries, (str, bytes)) or not isinstance(entries, Sequence) or len(entries) == 0:
            raise ValueError(f"a schedule is a non-empty list of [time, level] entries, got {entries!r}")
        if not _is_number(ramp) or not math.isfinite(ramp) or ramp < 0.0:
            raise ValueError(f"default ramp {ramp!r} s must be a finite number >= 0")
        times, levels, ramps = [], [], []
        for i, entry in enumerate(entries):
            where = f"schedule entry {i} ({entry!r})"
            if isinstance(entry, (str, bytes)) or not isinstance(entry, Sequence) or len(entry) not in (2, 3):
                raise ValueError(f"{where}: expected [time, level] or [time, level, {{\"ramp\": seconds}}]")
            if not _is_number(entry[0]):
                raise ValueError(f"{where}: time {entry[0]!r} is not a number of seconds")
            options = entry[2] if len(entry) == 3 else {}
            if not isinstance(options, dict):
                raise ValueError(f"{where}: the third item must be a table such as {{\"ramp\": 0.1}}")
            unknown = sorted(set(options) - set(_OPTION_KEYS))
            if unknown:
                raise ValueError(f"{where}: unknown option(s) {', '.join(map(repr, unknown))} "
                                 f"(allowed: {', '.join(_OPTION_KEYS)})")
            entry_ramp = options.get("ramp", ramp if i > 0 else 0.0)
            if not _is_number(entry_ramp):
                raise ValueError(f"{where}: ramp {entry_ramp!r} is not a number of seconds")
            times.append(float(entry[0]))
            levels.append(_parse_level(entry[1], where))
            ramps.append(float(entry_ramp))
        # checked here first so that the message quotes the entry as the user wrote it
        _check(times, levels, ramps, lambda i: f"schedule entry {i} ({entries[i]!r})")
        return cls(tuple(times), tuple(levels), tuple(ramps))

    def value(self, t: float, side: str = "right") -> float:
        """The level at time t; ``side="left"`` gives the limit from before t (differs
        from the default only at a jump: a step ending at a jump uses the old level)."""
        if side not in ("right", "left"):
            raise ValueError(f"side must be 'right' or 'left', got {side!r}")
        times = self.times
        i = int(np.searchsorted(times, t, side="right" if side == "right" else "left")) - 1
        if i < 0:
            return self.levels[0]
        previous = self.levels[i - 1] if i > 0 else self.levels[0]
        ramp = self.ramps[i]
        if ramp > 0.0 and t < times[i] + ramp:
            return previous + (self.levels[i] - previous) * (t - times[i]) / ramp
        return self.levels[i]

    def breakpoints(self, t_end: float, t_start: float = 0.0) -> list[float]:
        """Sorted times strictly inside (t_start, t_end) where the value jumps or a ramp
        starts or ends (entries that keep the level are left out)."""
        points = set()
        for i in range(1, len(self.times)):
            if self.levels[i] == self.levels[i - 1]:
                continue
            points.add(self.times[i])
            if self.ramps[i] > 0.0:
                points.add(self.times[i] + self.ramps[i])
        return sorted(p for p in points if t_start < p < t_end)


def bdf2_coefficients(ratio: float) -> tuple[float, float, float]:
    """Variable-step BDF2 weights ``(a0 u^{n+1} + a1 u^n + a2 u^{n-1}) / dt_n`` for the step
    ratio ``dt_n / dt_{n-1}`` (1: the constant-step 3/2, -2, 1/2; zero-stable below 1 + sqrt 2)."""
    w = float(ratio)
    return (1.0 + 2.0 * w) / (1.0 + w), -(1.0 + w), w * w / (1.0 + w)


def graded_step_times(times: np.ndarray, starts: Iterable[float], first_step: float,
                      growth: float = 1.5, keep: Iterable[float] = ()) -> np.ndarray:
    """Refine the first steps after each of ``starts`` (the start and where a source
    switches): steps from ``first_step`` growing geometrically by ``growth`` until they
    reach the step of ``times`` there, which then continues uniformly to the next of
    ``times`` where the step changes or that is in ``starts`` or ``keep`` (e.g. output
    times). The response right after a switch (a temperature jump within a thermal time)
    is resolved without small steps everywhere; growth 1.5 keeps variable-step BDF2
    zero-stable."""
    if not first_step > 0.0 or not 1.0 < growth < 1.0 + math.sqrt(2.0):
        raise ValueError(f"first_step = {first_step!r} must be > 0 and growth = {growth!r} in (1, 2.41)")
    times = np.asarray(times, dtype=float)
    tolerance = 1e-12 * (times[-1] - times[0])
    starts = sorted(float(t) for t in starts)
    stops = starts + [float(t) for t in keep]
    out = [times[0]]
    i = 0
    while i < len(times) - 1:
        a = times[i]
        if not any(abs(a - t) <= tolerance for t in starts):
            out.append(times[i + 1])
            i += 1
            continue
        # the uniform run [a, b] that follows a switch, up to the next change of step size
        j = i + 1
        step = times[i + 1] - a
        while j < len(times) - 1 and abs((times[j + 1] - times[j]) - step) <= 1e-9 * step \
                and not any(abs(times[j] - t) <= tolerance for t in stops):
            j += 1
        b = times[j]
        t, h = a, first_step
        while h < step and t + h + step < b - tolerance:
            t += h
            out.append(t)
            h *= growth
        count = max(1, math.ceil((b - t) / step - 1e-9))
        out.extend(np.linspace(t, b, count + 1)[1:])
        i = j
    return np.asarray(out)


def step_times(t_end: float, dt_max: float, breakpoints: Iterable[float] = (), t_start: float = 0.0) -> np.ndarray:
    """Time levels ``t_start = t0 < t1 < ... < tN = t_end`` with steps <= dt_max that
    contain every breakpoint inside (t_start, t_end) exactly; steps are uniform between
    consecutive breakpoints. Breakpoints closer than 1e-12 (t_end - t_start) to one
    already kept (or to t_end) are merged with it, so round-off never makes a sliver step."""
    for name, value in (("t_end", t_end), ("dt_max", dt_max), ("t_start", t_start)):
        if not _is_number(value) or not math.isfinite(value):
            raise ValueError(f"{name} = {value!r} must be a finite number")
    if not t_end > t_start:
        raise ValueError(f"t_end = {t_end!r} must be later than t_start = {t_start!r}")
    if not dt_max > 0.0:
        raise ValueError(f"dt_max = {dt_max!r} must be > 0")
    tolerance = 1e-12 * (t_end - t_start)
    nodes = [float(t_start)]
    for point in sorted(float(p) for p in breakpoints):
        if nodes[-1] + tolerance < point < t_end - tolerance:
            nodes.append(point)
    nodes.append(float(t_end))
    pieces = [np.array([nodes[0]])]
    for a, b in zip(nodes[:-1], nodes[1:]):
        # the 1e-9 keeps an interval of exactly k * dt_max from getting k + 1 steps by round-off
        count = max(1, math.ceil((b - a) / dt_max - 1e-9))
        pieces.append(np.linspace(a, b, count + 1)[1:])
    return np.concatenate(pieces)


def _check(times: Sequence[float], levels: Sequence[float], ramps: Sequence[float],
           describe: Callable[[int], str]) -> None:
    """Raise ValueError, naming the entry ``describe(i)``, unless the entries make a schedule."""
    n = len(times)
    if n == 0 or len(levels) != n or len(ramps) != n:
        raise ValueError("a schedule needs at least one entry and one level and ramp per time")
    for i in range(n):
        where = describe(i)
        if not math.isfinite(times[i]) or times[i] < 0.0:
            raise ValueError(f"{where}: time must be finite and >= 0 (measured from the start of the run)")
        if not math.isfinite(levels[i]):
            raise ValueError(f"{where}: level {levels[i]!r} is not finite")
        if not math.isfinite(ramps[i]) or ramps[i] < 0.0:
            raise ValueError(f"{where}: ramp {ramps[i]!r} s must be finite and >= 0")
        if i == 0 and ramps[0] > 0.0:
            raise ValueError(f"{where}: the first entry has no earlier level to ramp from")
        if i > 0 and not times[i] > times[i - 1]:
            raise ValueError(f"{where}: times must increase (previous entry at {times[i - 1]!r} s)")
        if i > 0 and times[i - 1] + ramps[i - 1] > times[i]:
            raise ValueError(f"{describe(i - 1)}: its ramp of {ramps[i - 1]!r} s ends after the next entry "
                             f"(t = {times[i]!r} s)")


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _parse_level(level, where: str) -> float:
    if isinstance(level, str):
        try:
            return _NAMED_LEVELS[level.strip().lower()]
        except KeyError:
            raise ValueError(f"{where}: level {level!r} is not 'on', 'off' or a number") from None
    if isinstance(level, (bool, np.bool_)):
        return 1.0 if level else 0.0
    if not _is_number(level):
        raise ValueError(f"{where}: level {level!r} is not 'on', 'off' or a number")
    if not math.isfinite(level):
        raise ValueError(f"{where}: level {level!r} is not finite")
    return float(level)
