"""Parameter sweeps: ``thermocfd sweep CASE --vary key=v1,v2,...``.

A sweep is a list of points, each a set of ``section.key=value`` overrides of one case
file (the Cartesian product of the ``--vary`` lists, the lists zipped, or the rows of a
CSV file). Every point is validated before anything runs, then runs as its own
``thermocfd run`` process (``--jobs N`` at a time, each optionally under ``mpirun -n K``)
in its own folder, or as one task of a Slurm job array (``--slurm``).

On disk (``OUT``, default ``results/<case name>_sweep``)::

    points.json                the sweep: case file, common --set options, the points
    <name>/point.json          one point's overrides and the fingerprint of its inputs
    <name>/summary.json ...    that run's own outputs (run.log: its console output)
    sweep.csv, sweep.parquet   one row per point, rebuilt from the summaries every time
    plots/<value>__vs__<parameter>.png
    sweep.slurm, collect.slurm, logs/, slurm_jobs.json    (--slurm, --submit)

A point's state is read from its summary.json alone, so a sweep can be stopped and run
again at any time: ``ok`` points are skipped, ``failed`` ones are reported and skipped
(``--retry-failed`` runs them again), and anything else (no summary, an interrupted run)
is ``pending`` and runs again, resuming from its checkpoint when it has one. A pending
point is a row with its parameters and status only: no row ever mixes results of two runs
or holds half of one.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import itertools
import json
import math
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .errors import MISSING, CaseError, ThermocfdError

MANIFEST = "points.json"
POINT_FILE = "point.json"
TABLE = "sweep.csv"
PARQUET = "sweep.parquet"
PLOTS = "plots"
SLURM_SCRIPT = "sweep.slurm"
COLLECT_SCRIPT = "collect.slurm"
SLURM_JOBS = "slurm_jobs.json"
# summary.json entries that describe the run, not its results
_NOT_RESULTS = {"mpi_size"}
_NAME_LIMIT = 100
# how long a stopped run may take to write its checkpoint before it is killed
STOP_GRACE_S = 60.0


class SweepError(ThermocfdError):
    """A sweep that cannot run as given (bad input: exit status 2)."""


# --- points --------------------------------------------------------------------------------


def split_values(text: str) -> list[str]:
    """Split ``v1,v2,...`` at the commas outside quotes and brackets.

    Each item is a TOML value as ``--set`` takes it: ``"20 um","40 um"`` (commas inside
    strings stay), ``[1, 2],[3, 4]`` (arrays), ``{law = "piazza", t0 = "20 K"},0.05``
    (inline tables); a bare word (``water``, ``310K``) is a string.
    """
    items, current, closing, quote = [], [], [], None
    pairs = {"[": "]", "{": "}"}
    chars = iter(text)
    for char in chars:
        if quote:
            current.append(char)
            if char == "\\" and quote == '"':
                current.append(next(chars, ""))
            elif char == quote:
                quote = None
        elif char in "\"'":
            quote = char
            current.append(char)
        elif char in pairs:
            closing.append(pairs[char])
            current.append(char)
        elif char in "]}":
            if not closing or closing.pop() != char:
                raise SweepError(f"--vary value list {text!r}: unbalanced {char!r}")
            current.append(char)
        elif char == "," and not closing:
            items.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    if quote or closing:
        raise SweepError(f"--vary value list {text!r}: missing {quote or closing[-1]!r}")
    items.append("".join(current).strip())
    if any(not item for item in items):
        raise SweepError(f"--vary value list {text!r}: an empty value")
    return items


def parse_vary(text: str) -> tuple[str, list[str]]:
    """``section.key=v1,v2,...`` -> (key, value texts)."""
    key, separator, values = text.partition("=")
    key = key.strip()
    if not separator or not key or any(not part for part in key.split(".")):
        raise CaseError(text, MISSING, "--vary expects section.key=value1,value2,...")
    items = split_values(values)
    repeated = sorted({item for item in items if items.count(item) > 1})
    if repeated:
        raise SweepError(f"--vary {key}: {repeated[0]} is listed twice")
    return key, items


def combine(varied: list[tuple[str, list[str]]], zipped: bool = False) -> list[dict[str, str]]:
    """The points of ``--vary`` lists: their Cartesian product (the last key varying
    fastest), or with ``zipped`` the i-th values together (equal lengths)."""
    keys = [key for key, _ in varied]
    repeated = sorted({key for key in keys if keys.count(key) > 1})
    if repeated:
        raise SweepError(f"--vary {repeated[0]} is given twice")
    lists = [values for _, values in varied]
    if zipped:
        if len({len(values) for values in lists}) > 1:
            lengths = ", ".join(f"{key}: {len(values)}" for key, values in varied)
            raise SweepError(f"--zip needs value lists of equal length (here {lengths})")
        rows = zip(*lists)
    else:
        rows = itertools.product(*lists)
    return [dict(zip(keys, row)) for row in rows]


def read_point_list(path: Path) -> list[dict[str, str]]:
    """Points from a CSV file: the header names the keys, each row is one point, each
    cell a value as ``--set`` takes it (``20 um`` or ``"20 um"``, CSV-quoted if it holds
    commas)."""
    try:
        text = Path(path).read_text()
    except OSError as error:
        raise SweepError(f"--list {path}: cannot read it ({error.__class__.__name__})") from None
    rows = list(csv.reader(io.StringIO(text)))
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if len(rows) < 2:
        raise SweepError(f"--list {path}: needs a header of keys and at least one row of values")
    keys = [cell.strip() for cell in rows[0]]
    for key in keys:
        if not key or any(not part for part in key.split(".")) or keys.count(key) > 1:
            raise SweepError(f"--list {path}: header entry {key!r}: expected distinct section.key names")
    points = []
    for line, row in enumerate(rows[1:], start=2):
        cells = [cell.strip() for cell in row]
        if len(cells) != len(keys) or not all(cells):
            raise SweepError(f"--list {path}, row {line}: expected a value for each of {', '.join(keys)}")
        points.append(dict(zip(keys, cells)))
    return points


def _value_label(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1]
    text = re.sub(r"\s+(?=[A-Za-z])", "", text.strip())  # "20 um" -> 20um, "0.05 1/K" -> 0.05_1_K
    return re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9.+\-]", "_", text)).strip("_") or "_"


def _short_hash(parameters: dict[str, str]) -> str:
    return hashlib.sha1(json.dumps(parameters, sort_keys=True).encode()).hexdigest()[:8]


def point_names(points: list[dict[str, str]]) -> list[str]:
    """Readable, filesystem-safe, unique folder names: ``height=20um__hot=310K``.

    A key is shortened to its last part unless two varied keys share it; a name that
    would be too long, or equal to another one up to case (two spellings of the same
    value), gets a hash of its parameters."""
    keys = list(dict.fromkeys(key for point in points for key in point))
    last = [key.rsplit(".", 1)[-1] for key in keys]
    label = {key: (short if last.count(short) == 1 else key) for key, short in zip(keys, last)}
    names = []
    for point in points:
        name = "__".join(f"{label[key]}={_value_label(value)}" for key, value in point.items())
        if len(name) > _NAME_LIMIT:
            name = f"{name[:_NAME_LIMIT - 9]}_{_short_hash(point)}"
        names.append(name)
    folded = [name.lower() for name in names]
    return [f"{name}_{_short_hash(point)}" if folded.count(name.lower()) > 1 else name
            for name, point in zip(names, points)]


@dataclass(frozen=True)
class Point:
    """One point of a sweep: its folder name and its overrides (key -> TOML value text)."""

    index: int
    name: str
    parameters: dict[str, str]

    def overrides(self, common: list[str]) -> list[str]:
        """The ``--set`` options of its run: the common ones, then its own."""
        return [*common, *(f"{key}={value}" for key, value in self.parameters.items())]


def make_points(parameter_sets: list[dict[str, str]]) -> list[Point]:
    return [Point(i, name, parameters)
            for i, (name, parameters) in enumerate(zip(point_names(parameter_sets), parameter_sets))]


def si_value(text: str) -> float | int | str:
    """A point's value for the table: a number, a quantity string in SI base units
    ("20 um" -> 2e-05), otherwise the text (a law name, an array)."""
    from .case import parse_override
    from .units import registry

    _, value = parse_override(f"v={text}")
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return text
    if isinstance(value, (int, float)):
        return value
    if not re.match(r"^\s*[-+]?(\d|\.\d)", value):
        return value
    try:
        return float(registry().Quantity(value).to_base_units().magnitude)
    except Exception:  # noqa: BLE001 - not a quantity pint knows: keep the text
        return value


def si_unit(text: str) -> str:
    """The SI unit of a value text ("" for a plain number or text)."""
    from .case import parse_override
    from .units import registry

    _, value = parse_override(f"v={text}")
    if not isinstance(value, str) or not re.match(r"^\s*[-+]?(\d|\.\d)", value):
        return ""
    try:
        return f"{registry().Quantity(value).to_base_units().units:~C}"
    except Exception:  # noqa: BLE001
        return ""


# --- the sweep on disk -------------------------------------------------------------------


@dataclass
class Sweep:
    """A sweep: the case file, the options common to every point, the points, the
    output folder and the summary values to collect (None: every scalar result)."""

    case_file: Path
    common: list[str]
    points: list[Point]
    out_dir: Path
    collect: list[str] | None = None

    @property
    def varied(self) -> list[str]:
        return list(dict.fromkeys(key for point in self.points for key in point.parameters))

    def folder(self, point: Point) -> Path:
        return self.out_dir / point.name

    def manifest(self) -> dict:
        return {"case": str(self.case_file), "set": self.common, "collect": self.collect,
                "varied": self.varied,
                "points": [{"index": p.index, "name": p.name, "parameters": p.parameters,
                            "overrides": p.overrides(self.common)} for p in self.points]}

    def write_manifest(self) -> None:
        from .output import write_atomic

        write_atomic(self.out_dir / MANIFEST, json.dumps(self.manifest(), indent=2) + "\n")

    @classmethod
    def from_manifest(cls, out_dir: Path, collect: list[str] | None = None) -> "Sweep":
        """The sweep last run (or written for Slurm) in ``out_dir``."""
        try:
            data = json.loads((Path(out_dir) / MANIFEST).read_text())
        except (OSError, ValueError):
            raise SweepError(f"{Path(out_dir) / MANIFEST}: no sweep here (give --vary or --list, or the --out of "
                             "a sweep)") from None
        points = [Point(p["index"], p["name"], p["parameters"]) for p in data["points"]]
        return cls(Path(data["case"]), data["set"], points, Path(out_dir),
                   collect if collect is not None else data.get("collect"))


def read_summary(folder: Path) -> dict | None:
    try:
        return json.loads((folder / "summary.json").read_text())
    except (OSError, ValueError):
        return None


def point_status(folder: Path) -> str:
    """``ok``, ``failed`` (as its summary.json says) or ``pending`` (not run, running,
    interrupted, killed)."""
    summary = read_summary(folder)
    status = summary.get("status") if summary else None
    return status if status in ("ok", "failed") else "pending"


def validate(sweep: Sweep) -> dict[str, str]:
    """Load every point's case (bad input names the point and the key); the fingerprint
    of each point's inputs."""
    from .case import load_case
    from .checkpoint import fingerprint

    fingerprints = {}
    for point in sweep.points:
        try:
            case = load_case(sweep.case_file, point.overrides(sweep.common))
        except ThermocfdError as error:
            raise SweepError(f"point {point.index + 1} of {len(sweep.points)} ({point.name}): {error}") from None
        fingerprints[point.name] = fingerprint(case)
    return fingerprints


