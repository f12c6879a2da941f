"""report.html and scene.html of a small 3D run, opened in a real browser (Debian's
headless Chromium, WebGL through ANGLE on SwiftShader): the screenshots show the page and the
rendered 3D scene, and the report's numbers are summary.json's.

Chromium is required: the test fails without it, unless THERMOCFD_NO_BROWSER=1.
"""

import json
import os
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pyvista")
pytest.importorskip("trame_vtk")
Image = pytest.importorskip("PIL.Image")

ROOT = Path(__file__).resolve().parents[1]
NO_BROWSER = os.environ.get("THERMOCFD_NO_BROWSER") == "1"


def thermocfd(*args):
    return subprocess.run([sys.executable, "-m", "thermocfd", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=600)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A transient 3D Soret cell (analytic references) with its animation: a 3D run's
    pictures, scene and report."""
    out = tmp_path_factory.mktemp("report3d")
    result = thermocfd("run", "cases/soret_cell.toml", "--out", str(out), "--quiet",
                       "--set", "geometry.dimension=3", "--set", "mesh.resolution=0.5",
                       "--set", "solute.soret_coefficient=0.2", "--set", "time.transient=true",
                       "--set", "time.steps=6", "--set", "output.snapshots=3", "--set", "output.animation=true")
    assert result.returncode == 0, result.stderr
    return out


class Cells(HTMLParser):
    """The report's value cells: data-key -> (data-value, shown text)."""

    def __init__(self):
        super().__init__()
        self.cells: dict[str, list[tuple[str, str]]] = {}
        self._open = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "td" and "data-key" in attrs:
            self._open = (attrs["data-key"], attrs["data-value"], [])

    def handle_data(self, data):
        if self._open is not None:
            self._open[2].append(data)

    def handle_endtag(self, tag):
        if tag == "td" and self._open is not None:
            key, value, text = self._open
            self.cells.setdefault(key, []).append((value, "".join(text)))
            self._open = None


def cells_of(text: str) -> dict:
    parser = Cells()
    parser.feed(text)
    return parser.cells


def numbers(summary: dict) -> dict:
    def number(v):
        return isinstance(v, (int, float)) and not isinstance(v, bool)

    return {k: v for k, v in summary.items() if k not in ("wall_time_s", "mpi_size")
            and (number(v) or (isinstance(v, list) and v and all(number(x) for x in v)))}


def check_numbers(cells: dict, summary: dict) -> None:
    expected = numbers(summary)
    assert expected.keys() <= cells.keys(), sorted(expected.keys() - cells.keys())
    for key, value in expected.items():
        for stored, shown in cells[key]:
            assert json.loads(stored) == value, key  # the very number of summary.json
            shown_values = [float(x) for x in shown.strip("[]").split(",")]
            assert shown_values == pytest.approx(value if isinstance(value, list) else [value], rel=1e-5), key


def test_report_numbers_are_the_summary(run_dir):
    summary = json.loads((run_dir / "summary.json").read_text())
    text = (run_dir / "report.html").read_text()
    cells = cells_of(text)
    check_numbers(cells, summary)
    # the analytic reference sits next to the result
    assert json.loads(cells["c_ratio_expected"][0][0]) == summary["c_ratio_expected"]
    assert json.loads(cells["relaxation_time_reference"][0][0]) == summary["relaxation_time_reference"]
    assert "Against references" in text and "exp(∫S_T dT)" in text
    # self-contained: the pictures are embedded, nothing is fetched
    pictures = sorted(p.name for p in run_dir.glob("*.png"))
    assert text.count("data:image/png;base64,") == len(pictures) >= 6
    assert "http://" not in text and "https://" not in text and "src='http" not in text
    assert "href='scene.html'" in text and "fields/soret_cell.pvd" in text
    assert text.count("data:image/gif;base64,") == 1 and "href='soret_cell_concentration.mp4'" in text


def test_transient_animation_gif_and_mp4(run_dir):
    """The animation: a GIF and an MP4 with one frame per snapshot, and it changes."""
    imageio = pytest.importorskip("imageio.v2")
    pytest.importorskip("imageio_ffmpeg")
    frames = imageio.mimread(run_dir / "soret_cell_concentration.gif")
    reader = imageio.get_reader(run_dir / "soret_cell_concentration.mp4")
    movie = [frame for frame in reader]
    reader.close()
    assert len(frames) == len(movie) >= 3
    assert np.abs(np.asarray(movie[0], float) - np.asarray(movie[-1], float)).mean() > 0.1  # it moves


def test_report_command_rebuilds_it(run_dir):
    before = (run_dir / "report.html").read_text()
    (run_dir / "report.html").unlink()
    result = thermocfd("report", str(run_dir))
    assert result.returncode == 0, result.stderr
    after = (run_dir / "report.html").read_text()
    # the same numbers and pictures (the timings table gains the pictures' total)
    assert cells_of(after) == cells_of(before)
    assert after.split("<h2>Timings")[0] == before.split("<h2>Timings")[0]
    missing = thermocfd("report", str(run_dir / "nowhere"))
    assert missing.returncode == 2 and "summary.json" in missing.stderr and "Traceback" not in missing.stderr


def test_verdict_in_plain_words():
    from thermocfd.post.report import verdict

    level, words = verdict({"apparent_soret_rel_error": 0.004, "apparent_soret_coefficient": 0.1004,
                            "soret_coefficient_true": 0.1, "max_flow_speed": 1e-9,
                            "thermophoretic_drift_speed": 1e-7}, [])
    assert level == "ok" and words.startswith("Convection is negligible")
    level, words = verdict({"apparent_soret_rel_error": 14.0, "apparent_soret_coefficient": 6.0,
                            "soret_coefficient_true": 0.4, "max_flow_speed": 1.6e-6,
                            "thermophoretic_drift_speed": 0.94e-6, "gravitational_length": 1e-6,
                            "thermophoretic_length": 1e-4}, [{"fraction": "0.98"}])
    assert level == "bad" and "dominates" in words and "1.7 times" in words and "98 %" in words
    assert "Sedimentation matters" in words
    assert verdict({"c_ratio_cold_hot": 1.6}, []) == ("", "")


def test_sweep_report(tmp_path):
    """A sweep's page: one row per point (linked to its report), the plots embedded."""
    from thermocfd.post.report import sweep_report

    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "report.html").write_text("<html></html>")
    (tmp_path / "plots").mkdir()
    Image.new("RGB", (20, 10), (200, 30, 30)).save(tmp_path / "plots" / "x__vs__y.png")
    columns = ["point", "temperature.hot", "status", "c_ratio_cold_hot"]
    rows = [{"point": "a", "temperature.hot": 310.0, "status": "ok", "c_ratio_cold_hot": 1.648721},
            {"point": "b", "temperature.hot": 320.0, "status": "pending", "c_ratio_cold_hot": None}]
    text = sweep_report(tmp_path, columns, rows).read_text()
    cells = cells_of(text)
    assert json.loads(cells["a.c_ratio_cold_hot"][0][0]) == 1.648721
    assert json.loads(cells["b.temperature.hot"][0][0]) == 320.0
    assert "href='a/report.html'" in text and "href='b/report.html'" not in text
    assert text.count("data:image/png;base64,") == 1


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def browse(page: Path, out: Path | None, profile: Path, *extra: str) -> subprocess.CompletedProcess:
    browser = chromium()
    if browser is None:
        if NO_BROWSER:
            pytest.skip("THERMOCFD_NO_BROWSER=1 and no chromium")
        pytest.fail("chromium not found (apt-get install chromium; or THERMOCFD_NO_BROWSER=1 to skip)")
    args = [browser, "--headless", "--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
            "--hide-scrollbars", "--window-size=1200,900", "--virtual-time-budget=8000",
            f"--user-data-dir={profile}"]
    if out is not None:
        args.append(f"--screenshot={out}")
    return subprocess.run([*args, *extra, page.as_uri()], capture_output=True, text=True, timeout=120)


