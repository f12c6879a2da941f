"""How much of an MST trace is convection: the apparent S_T from the trace, with gravity
against without, over the MST power and the capillary's inner diameter.

Each point is two runs of kind 'mst' (one capillary, the free target of
cases/mst_binding.toml, no ligand): with gravity (buoyant flow coupled to heat) and
without (the heat equation alone, no flow). Printed per point: the temperature rise at
the focus, the largest flow speed and thermophoretic drift at laser-off, their ratio, the
apparent S_T with and without gravity (the depletion seen in the hot window over the
detected temperature rise, the dye's T-jump calibrated exactly) and the convection's share
of it.

    .venv/bin/python benchmarks/mst_convection_artifact.py                 # the table (slow)
    .venv/bin/python benchmarks/mst_convection_artifact.py --resolution 0.35 --steps 20 --powers 40
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASE = ROOT / "cases" / "mst_binding.toml"


def single_capillary_case(folder: Path) -> Path:
    """The shipped case without its [binding] section: the free target in one capillary."""
    text = CASE.read_text()
    path = folder / "single_capillary.toml"
    path.write_text(text[: text.index("[binding]")] + text[text.index("[mst]"):])
    return path


def run(case: Path, out: Path, power: float, diameter: float, gravity: bool, resolution: float, steps: int) -> dict:
    g = -9.81 if gravity else 0.0
    overrides = [f"mst.power={power / 100.0}", f'geometry.inner_diameter="{diameter} mm"',
                 f"mesh.resolution={resolution}", f"time.steps={steps}", "mst.noise=0",
                 "output.pictures=false", "output.fields=false", f"gravity=[0.0, 0.0, {g}]"]
    command = [sys.executable, "-m", "thermocfd", "run", str(case), "--out", str(out), "--quiet"]
    for item in overrides:
        command += ["--set", item]
    subprocess.run(command, check=True, cwd=ROOT)
    return json.loads((out / "summary.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--powers", type=float, nargs="+", default=[20.0, 40.0, 80.0], help="MST power, %%")
    parser.add_argument("--diameters", type=float, nargs="+", default=[0.3, 0.5], help="inner diameter, mm")
    parser.add_argument("--resolution", type=float, default=0.5)
    parser.add_argument("--steps", type=int, default=40)
    args = parser.parse_args()
    print("| power | inner diameter | dT focus (K) | max flow (um/s) | max drift (um/s) | flow/drift | "
          "S_T apparent, no gravity (1/K) | with gravity (1/K) | convection's share | S_T true (1/K) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        case = single_capillary_case(Path(tmp))
        for diameter in args.diameters:
            for power in args.powers:
                still = run(case, Path(tmp) / f"still_{power}_{diameter}", power, diameter, False,
                            args.resolution, args.steps)
                moving = run(case, Path(tmp) / f"moving_{power}_{diameter}", power, diameter, True,
                             args.resolution, args.steps)
                share = moving["apparent_soret_coefficient"] / still["apparent_soret_coefficient"] - 1.0
                print(f"| {power:g} % | {diameter:g} mm | {moving['temperature_rise_focus']:.2f} | "
                      f"{1e6 * moving['max_flow_speed']:.3g} | {1e6 * moving['thermophoretic_drift_speed']:.3g} | "
                      f"{moving['flow_to_drift_ratio']:.3g} | {still['apparent_soret_coefficient']:.4g} | "
                      f"{moving['apparent_soret_coefficient']:.4g} | {100 * share:+.1f} % | "
                      f"{moving['soret_coefficient_true']:.4g} |", flush=True)


if __name__ == "__main__":
    main()