def check_folders(sweep: Sweep, fingerprints: dict[str, str]) -> None:
    """Refuse to count a finished point computed with other inputs (the case file or a
    --set option changed since)."""
    for point in sweep.points:
        folder = sweep.folder(point)
        try:
            recorded = json.loads((folder / POINT_FILE).read_text()).get("fingerprint")
        except (OSError, ValueError):
            continue
        if recorded != fingerprints[point.name] and point_status(folder) != "pending":
            raise SweepError(f"{folder} holds a run with other inputs (the case file or the --set options changed): "
                             "use another --out, or delete that folder to run the point again")


# --- running locally ---------------------------------------------------------------------


class _StopRequest:
    """SIGINT/SIGTERM while points run: stop launching, stop the running ones."""

    def __init__(self):
        self.received: int | None = None

    def __call__(self, number, frame) -> None:
        self.received = number


def _run_command(sweep: Sweep, point: Point, mpi: int | None, resume: bool) -> list[str]:
    command = [sys.executable, "-m", "thermocfd", "run", str(sweep.case_file), "--out", str(sweep.folder(point))]
    for override in point.overrides(sweep.common):
        command += ["--set", override]
    if resume:
        command.append("--resume")
    return (["mpirun", "-n", str(mpi)] if mpi else []) + command


