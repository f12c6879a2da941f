"""Post-processing from stored results: pictures (pyvista, off-screen), drift tables,
the interactive scene.html and the run's report.html.

Nothing here re-solves: it reads ``OUT/fields/*.pvd`` and the resolved inputs in
``OUT/summary.json``, so ``thermocfd post OUT`` reproduces a run's pictures.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..case import Case, case_from_dict
from ..errors import ThermocfdError


def case_of_run(out_dir: str | Path) -> tuple[Case, dict]:
    """The case and summary stored by a finished run."""
    path = Path(out_dir) / "summary.json"
    if not path.exists():
        raise ThermocfdError(f"{out_dir}: no summary.json (not a thermocfd run directory?)")
    summary = json.loads(path.read_text())
    return case_from_dict(summary["inputs"]), summary


def render(out_dir: str | Path, case: Case | None = None) -> dict[str, float]:
    """Render the pictures of a run, its scene.html and its report.html; returns
    {file name: seconds}."""
    import time

    from .render import render_run
    from .report import REPORT, run_report

    if case is None:
        case, _ = case_of_run(out_dir)
    timings = render_run(out_dir, case)
    start = time.perf_counter()
    run_report(out_dir, timings)
    timings[REPORT] = time.perf_counter() - start
    return timings
