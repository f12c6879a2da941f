"""Pictures and exported fields: PNGs are real pictures, `thermocfd post` reproduces
them from stored results, field files read back with the right arrays and ranges."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pv = pytest.importorskip("pyvista")
Image = pytest.importorskip("PIL.Image")

ROOT = Path(__file__).resolve().parents[1]


def thermocfd(*args):
    return subprocess.run([sys.executable, "-m", "thermocfd", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=600)


@pytest.fixture(scope="module", params=[2, 3], ids=["2d", "3d"])
def run_dir(request, tmp_path_factory):
    out = tmp_path_factory.mktemp(f"post{request.param}")
    result = thermocfd("run", "cases/soret_cell.toml", "--out", str(out), "--quiet",
                       "--set", f"geometry.dimension={request.param}", "--set", "mesh.resolution=0.5",
                       "--set", "solute.soret_coefficient=0.2")
    assert result.returncode == 0, result.stderr
    return out


def pixels(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"), dtype=float)


def test_every_picture_is_a_real_picture(run_dir):
    summary = json.loads((run_dir / "summary.json").read_text())
    pngs = sorted(run_dir.glob("*.png"))
    assert {p.name for p in pngs} >= {"soret_cell_temperature.png", "soret_cell_concentration.png",
                                      "soret_cell_drift.png", "soret_profile.png"}
    assert set(summary["pictures"]) <= {p.name for p in pngs}
    for png in pngs:
        image = pixels(png)
        if png.name != "soret_profile.png":
            assert image.shape == (700, 1200, 3), png.name
        background = np.all(image > 245, axis=2)
        assert 0.1 < background.mean() < 0.95, png.name  # neither blank nor all paint
        colours = np.unique(image.reshape(-1, 3)[::7], axis=0)
        assert len(colours) > 50, png.name  # a colour map, not a flat fill
    assert summary["timings_s"]["pictures"] < 30


def test_post_reproduces_the_pictures(run_dir, tmp_path):
    names = json.loads((run_dir / "summary.json").read_text())["pictures"]
    for name in names:
        shutil.copy(run_dir / name, tmp_path / name)
        (run_dir / name).unlink()
    result = thermocfd("post", str(run_dir))
    assert result.returncode == 0, result.stderr
    for name in names:
        before, after = pixels(tmp_path / name), pixels(run_dir / name)
        assert np.abs(before - after).mean() < 1.0, name  # same picture (renderer noise aside)


def test_exported_fields_read_back(run_dir):
    summary = json.loads((run_dir / "summary.json").read_text())
    reader = pv.get_reader(str(run_dir / "fields" / "soret_cell.pvd"))
    grid = reader.read()
    while isinstance(grid, pv.MultiBlock):
        grid = grid.combine()
    assert {"temperature", "concentration"} <= set(grid.point_data.keys())
    T, c = np.asarray(grid.point_data["temperature"]), np.asarray(grid.point_data["concentration"])
    hot, cold = summary["inputs"]["temperature"]["hot"], summary["inputs"]["temperature"]["cold"]
    assert T.min() == pytest.approx(cold, abs=1e-8) and T.max() == pytest.approx(hot, abs=1e-8)
    assert c.min() == pytest.approx(summary["c_hot"], rel=1e-6)
    assert c.max() == pytest.approx(summary["c_cold"], rel=1e-6)
    assert grid.bounds[1] == pytest.approx(summary["inputs"]["geometry"]["length"], rel=1e-9)  # SI metres


def test_drift_table(run_dir):
    lines = (run_dir / "soret_cell_drift_table.csv").read_text().splitlines()
    row = dict(zip(lines[0].split(","), lines[1].split(",")))
    # D_T |grad T| = 1e-11 * 0.2 * 10 K / 100 um
    assert float(row["max_m_per_s"]) == pytest.approx(2e-7, rel=1e-3)


def test_view_without_display_is_a_clear_error(run_dir):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    result = subprocess.run([sys.executable, "-m", "thermocfd", "view", str(run_dir)], capture_output=True,
                            text=True, cwd=ROOT, env=env, timeout=120)
    assert result.returncode == 2 and "no display" in result.stderr and "Traceback" not in result.stderr


def test_post_on_a_non_run_directory(tmp_path):
    result = thermocfd("post", str(tmp_path))
    assert result.returncode == 2 and "summary.json" in result.stderr


def test_flagship_laser_trap_pictures(tmp_path):
    """The demo case writes pictures of c (with the drift) and of flow against
    thermophoresis, and they are real pictures."""
    result = thermocfd("run", "cases/laser_trap.toml", "--out", str(tmp_path), "--quiet")
    assert result.returncode == 0, result.stderr
    for name in ("convection_concentration.png", "convection_drift.png", "convection_temperature.png"):
        image = pixels(tmp_path / name)
        assert image.shape == (700, 1200, 3)
        assert len(np.unique(image.reshape(-1, 3)[::7], axis=0)) > 50, name
    grid = pv.read(str(tmp_path / "fields" / "convection.pvd"))
    while isinstance(grid, pv.MultiBlock):
        grid = grid.combine()
    assert {"temperature", "concentration", "velocity", "drift_velocity"} <= set(grid.point_data.keys())


def test_pictures_follow_the_case_settings(tmp_path):
    result = thermocfd("run", "cases/soret_cell.toml", "--out", str(tmp_path), "--quiet",
                       "--set", "pictures.width=640", "--set", "pictures.height=480",
                       "--set", "pictures.concentration_colormap=magma", "--set", "pictures.arrows=0")
    assert result.returncode == 0, result.stderr
    image = pixels(tmp_path / "soret_cell_concentration.png")
    assert image.shape == (480, 640, 3)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["inputs"]["pictures"]["concentration_colormap"] == "magma"