def _last_line(path: Path) -> str:
    try:
        lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "no output"
    return lines[-1] if lines else "no output"


def run_points(sweep: Sweep, fingerprints: dict[str, str], *, jobs: int = 1, mpi: int | None = None,
               retry_failed: bool = False, report: Callable[[str], None] = print) -> dict[str, int]:
    """Run the points that are not done, ``jobs`` processes at a time; one line per
    finished point. Returns the counts of ok, failed and pending (interrupted) points.

    SIGINT/SIGTERM stop the launching and send SIGTERM to the running points (a
    ``thermocfd run`` writes its checkpoint and stops); one that has not stopped after
    :data:`STOP_GRACE_S` is killed."""
    from .checkpoint import latest
    from .output import write_atomic

    if mpi and shutil.which("mpirun") is None:
        raise SweepError("--mpi needs mpirun on PATH")
    status = {point.name: point_status(sweep.folder(point)) for point in sweep.points}
    queue = []
    for point in sweep.points:
        if status[point.name] == "ok":
            continue
        if status[point.name] == "failed" and not retry_failed:
            error = (read_summary(sweep.folder(point)) or {}).get("error", "")
            report(f"{point.name}: failed before ({error}); --retry-failed runs it again")
            continue
        queue.append(point)
    done = sum(1 for value in status.values() if value == "ok")
    report(f"sweep: {len(sweep.points)} points in {sweep.out_dir}: {done} done, {len(queue)} to run")
    env = dict(os.environ)
    if jobs * (mpi or 1) > 1:
        # the processes share the cores: one thread each unless told otherwise
        for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
            env.setdefault(variable, "1")
    stop = _StopRequest()
    previous = {number: signal.signal(number, stop) for number in (signal.SIGINT, signal.SIGTERM)}
    running: dict[subprocess.Popen, tuple[Point, float]] = {}
    finished = 0
    stopping_since: float | None = None
    try:
        while True:
            while queue and stop.received is None and len(running) < jobs:
                point = queue.pop(0)
                folder = sweep.folder(point)
                folder.mkdir(parents=True, exist_ok=True)
                recorded = {}
                try:
                    recorded = json.loads((folder / POINT_FILE).read_text())
                except (OSError, ValueError):
                    pass
                same_inputs = recorded.get("fingerprint") == fingerprints[point.name]
                resume = status[point.name] == "pending" and same_inputs and latest(folder) is not None
                write_atomic(folder / POINT_FILE, json.dumps(
                    {"index": point.index, "name": point.name, "parameters": point.parameters,
                     "overrides": point.overrides(sweep.common), "fingerprint": fingerprints[point.name]},
                    indent=2) + "\n")
                with open(folder / "run.log", "a") as log:
                    # a session of its own: a Ctrl-C in the terminal reaches the sweep alone,
                    # which stops the points in order
                    process = subprocess.Popen(_run_command(sweep, point, mpi, resume), stdout=log,
                                               stderr=subprocess.STDOUT, env=env, start_new_session=True)
                running[process] = (point, time.perf_counter())
            if stop.received is not None and stopping_since is None:
                stopping_since = time.perf_counter()
                report(f"sweep: stopped by {signal.Signals(stop.received).name}: stopping {len(running)} "
                       "running point(s), launching no more")
                for process in running:
                    process.send_signal(signal.SIGTERM)
            # checked after the stop report: a signal between one point's end and the next
            # launch leaves nothing running, and is still reported
            if not running:
                break
            if stopping_since is not None and time.perf_counter() - stopping_since > STOP_GRACE_S:
                for process in running:
                    if process.poll() is None:
                        os.killpg(process.pid, signal.SIGKILL)
            time.sleep(0.1)
            for process in [p for p in running if p.poll() is not None]:
                point, started = running.pop(process)
                finished += 1
                folder = sweep.folder(point)
                status[point.name] = point_status(folder)
                elapsed = time.perf_counter() - started
                line = f"[{finished}/{finished + len(queue) + len(running)}] {point.name}: "
                if status[point.name] == "ok":
                    report(line + f"ok ({elapsed:.1f} s)")
                elif status[point.name] == "failed":
                    report(line + f"failed ({(read_summary(folder) or {}).get('error', '')}); see {folder}")
                elif stop.received is not None:
                    report(line + "interrupted (runs again next time)")
                else:
                    status[point.name] = "crashed"
                    report(line + f"crashed, exit status {process.returncode}: {_last_line(folder / 'run.log')}; "
                           f"it runs again next time (log: {folder / 'run.log'})")
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    values = list(status.values())
    return {"ok": values.count("ok"), "failed": values.count("failed") + values.count("crashed"),
            "pending": values.count("pending"), "interrupted": stop.received is not None}


