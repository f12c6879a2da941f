"""Coupled flow + heat (+ solute) in the 3D laser chamber: the iterative solver (GMRES,
block-triangular field split, BoomerAMG) against MUMPS, at several mesh sizes.

Each configuration runs as its own process (``thermocfd run``), so its peak memory is
its own; printed per configuration: coupled unknowns, Newton iterations, GMRES iterations
per Newton step, the flow (Newton) time, time per unknown and the peak resident memory
of the largest rank. Run on a quiet machine:

    .venv/bin/python benchmarks/bench_coupled.py --resolutions 0.5 0.75 1 --ranks 1 2
    .venv/bin/python benchmarks/bench_coupled.py --resolutions 2 --solvers iterative

MUMPS is skipped where ``--direct-max`` (unknowns) says it would not fit.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASE = ROOT / "cases" / "laser_trap.toml"
# the child reports its own peak memory: RUSAGE_CHILDREN of a wrapper counts mpirun's ranks
WRAPPER = ("import resource, subprocess, sys; code = subprocess.run(sys.argv[1:]).returncode; "
           "print('PEAK_KB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(code)")


LASER_3D = ("geometry.dimension=3", 'laser.power="25 mW"')


def run(resolution: float, solver: str, ranks: int, case: Path = CASE, settings: tuple[str, ...] = LASER_3D) -> dict:
    """One configuration of ``case`` (with ``settings`` as --set options) in its own process."""
    out = Path(tempfile.mkdtemp(prefix="bench_coupled_"))
    command = [sys.executable, "-m", "thermocfd", "run", str(case), "--out", str(out), "--quiet",
               *[option for setting in settings for option in ("--set", setting)],
               "--set", f"mesh.resolution={resolution}", "--set", f'solver.linear_solver="{solver}"',
               "--set", "output.pictures=false", "--set", "output.fields=false", "--set", "solver.max_memory='none'"]
    if ranks > 1:
        command = ["mpirun", "-n", str(ranks), "--allow-run-as-root", "--oversubscribe"] + command
    result = subprocess.run([sys.executable, "-c", WRAPPER] + command, capture_output=True, text=True)
    peak = next((int(line.split()[1]) for line in result.stdout.splitlines() if line.startswith("PEAK_KB")), 0)
    if result.returncode != 0:
        return {"resolution": resolution, "solver": solver, "ranks": ranks, "error": result.stderr.strip()[-300:]}
    summary = json.loads((out / "summary.json").read_text())
    nonlinear = summary["nonlinear_solver"]
    unknowns = summary["coupled_unknowns"]
    flow_time = summary["timings_s"]["flow"]
    return {"resolution": resolution, "solver": solver, "ranks": ranks, "unknowns": unknowns,
            "newton": nonlinear["newton_iterations"], "linear": nonlinear["linear_iterations"],
            "flow_s": flow_time, "us_per_unknown": 1e6 * flow_time / unknowns, "peak_gb": peak / 1e6,
            "wall_s": summary["wall_time_s"], "temperature_rise_max": summary["temperature_rise_max"],
            "max_flow_speed": summary["max_flow_speed"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolutions", type=float, nargs="+", default=[0.5, 0.75, 1.0])
    parser.add_argument("--solvers", nargs="+", default=["iterative", "direct"])
    parser.add_argument("--ranks", type=int, nargs="+", default=[1])
    parser.add_argument("--direct-max", type=float, default=4e5, help="largest unknowns to try MUMPS on")
    args = parser.parse_args()
    rows = []
    print(f"{'res':>5} {'solver':>9} {'ranks':>5} {'unknowns':>9} {'newton':>6} {'GMRES/step':>14} "
          f"{'flow s':>8} {'us/unk':>7} {'peak GB':>8}  T rise, max |u|")
    for resolution in args.resolutions:
        for ranks in args.ranks:
            for solver in args.solvers:
                sized = [row for row in rows if row.get("resolution") == resolution and "unknowns" in row]
                if solver == "direct" and sized and sized[0]["unknowns"] > args.direct_max:
                    print(f"{resolution:5g} {solver:>9} {ranks:5d}   skipped (> --direct-max unknowns)")
                    continue
                row = run(resolution, solver, ranks)
                rows.append(row)
                if "error" in row:
                    print(f"{resolution:5g} {solver:>9} {ranks:5d}   failed: {row['error']}")
                    continue
                steps = row["linear"][1:] or row["linear"]
                gmres = f"{min(steps)}-{max(steps)}" if solver == "iterative" else "-"
                print(f"{resolution:5g} {solver:>9} {ranks:5d} {row['unknowns']:9d} {row['newton']:6d} {gmres:>14} "
                      f"{row['flow_s']:8.1f} {row['us_per_unknown']:7.1f} {row['peak_gb']:8.2f}  "
                      f"{row['temperature_rise_max']:.6g} K, {row['max_flow_speed']:.6g} m/s", flush=True)
    pairs = {}
    for row in rows:
        if "unknowns" in row:
            pairs.setdefault((row["resolution"], row["ranks"]), {})[row["solver"]] = row
    for (resolution, ranks), pair in sorted(pairs.items()):
        if "direct" in pair and "iterative" in pair:
            d, i = pair["direct"], pair["iterative"]
            print(f"res {resolution:g}, {ranks} rank(s): MUMPS / iterative time {d['flow_s'] / i['flow_s']:.2f}, "
                  f"memory {d['peak_gb'] / max(i['peak_gb'], 1e-9):.2f}; T rise differs by "
                  f"{abs(d['temperature_rise_max'] - i['temperature_rise_max']) / d['temperature_rise_max']:.1e}")


if __name__ == "__main__":
    main()
