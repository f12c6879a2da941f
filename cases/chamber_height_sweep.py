"""How thin must a side-heated Soret chamber be for convection to bias S_T by < 1 %?

A worked example of a sweep with the Python API: the case `soret_cell_gravity.toml` is
run over chamber heights; each run leaves its own output directory (a finished height is
not recomputed when the sweep is restarted), and the table gives the apparent Soret
coefficient's error against the height. The largest height below the tolerance is
interpolated on a log-log scale.

    .venv/bin/python cases/chamber_height_sweep.py                  # default heights
    .venv/bin/python cases/chamber_height_sweep.py 20 40 80 --tolerance 0.01
    mpirun -n 2 .venv/bin/python cases/chamber_height_sweep.py      # each run distributed
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from mpi4py import MPI

import thermocfd

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("heights_um", nargs="*", type=float, default=[20, 30, 40, 60, 80, 120])
    parser.add_argument("--gap", default="100 um", help="hot-to-cold wall distance")
    parser.add_argument("--tolerance", type=float, default=0.01, help="acceptable relative error of S_T")
    parser.add_argument("--out", type=Path, default=Path("results/chamber_height_sweep"))
    args = parser.parse_args()
    rank0 = MPI.COMM_WORLD.rank == 0
    rows = []
    for i, height in enumerate(args.heights_um, start=1):
        out = args.out / f"height_{height:g}um"
        summary_file = out / "summary.json"
        if summary_file.exists():  # resume: keep finished runs
            summary = json.loads(summary_file.read_text())
        else:
            case = thermocfd.load_case(HERE / "soret_cell_gravity.toml",
                                       [f'geometry.height="{height:g} um"', f'geometry.length="{args.gap}"',
                                        "output.pictures=false"])
            summary = thermocfd.run_case(case, out).summary
        rows.append((height, summary["apparent_soret_rel_error"], summary["max_flow_speed"]))
        if rank0:
            print(f"sweep {i}/{len(args.heights_um)}: height {height:g} um -> S_T error "
                  f"{100 * rows[-1][1]:.3g} %", flush=True)
    if not rank0:
        return
    print(f"\n{'height (um)':>12} {'S_T error (%)':>14} {'max flow (um/s)':>16}")
    for height, error, speed in rows:
        print(f"{height:12g} {100 * error:14.4g} {1e6 * speed:16.4g}")
    print(f"\nlargest chamber height with S_T error below {100 * args.tolerance:g} %: "
          f"{threshold(rows, args.tolerance)}")


def threshold(rows, tolerance: float) -> str:
    """Log-log interpolation between the last height below and the first above."""
    for (h0, e0, _), (h1, e1, _) in zip(rows, rows[1:]):
        if e0 <= tolerance < e1 and e0 > 0:
            slope = math.log(e1 / e0) / math.log(h1 / h0)
            return f"about {h0 * (tolerance / e0) ** (1 / slope):.3g} um"
    if rows and rows[-1][1] <= tolerance:
        return f"above {rows[-1][0]:g} um (every height tried is below the tolerance)"
    return f"below {rows[0][0]:g} um (every height tried is above the tolerance)"


if __name__ == "__main__":
    main()