# --- the table and the plots -----------------------------------------------------------------


def _lookup(summary: dict, key: str):
    value = summary
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def scalar_results(summary: dict) -> list[str]:
    """The top-level scalar results of a summary.json (numbers, in SI)."""
    return [key for key, value in summary.items() if _is_number(value) and key not in _NOT_RESULTS]


def collect_rows(sweep: Sweep, report: Callable[[str], None] = print) -> tuple[list[str], list[dict]]:
    """The table: columns and one row per point (its name, the varied parameters in SI,
    its status, the collected values; a point that is not ok has no values)."""
    summaries = {point.name: read_summary(sweep.folder(point)) for point in sweep.points}
    statuses = {point.name: point_status(sweep.folder(point)) for point in sweep.points}
    finished = [summaries[p.name] for p in sweep.points if statuses[p.name] == "ok"]
    keys = sweep.collect
    if keys is None:
        keys = list(dict.fromkeys(key for summary in finished for key in scalar_results(summary)))
    missing = [key for key in keys if finished and all(_lookup(s, key) is None for s in finished)]
    if missing:
        available = ", ".join(dict.fromkeys(k for s in finished for k in scalar_results(s)))
        report(f"sweep: not in any finished summary: {', '.join(missing)} (scalar results: {available})")
    columns: list[str] = []
    for key in keys:
        lengths = {len(v) for s in finished if isinstance(v := _lookup(s, key), list)}
        columns += [f"{key}[{i}]" for i in range(max(lengths))] if lengths else [key]
    rows = []
    for point in sweep.points:
        row = {"point": point.name, **{key: si_value(text) for key, text in point.parameters.items()},
               "status": statuses[point.name]}
        values = {}
        if statuses[point.name] == "ok":
            for key in keys:
                value = _lookup(summaries[point.name], key)
                if isinstance(value, list):
                    values.update({f"{key}[{i}]": item for i, item in enumerate(value)})
                elif isinstance(value, dict):
                    values[key] = json.dumps(value)
                else:
                    values[key] = value
        rows.append({**row, **{column: values.get(column) for column in columns}})
    return ["point", *sweep.varied, "status", *columns], rows