def test_report_in_chromium(run_dir, tmp_path):
    summary = json.loads((run_dir / "summary.json").read_text())
    shot = tmp_path / "report.png"
    result = browse(run_dir / "report.html", shot, tmp_path / "profile")
    assert shot.is_file(), result.stderr[-2000:]
    image = np.asarray(Image.open(shot).convert("RGB"), dtype=float)
    assert image.shape[:2] == (900, 1200)
    assert image.std() > 20  # text and tables, not a blank page
    assert (image.min(axis=2) < 80).mean() > 0.005  # dark text
    dom = browse(run_dir / "report.html", None, tmp_path / "profile", "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    check_numbers(cells_of(dom.stdout), summary)  # what the browser parsed is summary.json
    assert "soret_cell: soret_cell" in dom.stdout


def test_scene_in_chromium(run_dir, tmp_path):
    """The vtk.js viewer draws the fields: coloured sections fill much of the canvas."""
    shot = tmp_path / "scene.png"
    result = browse(run_dir / "scene.html", shot, tmp_path / "profile")
    assert shot.is_file(), result.stderr[-2000:]
    image = np.asarray(Image.open(shot).convert("RGB"), dtype=float)
    saturation = image.max(axis=2) - image.min(axis=2)
    coloured = saturation > 60  # colour-mapped surfaces (viridis, inferno) against a white page
    assert coloured.mean() > 0.05, coloured.mean()
    assert len(np.unique(image[coloured].astype(int), axis=0)) > 200  # a colour map, not a flat fill
    # two panels side by side (temperature, concentration): colour in each half
    halves = np.array_split(coloured, 2, axis=1)
    assert all(half.mean() > 0.02 for half in halves), [half.mean() for half in halves]
    text = (run_dir / "scene.html").read_text()
    assert "https://" not in text.split("OfflineLocalView.load")[-1]  # the data are inline
