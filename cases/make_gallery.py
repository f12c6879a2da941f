"""Run every shipped case, keep small copies of its pictures in cases/gallery/, and
rewrite the gallery section of README.md (between the gallery markers).

    .venv/bin/python cases/make_gallery.py            # all cases
    .venv/bin/python cases/make_gallery.py laser_trap # some
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
GALLERY = ROOT / "cases" / "gallery"
WIDTH = 560
# case -> (extra --set options, pictures to show)
CASES = {
    "soret_cell": ([], ["soret_profile.png", "soret_cell_concentration.png"]),
    "tracking_soret_cell": (["tracking.particles=50000"], ["tracking_histogram.png", "trajectories.png"]),
    "soret_cell_gravity": ([], ["convection_concentration.png", "convection_drift.png"]),
    "thermogravitational_column": ([], ["convection_concentration.png"]),
    "laser_trap": ([], ["convection_concentration.png", "convection_drift.png", "convection_temperature.png"]),
    "heated_stripe_channel": ([], ["convection_concentration.png", "convection_drift.png"]),
    "sphere_near_wall": ([], ["phoretic_particle_flow.png", "phoretic_particle_temperature.png"]),
    "thermoosmotic_channel": ([], ["thermoosmotic_flow_flow.png"]),
}
BEGIN, END = "<!-- gallery:begin -->", "<!-- gallery:end -->"


def run(name: str, overrides: list[str]) -> tuple[Path, float]:
    out = ROOT / "results" / "gallery" / name
    command = [sys.executable, "-m", "thermocfd", "run", f"cases/{name}.toml", "--out", str(out), "--quiet"]
    for item in overrides:
        command += ["--set", item]
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True)
    return out, time.perf_counter() - start


def shrink(source: Path, target: Path) -> None:
    image = Image.open(source).convert("RGB")
    height = round(image.height * WIDTH / image.width)
    image.resize((WIDTH, height), Image.LANCZOS).save(target, optimize=True)


def main(names: list[str]) -> None:
    GALLERY.mkdir(exist_ok=True)
    rows = []
    for name in names or list(CASES):
        overrides, pictures = CASES[name]
        out, seconds = run(name, overrides)
        summary = json.loads((out / "summary.json").read_text())
        render = summary["timings_s"].get("pictures", float("nan"))
        cells = []
        for picture in pictures:
            target = GALLERY / f"{name}__{picture}"
            shrink(out / picture, target)
            cells.append(f"![{name} {picture}](cases/gallery/{target.name})")
        rows.append(f"| `{name}` ({seconds:.0f} s, pictures {render:.0f} s) | " + " ".join(cells) + " |")
        print(f"{name}: {seconds:.1f} s", flush=True)
    readme = ROOT / "README.md"
    text = readme.read_text()
    table = "\n".join(["| case (run time) | pictures |", "| --- | --- |", *rows])
    if BEGIN in text and END in text and not names:
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        readme.write_text(f"{head}{BEGIN}\n{table}\n{END}{tail}")
    else:
        print(table)


if __name__ == "__main__":
    main(sys.argv[1:])
