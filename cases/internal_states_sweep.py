"""S_T of a two-state molecule against D_open/D_compact: FEM, tracker and reduced model.

The case `internal_states.toml` (a molecule switching between a compact and an open
state, neither with a Soret effect of its own) is run over the ratio of the two states'
diffusivities. Where the ratio crosses 1 the covariance Cov(D, E) changes sign and the
molecule turns from thermophilic (the open state, favoured on the warm side, is slower)
to thermophobic. Each point is run with the N-state FEM (kind soret_cell) and, unless
``--no-tracker``, with Brownian particles that switch state (kind tracking); the reduced
(fast-switching) model, S_T = Cov(D, E)/(k_B T^2 <D>) at the mean temperature, draws the
curve; the runs' S_T is the fitted slope of ln c against T (the FEM field; the tracker's
histogram, with its standard error). Finished points are kept in their output folders and
not recomputed.

    .venv/bin/python cases/internal_states_sweep.py                 # ~10 min on 2 cores
    .venv/bin/python cases/internal_states_sweep.py 0.5 1 2 --particles 200000
    .venv/bin/python cases/internal_states_sweep.py --no-tracker    # FEM and reduced model: seconds
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np
from mpi4py import MPI

import thermocfd

HERE = Path(__file__).resolve().parent


def run_point(kind: str, ratio: float, out: Path, extra: list[str]) -> dict:
    """One run (or its kept summary) at D_open = ratio x D_compact."""
    summary_file = out / "summary.json"
    if summary_file.exists():
        return json.loads(summary_file.read_text())
    base = thermocfd.load_case(HERE / "internal_states.toml")
    d_compact = base.solute.states["compact"].diffusivity.diffusivity(300.0)
    overrides = [f'case.kind="{kind}"', f"solute.states.open.diffusivity={ratio * d_compact:.6g}",
                 "output.pictures=false", "output.fields=false"] + extra
    return thermocfd.run_case(thermocfd.load_case(HERE / "internal_states.toml", overrides), out).summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ratios", nargs="*", type=float, default=[0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 4.0])
    parser.add_argument("--particles", type=int, default=50_000, help="tracked particles per point")
    parser.add_argument("--no-tracker", action="store_true", help="FEM and reduced model only")
    parser.add_argument("--out", type=Path, default=Path("results/internal_states_sweep"))
    args = parser.parse_args()
    rank0 = MPI.COMM_WORLD.rank == 0
    case = thermocfd.load_case(HERE / "internal_states.toml")

    rows = []
    for i, ratio in enumerate(args.ratios, start=1):
        fem = run_point("soret_cell", ratio, args.out / f"fem_ratio_{ratio:g}", [])
        row = {"ratio": ratio, "fem": fem["soret_coefficient_fit"], "reduced": fem["soret_coefficient_fast_switching"]}
        if not args.no_tracker:
            # k dt ~ 100: the kernel's fast-switching fallback, exact at this Da ~ 1e6
            tracked = run_point("tracking", ratio, args.out / f"tracker_ratio_{ratio:g}",
                                [f"tracking.particles={args.particles}", 'tracking.time_step="0.1 s"'])
            row["tracker"] = tracked["soret_coefficient_fit"]
            row["tracker_stderr"] = tracked["soret_coefficient_fit_stderr"]
        rows.append(row)
        if rank0:
            print(f"sweep {i}/{len(args.ratios)}: D_open/D_compact = {ratio:g} -> S_T (FEM) "
                  f"{row['fem']:.4g} 1/K, reduced model {row['reduced']:.4g} 1/K", flush=True)
    if not rank0:
        return
    header = f"{'D_open/D_compact':>17} {'S_T FEM (1/K)':>14} {'reduced (1/K)':>14}"
    print("\n" + header + ("" if args.no_tracker else f" {'tracker (1/K)':>14} {'+-':>9}"))
    for row in rows:
        line = f"{row['ratio']:17g} {row['fem']:14.5g} {row['reduced']:14.5g}"
        if "tracker" in row:
            line += f" {row['tracker']:14.5g} {row['tracker_stderr']:9.2g}"
        print(line)
    figure(case, rows, args.out / "soret_coefficient_vs_ratio.png")


def figure(case, rows: list[dict], path: Path) -> None:
    """S_T against the diffusivity ratio: the reduced model as a curve, runs as markers."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from thermocfd.physics import ConstantDiffusivity

    model = case.solute.internal_states
    T_mean = 0.5 * (case.temperature.hot + case.temperature.cold)
    d_compact = float(model.states[0].diffusivity.diffusivity(T_mean))
    ratios = np.geomspace(min(r["ratio"] for r in rows), max(r["ratio"] for r in rows), 200)

    def reduced(ratio):
        states = (model.states[0], dataclasses.replace(model.states[1], diffusivity=ConstantDiffusivity(ratio * d_compact)))
        return float(dataclasses.replace(model, states=states).soret_coefficient(T_mean))

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    ax.axhline(0.0, color="0.7", lw=0.8)
    ax.plot(ratios, [reduced(r) for r in ratios], "-", color="k", label="reduced model (fast switching)")
    ax.plot([r["ratio"] for r in rows], [r["fem"] for r in rows], "o", mfc="none", ms=8, label="FEM, 2 states")
    if any("tracker" in r for r in rows):
        tracked = [r for r in rows if "tracker" in r]
        ax.errorbar([r["ratio"] for r in tracked], [r["tracker"] for r in tracked],
                    yerr=[r["tracker_stderr"] for r in tracked], fmt="s", ms=4, capsize=3, label="tracker")
    ax.set_xscale("log")
    ax.set_xticks([r["ratio"] for r in rows], [f"{r['ratio']:g}" for r in rows])
    ax.minorticks_off()
    ax.set_xlabel(r"$D_\mathrm{open}/D_\mathrm{compact}$")
    ax.set_ylabel(r"$S_T$ (1/K): $-d\ln c/dT$")
    ax.set_title("thermophilic below 1, thermophobic above")
    ax.legend(frameon=False)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=150)
    print(f"figure: {path}")


if __name__ == "__main__":
    main()