def _csv_text(columns: list[str], rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: ("" if value is None else repr(value) if isinstance(value, float) else value)
                         for key, value in row.items()})
    return buffer.getvalue()


def write_table(sweep: Sweep, report: Callable[[str], None] = print) -> Path:
    """Rebuild ``sweep.csv`` (and ``sweep.parquet`` where pandas and pyarrow are
    installed) from the points' summary.json files, and the plots when the table changed."""
    from .output import atomic_file, write_atomic

    columns, rows = collect_rows(sweep, report)
    path = sweep.out_dir / TABLE
    text = _csv_text(columns, rows)
    changed = not path.is_file() or path.read_text() != text
    write_atomic(path, text)
    parquet = sweep.out_dir / PARQUET
    try:
        import pandas
        import pyarrow  # noqa: F401 - pandas' Parquet engine
    except ImportError:
        parquet.unlink(missing_ok=True)  # a stale one would disagree with sweep.csv
        report(f"sweep: {PARQUET} not written: it needs pandas and pyarrow (pip install pandas pyarrow); "
               f"{TABLE} holds the same table")
    else:
        frame = pandas.DataFrame(rows, columns=columns)
        for column in frame.columns:
            kinds = {type(value) for value in frame[column] if value is not None}
            if len(kinds) > 1 and not kinds <= {int, float}:
                frame[column] = [None if value is None else str(value) for value in frame[column]]
        with atomic_file(parquet, binary=True) as handle:
            frame.to_parquet(handle, index=False)
    if changed or not (sweep.out_dir / PLOTS).is_dir():
        plot_table(sweep, columns, rows)
    from .post.report import sweep_report

    sweep_report(sweep.out_dir, columns, rows)  # report.html: the table and the plots
    counts = {state: sum(row["status"] == state for row in rows) for state in ("ok", "failed", "pending")}
    report(f"sweep: table {path} ({counts['ok']} ok, {counts['failed']} failed, {counts['pending']} pending)")
    return path


def plot_table(sweep: Sweep, columns: list[str], rows: list[dict]) -> list[Path]:
    """One PNG per (collected value, varied parameter): the value against the parameter,
    one line per combination of the other parameters (ok points only)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    folder = sweep.out_dir / PLOTS
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    varied = sweep.varied
    values = columns[columns.index("status") + 1:]
    ok = [row for row in rows if row["status"] == "ok"]
    first_summary = next((read_summary(sweep.folder(p)) for p in sweep.points
                          if point_status(sweep.folder(p)) == "ok"), None) or {}
    units = first_summary.get("units", {})
    parameter_units = {key: next((si_unit(p.parameters[key]) for p in sweep.points if key in p.parameters), "")
                       for key in varied}
    written = []
    for value in values:
        if not any(_is_number(row[value]) and math.isfinite(row[value]) for row in ok):
            continue
        for parameter in varied:
            others = [key for key in varied if key != parameter]
            figure = Figure(figsize=(5.5, 4))
            FigureCanvasAgg(figure)
            axes = figure.add_subplot()
            groups: dict[tuple, list[dict]] = {}
            for row in ok:
                groups.setdefault(tuple(row[key] for key in others), []).append(row)
            for group, members in groups.items():
                members = [row for row in members if _is_number(row[value])]
                if all(_is_number(row[parameter]) for row in members):
                    members.sort(key=lambda row: row[parameter])
                label = ", ".join(f"{key} = {v}" for key, v in zip(others, group)) or None
                axes.plot([row[parameter] if _is_number(row[parameter]) else str(row[parameter])
                           for row in members], [row[value] for row in members], "o-", label=label)
            unit = parameter_units[parameter]
            axes.set_xlabel(f"{parameter} ({unit})" if unit else parameter)
            value_unit = units.get(value.split("[")[0], "")
            axes.set_ylabel(f"{value} ({value_unit})" if value_unit not in ("", "1") else value)
            if others:
                axes.legend(fontsize="small")
            figure.tight_layout()
            path = folder / f"{_value_label(value)}__vs__{_value_label(parameter)}.png"
            figure.savefig(path, dpi=100)
            written.append(path)
    return written


# --- Slurm -----------------------------------------------------------------------------------

# Reads this task's point from the manifest: prints "skip" or "run", the point's folder,
# then the arguments of its `thermocfd run`, NUL-separated.
_TASK_POINT = r"""
import json, pathlib, sys
out, index = pathlib.Path(sys.argv[1]), int(sys.argv[2])
point = json.loads((out / "points.json").read_text())["points"][index]
folder = out / point["name"]
try:
    done = json.loads((folder / "summary.json").read_text()).get("status") == "ok"
