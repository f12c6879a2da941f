"""Command line: ``thermocfd run | check | sweep | post | report | view | info``.

Bad input (case files, ``--set`` values, meshes) is reported as one line naming the key,
the value and the reason, with exit status 2 and no traceback; a run that started and
failed (a solver that diverged) says what to change, keeps its partial summary.json and
exits with status 3; a run stopped by SIGTERM/SIGINT writes a checkpoint and exits with
status 4 (``thermocfd run CASE --resume`` continues it).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from . import __version__
from .checkpoint import Interrupted
from .errors import SolverError, ThermocfdError
from .sweep import add_parser as add_sweep_parser

EXIT_BAD_INPUT = 2
EXIT_RUN_FAILED = 3
EXIT_INTERRUPTED = 4


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="thermocfd", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"thermocfd {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a case file")
    run.add_argument("case", type=Path, help="TOML case file")
    run.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                     help="override a case entry (repeatable), e.g. --set temperature.hot='310 K'")
    run.add_argument("--out", type=Path, default=None, help="output directory (default results/<case name>)")
    run.add_argument("--quiet", action="store_true", help="no progress output")
    run.add_argument("--resume", action="store_true",
                     help="continue from the last complete checkpoint in the output directory (from scratch if none)")
    check = sub.add_parser("check", help="validate a case file without running it")
    check.add_argument("case", type=Path)
    check.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE")
    add_sweep_parser(sub)
    post = sub.add_parser("post", help="re-render the pictures of a finished run from its stored results")
    post.add_argument("out", type=Path, help="a run's output directory (holds summary.json)")
    post.add_argument("--quiet", action="store_true")
    report = sub.add_parser("report", help="rebuild report.html of a finished run or sweep from its stored results")
    report.add_argument("out", type=Path, help="a run's output directory (summary.json) or a sweep's (points.json)")
    view = sub.add_parser("view", help="interactive 3D view of a finished run (needs a display)")
    view.add_argument("out", type=Path)
    view.add_argument("--field", default="concentration", help="point array to show")
    info = sub.add_parser("info", help="versions, MPI size, GPU availability")
    info.add_argument("--json", action="store_true", help="machine-readable output")
    sub.add_parser("schema", help="print the JSON Schema of case files (for editors and validators)")
    return parser


def _error(message: str, status: int = EXIT_BAD_INPUT) -> int:
    from mpi4py import MPI

    if MPI.COMM_WORLD.rank == 0:
        print(f"thermocfd: error: {message}", file=sys.stderr, flush=True)
    return status


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _main(args)
    except Exception:
        from mpi4py import MPI

        if MPI.COMM_WORLD.size > 1:
            # An error on one rank would leave the others waiting in a collective forever.
            import traceback

            traceback.print_exc()
            sys.stderr.flush()
            MPI.COMM_WORLD.Abort(1)
        raise


def _main(args: argparse.Namespace) -> int:
    logging.getLogger().setLevel(logging.WARNING)  # silence ffcx/cffi JIT chatter
    from .case import load_case

    try:
        if args.command == "info":
            from .info import report

            data = report()
            from mpi4py import MPI

            if MPI.COMM_WORLD.rank == 0:
                print(json.dumps(data, indent=2) if args.json else _format_info(data))
            return 0
        if args.command == "schema":
            from .case import schema_text

            print(schema_text())
            return 0
        if args.command == "post":
            return _post(args)
        if args.command == "report":
            from .post.report import rebuild

            print(rebuild(args.out))
            return 0
        if args.command == "sweep":
            from .sweep import command as sweep

            return sweep(args)
        if args.command == "view":
            from .post.view import view

            view(args.out, args.field)
            return 0
        case = load_case(args.case, args.overrides)
        if args.command == "check":
            print(f"{args.case}: OK ({case.kind})")
            return 0
        from . import log
        from .pipelines import run_case

        log.set_quiet(args.quiet)
        out = args.out or Path("results") / args.case.stem
        run_case(case, out, resume=args.resume)
        return 0
    except ThermocfdError as error:
        source = getattr(args, "case", None) or getattr(args, "out", None)
        where = f"{source}: " if source is not None else ""
        if isinstance(error, Interrupted):
            return _error(f"{where}{error}", EXIT_INTERRUPTED)
        status = EXIT_RUN_FAILED if isinstance(error, SolverError) else EXIT_BAD_INPUT
        return _error(f"{where}{'the run failed: ' if status == EXIT_RUN_FAILED else ''}{error}", status)


def _post(args: argparse.Namespace) -> int:
    from .output import write_json
    from .post import case_of_run, render

    case, _ = case_of_run(args.out)
    pictures = render(args.out, case)
    write_json(args.out / "pictures.json", pictures)
    if not args.quiet:
        for name, seconds in pictures.items():
            print(f"{args.out / name}  ({seconds:.1f} s)")
    return 0


def _format_info(data: dict) -> str:
    lines = [f"thermocfd {data['versions'].get('thermocfd')}"]
    for name, version in data["versions"].items():
        if name != "thermocfd":
            lines.append(f"  {name:10s} {version}")
    lines.append(f"MPI: {data['mpi_size']} rank(s), {data['mpi_library']}")
    gpu = data["gpu"]
    lines.append(f"GPU: {'yes, ' + str(gpu.get('device_name')) if gpu.get('gpu') else 'no'}"
                 f"{' (' + gpu['reason'] + ')' if gpu.get('reason') else ''}")
    tracker = data["tracker_backend"]
    if isinstance(tracker, dict):
        gpu_note = tracker.get("gpu", {}).get("reason") if not tracker.get("gpu", {}).get("available") else None
        tracker = f"{tracker.get('selected')}" + (f" (GPU: {gpu_note})" if gpu_note else "")
    lines.append(f"particle tracker backend: {tracker}")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
