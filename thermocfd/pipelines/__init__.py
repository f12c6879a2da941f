"""Case pipelines: ``case.kind`` -> the registered function that solves it.

A pipeline is a function ``run(case, out_dir, timer) -> PipelineResult`` decorated with
:func:`pipeline`; its module is imported here, so registering is all a new kind needs
(plus its entry in :data:`thermocfd.case.KIND_USAGE`).
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from mpi4py import MPI

from .. import checkpoint, log
from ..case import Case
from ..errors import SolverError, ThermocfdError
from ..output import software_versions, write_json
from ..plausibility import estimate

PIPELINES: dict[str, Callable] = {}
_partial: dict = {}


def keep(**results) -> None:
    """Record results known so far: summary.json of a run that fails or is stopped later
    keeps them (the ``partial`` entry)."""
    _partial.update(results)


def pipeline(kind: str):
    """Register ``run(case, out_dir, timer)`` as the pipeline of ``case.kind = kind``."""

    def register(run: Callable) -> Callable:
        PIPELINES[kind] = run
        return run

    return register


class RunFailed(SolverError):
    """A run that started and failed: summary.json holds ``"status": "failed"``, the
    message and what was done before."""


class RunInterrupted(checkpoint.Interrupted):
    """A run stopped by SIGTERM/SIGINT: summary.json holds ``"status": "interrupted"``,
    the checkpoint and the command that resumes it."""


class _StageTimer(log.Timer):
    """A :class:`log.Timer` that remembers the section an exception left, so that a
    failure can be named by its stage (a crash inside the mesh generator)."""

    failed_in: str | None = None

    def __call__(self, name: str):
        section = super().__call__(name)

        @contextmanager
        def tracked():
            with section:
                try:
                    yield
                except BaseException:
                    self.failed_in = self.failed_in or name
                    raise

        return tracked()


@dataclass
class Results:
    """A finished run: ``summary`` is exactly what summary.json holds."""

    summary: dict
    out_dir: Path
    fields: dict = field(default_factory=dict)
    domain: object = None

    def __getitem__(self, key: str):
        return self.summary[key]


def run_case(case: Case, out_dir: str | Path = "results", resume: bool = False) -> Results:
    """Run a validated case, write ``out_dir/summary.json`` and field files.

    ``resume``: continue the time loop from the newest complete checkpoint in ``out_dir``
    (from scratch, with a message, when there is none). A run that fails raises
    :class:`RunFailed`, one stopped by SIGTERM/SIGINT :class:`RunInterrupted` (after a
    checkpoint), both after writing summary.json with what is known.
    """
    out_dir = Path(out_dir)
    comm = MPI.COMM_WORLD
    if comm.rank == 0:
        out_dir.mkdir(parents=True, exist_ok=True)
    comm.barrier()
    run = PIPELINES[case.kind]
    timer = _StageTimer()
    start = time.perf_counter()
    log.info(f"thermocfd: {case.kind} case {case.case.name or case.source or ''} -> {out_dir}")
    size = estimate(case)
    if size.get("cells"):
        log.info(f"estimate: ~{size['cells']:.3g} cells, ~{size['dofs']:.3g} unknowns, "
                 f"~{size['memory_bytes'] / 1e9:.2g} GB for the solver")
    header = {"case": {"kind": case.kind, "name": case.case.name, "file": case.source}}
    _partial.clear()
    checkpoints = checkpoint.Checkpoints.for_case(case, out_dir, resume=resume)

    def stopped(status: str, **details) -> None:
        write_json(out_dir / "summary.json", {
            **header, "status": status, **details, "partial": dict(_partial),
            "wall_time_s": time.perf_counter() - start, "timings_s": timer.times, "mpi_size": comm.size,
            "versions": software_versions(), "inputs": case.to_dict()})

    try:
        with checkpoint.session(checkpoints):
            outcome = run(case, out_dir, timer)
    except checkpoint.Interrupted as error:
        resume_command = (f"thermocfd run {case.source or 'CASE.toml'} [the same --set options] --out {out_dir} "
                          "--resume")
        stopped("interrupted", error=str(error), checkpoint=error.checkpoint,
                resume=resume_command if error.checkpoint else "nothing was saved: run it again")
        raise RunInterrupted(f"{error} (to continue: {resume_command})" if error.checkpoint else str(error),
                             error.checkpoint) from error
    except SolverError as error:
        # the run started and failed: keep what is known, say what failed
        stopped("failed", error=str(error))
        raise RunFailed(f"{error} (partial results: {out_dir / 'summary.json'})") from error
    except ThermocfdError:
        raise
    except Exception as error:
        if timer.failed_in != "mesh":
            raise
        # gmsh reports a geometry it cannot build or mesh as a bare Exception
        message = (f"the mesh generator failed ({str(error).strip() or type(error).__name__}): change the geometry "
                   "(sizes, overlapping parts) or mesh.resolution")
        stopped("failed", error=message)
        raise RunFailed(f"{message} (partial results: {out_dir / 'summary.json'})") from error
    wall = time.perf_counter() - start
    summary = {
        **header,
        "status": "ok",
        **outcome.results,
        "wall_time_s": wall,
        "units": {**outcome.units, "wall_time_s": "s"},
        "timings_s": timer.times,
        "mpi_size": comm.size,
        "versions": software_versions(),
        "inputs": case.to_dict(),
    }
    write_json(out_dir / "summary.json", summary)  # results are safe before rendering
    checkpoints.discard()  # finished: nothing left to resume
    if case.output.fields and comm.rank == 0:
        from ..post.paraview import write_state_script

        write_state_script(out_dir)
    if case.output.mesh:
        from ..fem.mesh import write_msh

        write_msh(outcome.domain, out_dir / "mesh.msh")
    if case.output.pictures:
        pictures = _render(out_dir) if comm.rank == 0 else None
        pictures = comm.bcast(pictures, root=0)
        if pictures is not None:
            summary["pictures"] = sorted(pictures)
            summary["timings_s"]["pictures"] = sum(pictures.values())
            write_json(out_dir / "summary.json", summary)
    log.info(f"done in {wall:.1f} s; summary: {out_dir / 'summary.json'}")
    return Results(summary, out_dir, outcome.fields, outcome.domain)


def _render(out_dir: Path) -> dict[str, float] | None:
    """Render the pictures in a fresh process (``thermocfd post``).

    VTK's text rendering has crashed (std::bad_alloc) in a process that also holds gmsh
    and dolfinx, and a rendering failure must never cost a finished run its results."""
    import json
    import os
    import subprocess
    import sys

    started = time.perf_counter()
    # Under mpirun the child would inherit the launcher's variables and try to join the
    # running job (Open MPI 5 then hangs): render as a plain serial process.
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("OMPI_", "PMIX_", "PRTE_", "OPAL_", "PMI_", "HYDRA_", "I_MPI_"))
           or key.startswith("OMPI_ALLOW_RUN_AS_ROOT")}
    result = subprocess.run([sys.executable, "-m", "thermocfd", "post", str(out_dir), "--quiet"],
                            capture_output=True, text=True, env=env)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no message"])[-1]
        log.warn(f"pictures failed ({last}); the results are in {out_dir / 'summary.json'}")
        return None
    pictures = json.loads((out_dir / "pictures.json").read_text())
    log.info(f"pictures: {len(pictures)} written in {time.perf_counter() - started:.1f} s")
    return pictures


from . import aerosol, convection, mst, phoretic, soret_cell, tracking  # noqa: E402,F401  (they register themselves)