except (OSError, ValueError):
    done = False
args = [a for o in point["overrides"] for a in ("--set", o)]
if any((c / "manifest.json").is_file() for c in folder.glob("checkpoints/*")):
    args.append("--resume")
sys.stdout.write("\0".join(["skip" if done else "run", str(folder), *args]) + "\0")
"""


@dataclass
class SlurmOptions:
    """Resources and launch options of the job array (None: not given, Slurm's default)."""

    job_name: str
    throttle: int | None = None
    time: str | None = None
    ntasks: int = 1
    cpus_per_task: int | None = None
    mem: str | None = None
    partition: str | None = None
    account: str | None = None
    container: Path | None = None
    nv: bool = False
    bind: tuple[str, ...] = ()


def _sbatch_lines(options: SlurmOptions, name: str, logs: str, extra: list[str]) -> list[str]:
    lines = [f"#SBATCH --job-name={name}", *extra, f"#SBATCH --output={logs}.out", f"#SBATCH --error={logs}.err"]
    for flag, value in (("time", options.time), ("partition", options.partition), ("account", options.account)):
        if value is not None:
            lines.append(f"#SBATCH --{flag}={value}")
    return lines


def _launcher(sweep: Sweep, options: SlurmOptions) -> tuple[list[str], list[str]]:
    """(the command that runs thermocfd, the Python that reads the manifest), in or out
    of the container."""
    if options.container is None:
        return [sys.executable, "-m", "thermocfd"], [sys.executable]
    binds = ",".join(dict.fromkeys([str(sweep.out_dir), str(sweep.case_file.parent), *options.bind]))
    exec_line = ["apptainer", "exec", *(["--nv"] if options.nv else []), "--bind", binds, str(options.container)]
    return [*exec_line, "thermocfd"], [*exec_line, "python3"]


def write_slurm(sweep: Sweep, options: SlurmOptions) -> tuple[Path, Path]:
    """Write ``sweep.slurm`` (the job array: task i runs point i of points.json, a point
    already ok is skipped, an interrupted one resumes) and ``collect.slurm`` (the table,
    submitted to run after the array)."""
    from .output import write_atomic

    out = sweep.out_dir
    (out / "logs").mkdir(parents=True, exist_ok=True)
    thermocfd, python = _launcher(sweep, options)
    q = shlex.quote
    throttle = f"%{options.throttle}" if options.throttle else ""
    array_header = [f"#SBATCH --array=0-{len(sweep.points) - 1}{throttle}", f"#SBATCH --ntasks={options.ntasks}"]
    if options.cpus_per_task is not None:
        array_header.append(f"#SBATCH --cpus-per-task={options.cpus_per_task}")
    if options.mem is not None:
        array_header.append(f"#SBATCH --mem={options.mem}")
    array = "\n".join([
        "#!/bin/bash",
        f"# thermocfd sweep of {sweep.case_file}: {len(sweep.points)} points, one per array task "
        f"(the points: {MANIFEST})",
        *_sbatch_lines(options, options.job_name, q(str(out / "logs" / "%A_%a")), array_header),
        "set -euo pipefail",
        f"SWEEP_DIR={q(str(out))}",
        f"CASE={q(str(sweep.case_file))}",
        'export OMP_NUM_THREADS="${SLURM_CPUS_PER_TASK:-1}"',
        "# this task's point: skip or run, its folder, its --set options (and --resume after an interruption)",
        f"mapfile -d '' -t POINT < <({' '.join(map(q, python))} -c {q(_TASK_POINT)} "
        '"$SWEEP_DIR" "$SLURM_ARRAY_TASK_ID")',
        'if [ "${POINT[0]}" = skip ]; then',
        '    echo "point $SLURM_ARRAY_TASK_ID (${POINT[1]}) is done already"',
        "    exit 0",
        "fi",
        f'srun {" ".join(map(q, thermocfd))} run "$CASE" --out "${{POINT[1]}}" "${{POINT[@]:2}}"',
        "",
    ])
    collect = "\n".join([
        "#!/bin/bash",
        f"# the table of the sweep in {out}: submitted with --dependency=afterany:<the array's job id>",
        *_sbatch_lines(options, f"{options.job_name}-collect", q(str(out / "logs" / "collect_%j")),
                       ["#SBATCH --ntasks=1"]),
        "set -euo pipefail",
        f"{' '.join(map(q, thermocfd))} sweep {q(str(sweep.case_file))} --collect-only --out {q(str(out))}",
        "",
    ])
    paths = out / SLURM_SCRIPT, out / COLLECT_SCRIPT
    for path, text in zip(paths, (array, collect)):
        write_atomic(path, text)
        path.chmod(0o755)
    return paths


def _job_id(output: str) -> str:
    match = re.search(r"Submitted batch job (\d+)", output) or re.match(r"\s*(\d+)", output)
    if not match:
        raise SweepError(f"sbatch said {output.strip()!r}: no job id in it")
    return match.group(1)


def submit_slurm(sweep: Sweep, report: Callable[[str], None] = print) -> dict[str, str]:
    """Submit the array, then the collect job after it (``afterany``: it runs however
    the points end); the job ids go to ``slurm_jobs.json``."""
    from .output import write_atomic

    if shutil.which("sbatch") is None:
        raise SweepError(f"--submit needs sbatch on PATH (the scripts are in {sweep.out_dir})")

    def sbatch(*args: str) -> str:
        result = subprocess.run(["sbatch", *args], capture_output=True, text=True)
        if result.returncode != 0:
            last = (result.stderr.strip().splitlines() or ["no message"])[-1]
            raise SweepError(f"sbatch {' '.join(args)} failed: {last}")
        return _job_id(result.stdout)

    array = sbatch(str(sweep.out_dir / SLURM_SCRIPT))
    collect = sbatch(f"--dependency=afterany:{array}", str(sweep.out_dir / COLLECT_SCRIPT))
    jobs = {"array_job": array, "collect_job": collect, "points": len(sweep.points),
            "submitted": time.strftime("%Y-%m-%dT%H:%M:%S")}
    write_atomic(sweep.out_dir / SLURM_JOBS, json.dumps(jobs, indent=2) + "\n")
    report(f"sweep: submitted job array {array} ({len(sweep.points)} tasks) and collect job {collect} after it")
    return jobs


# --- command line ----------------------------------------------------------------------------


def add_parser(subparsers) -> argparse.ArgumentParser:
    """The ``thermocfd sweep`` subcommand."""
    sweep = subparsers.add_parser(
        "sweep", help="run a case over a parameter sweep (locally in parallel, or as a Slurm job array)",
        description="Run CASE over a set of points, each in its own folder under --out; rebuild the table "
                    "sweep.csv (and sweep.parquet) and plots from the points' summary.json files. A finished point "
                    "is skipped when the sweep runs again.")
    sweep.add_argument("case", type=Path, help="TOML case file")
    sweep.add_argument("--vary", action="append", default=[], metavar="SECTION.KEY=V1,V2,...",
                       help="values of one key, each as --set takes it; commas inside quotes or brackets stay, "
                            "e.g. --vary 'geometry.height=\"20 um\",\"40 um\"' (repeatable: the Cartesian product)")
    sweep.add_argument("--zip", action="store_true", help="pair the --vary lists (equal lengths) instead of their product")
    sweep.add_argument("--list", type=Path, metavar="FILE.csv", help="points from a CSV file: a header of keys, a row per point")
    sweep.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                       help="an override common to every point (repeatable)")
    sweep.add_argument("--out", type=Path, default=None, help="sweep folder (default results/<case name>_sweep)")
    sweep.add_argument("--collect", default=None, metavar="KEY,...",
                       help="summary.json values in the table (default: every scalar result; a.b for nested ones)")
    sweep.add_argument("--collect-only", action="store_true", help="only rebuild the table and plots")
    sweep.add_argument("--jobs", type=int, default=1, metavar="N", help="points run at the same time (default 1)")
    sweep.add_argument("--mpi", type=int, default=None, metavar="K", help="run each point with mpirun -n K (Slurm: K tasks)")
    sweep.add_argument("--retry-failed", action="store_true", help="run failed points again")
    sweep.add_argument("--dry-run", action="store_true", help="list the points; run and write nothing")
    slurm = sweep.add_argument_group("Slurm")
    slurm.add_argument("--slurm", action="store_true", help="write the job-array script sweep.slurm and collect.slurm")
    slurm.add_argument("--submit", action="store_true", help="submit them with sbatch (implies --slurm)")
    slurm.add_argument("--array-throttle", type=int, default=None, metavar="M", help="at most M tasks at a time")
    slurm.add_argument("--job-name", default=None, help="default thermocfd-<case name>")
    slurm.add_argument("--time", default=None, help="per-task wall-time limit (Slurm format, e.g. 02:00:00)")
    slurm.add_argument("--cpus-per-task", type=int, default=None)
    slurm.add_argument("--mem", default=None, help="per-node memory, e.g. 8G")
    slurm.add_argument("--partition", default=None)
    slurm.add_argument("--account", default=None)
    slurm.add_argument("--container", type=Path, default=None, metavar="IMAGE.sif", help="run inside apptainer exec IMAGE")
    slurm.add_argument("--nv", action="store_true", help="apptainer --nv: the GPU inside the container")
    slurm.add_argument("--bind", action="append", default=[], metavar="PATH",
                       help="more apptainer --bind paths (the sweep folder and the case's folder are bound)")
    return sweep


