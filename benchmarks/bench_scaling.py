"""Strong scaling of the coupled 3D chip (flow + heat + solute, Newton with GMRES and the
field-split/BoomerAMG preconditioner) over MPI ranks, at two mesh sizes.

Each configuration is one ``thermocfd run`` process (:func:`bench_coupled.run`, which
reports unknowns, Newton and GMRES iterations, the flow time and the peak resident memory
of the largest rank). Printed per row: time per unknown per Newton step, memory per
unknown (the whole job: ranks x the largest rank's peak), the parallel efficiency
``t(1) / (n t(n))`` against the 1-rank row of the same size and repeat; then the marginal
costs between the two sizes (the slope, which removes each process's fixed ~0.2 GB of
Python, PETSc and JIT-compiled forms): these are the numbers docs/scaling.md extrapolates.
The machine may be shared: every configuration runs ``--repeat`` times, ``uptime`` is
printed before and after, and each row also gives the CPU seconds of the whole job and
its share of ``ranks x wall time`` (below 1: the job waited for the cores).

    .venv/bin/python benchmarks/bench_scaling.py                       # the chip, 2 sizes, 1-2 ranks
    .venv/bin/python benchmarks/bench_scaling.py --case laser_chamber --resolutions 0.5 0.8
    .venv/bin/python benchmarks/bench_scaling.py --ranks 1 2 4 8 --resolutions 0.5 1.0 --direct
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_coupled import CASE as LASER_CASE, LASER_3D, ROOT, run  # noqa: E402

# case -> (case file, --set options that make it the 3D coupled benchmark)
CASES = {
    "chip": (ROOT / "cases" / "heater_chip_3d.toml", ("geometry.dimension=3",)),
    "laser_chamber": (LASER_CASE, LASER_3D),
}


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def timed_run(resolution: float, solver: str, ranks: int, case: Path, settings: tuple[str, ...]) -> dict:
    """:func:`bench_coupled.run` plus the CPU seconds of the whole job (all ranks, start-up
    included): on a shared machine the wall time also counts the time others had the cores."""
    before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    row = run(resolution, solver, ranks, case=case, settings=settings)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    row["job_wall_s"] = time.perf_counter() - start
    row["cpu_s"] = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return row


def per_unknown(row: dict) -> dict:
    """The row's costs per unknown: us per Newton step, kB of the whole job."""
    return {"us_per_unknown_step": 1e6 * row["flow_s"] / row["unknowns"] / row["newton"],
            "kb_per_unknown": 1e6 * row["peak_gb"] * row["ranks"] / row["unknowns"]}


def marginal(small: dict, large: dict) -> dict:
    """Costs of the extra unknowns from the small to the large mesh (fixed costs cancel)."""
    extra = large["unknowns"] - small["unknowns"]
    step = large["flow_s"] / large["newton"] - small["flow_s"] / small["newton"]
    return {"us_per_unknown_step": 1e6 * step / extra,
            "cpu_us_per_unknown": 1e6 * (large["cpu_s"] - small["cpu_s"]) / extra,
            "kb_per_unknown": 1e6 * (large["peak_gb"] * large["ranks"] - small["peak_gb"] * small["ranks"]) / extra}


HEADER = (f"{'res':>5} {'rep':>3} {'solver':>9} {'ranks':>5} {'unknowns':>9} {'newton':>6} {'GMRES/step':>10} "
          f"{'flow s':>7} {'us/unk/step':>11} {'peak GB/rank':>12} {'kB/unk':>7} {'eff(wall)':>9} {'job CPU s':>9} "
          f"{'CPU/wall':>8} {'eff(CPU)':>8}")


