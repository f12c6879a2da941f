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

from thermocfd.post.fields import find_series

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
    assert set(summary["pictures"]) <= {p.name for p in run_dir.iterdir()}
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
    names = [n for n in json.loads((run_dir / "summary.json").read_text())["pictures"] if n.endswith(".png")]
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
    grid = find_series(run_dir)["soret_cell"].read()  # unit suffixes off the array names
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
    grid = find_series(tmp_path)["convection"].read()
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


def test_3d_pictures_look_where_the_physics_is(run_dir):
    """A 3D run adds the face-on vertical section and the floor plane, and writes
    scene.html and report.html; a 2D run has neither section nor floor."""
    names = {p.name for p in run_dir.iterdir()}
    three_d = json.loads((run_dir / "summary.json").read_text())["inputs"]["geometry"]["dimension"] == 3
    sections = {"soret_cell_temperature_section.png", "soret_cell_concentration_section.png",
                "soret_cell_concentration_floor.png"}
    assert {"scene.html", "report.html"} <= names
    if three_d:
        assert sections <= names
        floor = pixels(run_dir / "soret_cell_concentration_floor.png")
        assert len(np.unique(floor.reshape(-1, 3)[::7], axis=0)) > 50  # a colour map on the floor
    else:
        assert not sections & names


def test_thin_axes_get_few_tick_labels():
    """The 3D laser chamber (400 x 400 x 50 um) is drawn with its height stretched x2.5 and
    two labels on the thin axis; labels grow with the displayed length, never past 5."""
    from thermocfd.post.render import add_bounded_axes, axis_stretch, label_counts, nice_ceiling

    stretch = axis_stretch([400.0, 400.0, 50.0])
    assert list(stretch) == [1.0, 1.0, 2.5]  # 50 x 2.5 = 125 >= 0.3 x 400
    assert list(axis_stretch([400.0, 400.0, 50.0], fixed=1.0)) == [1.0, 1.0, 1.0]
    assert list(axis_stretch([100.0, 0.0, 0.0])) == [1.0, 1.0, 1.0]  # flat axes stay
    assert list(axis_stretch([2000.0, 100.0, 50.0])) == [1.0, 10.0, 20.0]  # a chip's channel
    assert [nice_ceiling(v) for v in (0.5, 1.0, 1.2, 2.2, 3.0, 7.0, 12.0)] == [1, 1, 2, 2.5, 5, 10, 20]
    assert label_counts([400.0, 400.0, 125.0]) == [5, 5, 2]
    assert label_counts([400.0, 200.0, 1.0]) == [5, 3, 2]
    assert max(label_counts(np.random.default_rng(1).uniform(1, 1000, (50, 3)).ravel())) <= 5
    plotter = pv.Plotter(off_screen=True)
    plotter.add_mesh(pv.Box((-200, 200, -200, 200, 0, 125)))
    axes = add_bounded_axes(plotter, (-200, 200, -200, 200, 0, 50), stretch)
    assert (axes.n_xlabels, axes.n_ylabels, axes.n_zlabels) == (5, 5, 2)
    assert axes.z_axis_range == pytest.approx((0.0, 50.0))  # labelled in true um on stretched geometry
    plotter.close()


def test_ranges_and_levels_from_the_distribution():
    """Weighted quantiles: a few extreme nodes move neither the low end of the colour scale
    nor the isosurface, which sits half-way from the median to the peak."""
    from thermocfd.post import render

    values = np.array([1.0, 2.0, 3.0, 4.0])
    assert render.weighted_quantile(values, np.ones(4), 0.5) == pytest.approx(2.5)
    assert render.weighted_quantile(values, np.array([1.0, 1.0, 1.0, 97.0]), 0.6) == pytest.approx(4.0)
    grid = pv.ImageData(dimensions=(41, 41, 6), spacing=(10.0, 10.0, 10.0)).cast_to_unstructured_grid()
    r2 = np.sum((np.asarray(grid.points)[:, :2] - 200.0) ** 2, axis=1)
    c = 1.0 + 40.0 * np.exp(-r2 / 400.0) * np.exp(-np.asarray(grid.points)[:, 2] / 10.0)
    c[0] = -4.0  # an undershoot at one node
    grid.point_data["concentration"] = c
    low, high, log = render.concentration_range(grid)
    assert low == pytest.approx(1.0, abs=1e-3) and high == pytest.approx(c.max()) and log
    median = render.volume_quantile(grid, "concentration", 0.5)
    assert render.isosurface_level(grid, log=False) == pytest.approx(0.5 * (median + c.max()))
    assert render.isosurface_level(grid, log=True) == pytest.approx(np.sqrt(median * c.max()))



def test_the_liquid_of_a_chip_is_its_solute_region():
    """A solid cell whose nodes all touch the liquid stays out of the liquid's pictures
    when the file carries region tags (a coarse chip mesh has such cells)."""
    from thermocfd.post.render import _where_solute_lives

    grid = pv.ImageData(dimensions=(5, 2, 2)).cast_to_unstructured_grid()  # 4 cells along x
    x = np.asarray(grid.points)[:, 0]
    grid.point_data["concentration"] = np.where(x <= 2.0, 1.0, 0.0)  # liquid x <= 2; its nodes hold solute
    grid.cell_data["region"] = np.array([1, 1, 2, 2], dtype=np.int32)  # cells 0, 1 liquid; 2, 3 solid
    assert _where_solute_lives(grid).n_cells == 2
    grid.point_data["concentration"] = np.where(x <= 3.0, 1.0, 0.0)  # solid cell 2 touches solute only
    assert _where_solute_lives(grid).n_cells == 2  # region 2 is mostly dry: none of it is liquid
    del grid.cell_data["region"]
    assert _where_solute_lives(grid).n_cells == 3  # without tags: cell by cell