def _positive(value: int | None, option: str) -> None:
    if value is not None and value < 1:
        raise SweepError(f"{option} = {value}: must be at least 1")


def _points_of(args: argparse.Namespace) -> list[dict[str, str]]:
    if args.list is not None:
        if args.vary or args.zip:
            raise SweepError("--list gives the points: leave out --vary and --zip")
        return read_point_list(args.list)
    if not args.vary:
        raise SweepError("nothing to vary: give --vary section.key=v1,v2,... or --list FILE.csv")
    return combine([parse_vary(text) for text in args.vary], zipped=args.zip)


def command(args: argparse.Namespace, report: Callable[[str], None] = print) -> int:
    """``thermocfd sweep``: the exit status (0 all ok, 2 bad input, 3 a point failed,
    4 interrupted)."""
    from .case import load_case, parse_override

    for value, option in ((args.jobs, "--jobs"), (args.mpi, "--mpi"), (args.array_throttle, "--array-throttle"),
                          (args.cpus_per_task, "--cpus-per-task")):
        _positive(value, option)
    slurm_only = [option for option, value in (
        ("--array-throttle", args.array_throttle), ("--job-name", args.job_name), ("--time", args.time),
        ("--cpus-per-task", args.cpus_per_task), ("--mem", args.mem), ("--partition", args.partition),
        ("--account", args.account), ("--container", args.container), ("--nv", args.nv or None),
        ("--bind", args.bind or None)) if value is not None]
    if slurm_only and not (args.slurm or args.submit):
        raise SweepError(f"{slurm_only[0]}: a Slurm option; add --slurm (or --submit)")
    if (args.nv or args.bind) and args.container is None:
        raise SweepError(f"{'--nv' if args.nv else '--bind'}: needs --container IMAGE.sif")
    base = load_case(args.case, args.overrides)
    out = args.out or Path("results") / f"{base.case.name or args.case.stem}_sweep"
    collect = None if args.collect is None else [key.strip() for key in args.collect.split(",") if key.strip()]
    if args.collect_only and not (args.vary or args.list):
        sweep = Sweep.from_manifest(out, collect)
        write_table(sweep, report)
        return 0
    parameter_sets = _points_of(args)
    common_keys = {".".join(parse_override(text)[0]) for text in args.overrides}
    for key in parameter_sets[0]:
        if key in common_keys:
            raise SweepError(f"{key}: both in --set and varied")
    sweep = Sweep(args.case.resolve(), list(args.overrides), make_points(parameter_sets), out.resolve(), collect)
    fingerprints = validate(sweep)
    check_folders(sweep, fingerprints)
    if args.dry_run:
        report(f"sweep: {len(sweep.points)} points of {args.case} in {out} (dry run: nothing runs or is written)")
        for point in sweep.points:
            state = point_status(sweep.folder(point))
            shown = " ".join(f"--set {shlex.quote(o)}" for o in point.overrides([]))
            report(f"  {point.index:3d} {point.name}  [{state}]  {shown}")
        return 0
    sweep.out_dir.mkdir(parents=True, exist_ok=True)
    sweep.write_manifest()
    if args.collect_only:
        write_table(sweep, report)
        return 0
    if args.slurm or args.submit:
        options = SlurmOptions(job_name=args.job_name or f"thermocfd-{base.case.name or args.case.stem}",
                               throttle=args.array_throttle, time=args.time, ntasks=args.mpi or 1,
                               cpus_per_task=args.cpus_per_task, mem=args.mem, partition=args.partition,
                               account=args.account, container=args.container.resolve() if args.container else None,
                               nv=args.nv, bind=tuple(args.bind))
        for path in write_slurm(sweep, options):
            report(f"sweep: wrote {path}")
        if args.submit:
            submit_slurm(sweep, report)
        return 0
    counts = run_points(sweep, fingerprints, jobs=args.jobs, mpi=args.mpi, retry_failed=args.retry_failed,
                        report=report)
    write_table(sweep, report)
    if counts["interrupted"]:
        return 4
    return 3 if counts["failed"] else 0