def describe(row: dict, rows: list[dict]) -> str:
    """One table line; the efficiencies against the 1-rank row of the same size, solver
    and repeat: t(1) / (n t(n)) from the flow's wall time, cpu(1) / cpu(n) from the job's
    CPU seconds (the extra work and waiting that n ranks add)."""
    head = f"{row['resolution']:5g} {row['repeat']:3d} {row['solver']:>9} {row['ranks']:5d}"
    if "error" in row:
        return f"{head}   failed: {row['error']}"
    row.update(per_unknown(row))
    one = next((r for r in rows if r.get("unknowns") and r["ranks"] == 1 and r["solver"] == row["solver"]
                and r["resolution"] == row["resolution"] and r["repeat"] == row["repeat"]), None)
    wall = f"{one['flow_s'] / (row['ranks'] * row['flow_s']):9.2f}" if one else f"{'-':>9}"
    cpu = f"{one['cpu_s'] / row['cpu_s']:8.2f}" if one else f"{'-':>8}"
    gmres = f"{min(row['linear'])}-{max(row['linear'])}" if row["solver"] == "iterative" else "-"
    return (f"{head} {row['unknowns']:9d} {row['newton']:6d} {gmres:>10} {row['flow_s']:7.1f} "
            f"{row['us_per_unknown_step']:11.1f} {row['peak_gb']:12.3f} {row['kb_per_unknown']:7.1f} {wall} "
            f"{row['cpu_s']:9.1f} {row['cpu_s'] / (row['ranks'] * row['job_wall_s']):8.2f} {cpu}")


def marginal_lines(rows: list[dict]) -> list[str]:
    """The marginal costs between the two sizes, per solver, rank count and repeat."""
    sizes = sorted({r["resolution"] for r in rows})
    lines = []
    for solver in ("iterative", "direct"):
        for ranks in sorted({r["ranks"] for r in rows}):
            for repeat in sorted({r["repeat"] for r in rows}):
                pick = {r["resolution"]: r for r in rows if r.get("unknowns") and r["solver"] == solver
                        and r["ranks"] == ranks and r["repeat"] == repeat}
                if len(sizes) == 2 and all(size in pick for size in sizes):
                    cost = marginal(pick[sizes[0]], pick[sizes[1]])
                    lines.append(f"  {solver:>9}, {ranks} rank(s), repeat {repeat}: {cost['us_per_unknown_step']:.1f} "
                                 f"us wall per Newton step, {cost['cpu_us_per_unknown']:.1f} us CPU for the whole "
                                 f"run, {cost['kb_per_unknown']:.2f} kB")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=sorted(CASES), default="chip")
    parser.add_argument("--resolutions", type=float, nargs=2, default=[0.25, 0.35])
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--direct", action="store_true", help="also MUMPS on 1 rank (memory per unknown)")
    parser.add_argument("--json", type=Path, help="write the rows here")
    parser.add_argument("--table", type=Path, help="print the table of rows saved with --json (no runs)")
    args = parser.parse_args()
    if args.table:
        saved = json.loads(args.table.read_text())
        print(f"{saved['case']}: {saved.get('before', '')}\n{HEADER}")
        for i, row in enumerate(saved["rows"]):
            print(describe(row, saved["rows"][: i + 1]))
        print(f"after: {saved['uptime']}\nmarginal costs between the two sizes (per extra unknown):")
        print("\n".join(marginal_lines(saved["rows"])))
        return
    case, settings = CASES[args.case]
    # a waiting rank yields its core (Open MPI spins otherwise): on a shared, oversubscribed
    # machine a spinning rank takes the core its partner needs
    os.environ.setdefault("OMPI_MCA_mpi_yield_when_idle", "1")
    before = uptime()
    print(f"{args.case}: {case.name} {' '.join(settings)}\nbefore: {before}\n{HEADER}", flush=True)
    rows = []
    for repeat in range(args.repeat):
        for resolution in args.resolutions:
            configurations = [("iterative", ranks) for ranks in args.ranks]
            if args.direct and repeat == 0:
                configurations.append(("direct", 1))
            for solver, ranks in configurations:
                row = {**timed_run(resolution, solver, ranks, case, settings), "repeat": repeat}
                rows.append(row)
                print(describe(row, rows), flush=True)
    print(f"after: {uptime()}\nmarginal costs between the two sizes (per extra unknown):")
    print("\n".join(marginal_lines(rows)))
    if args.json:
        args.json.write_text(json.dumps({"case": args.case, "before": before, "uptime": uptime(), "rows": rows},
                                        indent=1))


if __name__ == "__main__":
    main()
