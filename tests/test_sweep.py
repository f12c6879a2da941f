"""thermocfd sweep: points, folders, resuming, the table, interruption, Slurm scripts."""

import csv
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from thermocfd.cli import main
from thermocfd.errors import ThermocfdError
from thermocfd.sweep import combine, parse_vary, point_names, read_point_list, split_values

ROOT = Path(__file__).resolve().parents[1]
CASE = ROOT / "cases" / "soret_cell.toml"
THERMOCFD = [sys.executable, "-m", "thermocfd"]
# the cheapest real run: a coarse steady Soret cell, no pictures or field files
CHEAP = ["--set", "mesh.resolution=0.3", "--set", "output.pictures=false", "--set", "output.fields=false"]
# 2 x 3 points; a length with a unit checks the SI conversion of the table
VARY = ["--vary", 'geometry.length="100 um","80 um"', "--vary", 'solute.soret_coefficient=0.01,"0.02 1/K",0.05']
LENGTHS = {'"100 um"': 1e-4, '"80 um"': 8e-5}
FEW = "c_ratio_cold_hot,soret_coefficient_fit"
SORET = {"0.01": 0.01, '"0.02 1/K"': 0.02, "0.05": 0.05}


def sweep(*args, cwd=ROOT, timeout=300):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.run([*THERMOCFD, "sweep", *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=timeout)


def cli(capsys, *args) -> subprocess.CompletedProcess:
    """``thermocfd sweep ...`` in this process, for the calls that start no run."""
    status = main(["sweep", *map(str, args)])
    captured = capsys.readouterr()
    return subprocess.CompletedProcess(args, status, captured.out, captured.err)


def read_table(out: Path) -> list[dict]:
    with open(out / "sweep.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def summaries(out: Path) -> dict[str, dict]:
    return {path.parent.name: json.loads(path.read_text()) for path in out.glob("*/summary.json")}


def scalar_keys(summary: dict) -> list[str]:
    return [key for key, value in summary.items()
            if isinstance(value, (int, float)) and not isinstance(value, bool) and key != "mpi_size"]


def check_rows(out: Path, rows: list[dict]) -> None:
    """Every ok row holds exactly its point's summary values; no other row holds any."""
    done = summaries(out)
    parameters = {p["name"]: p["parameters"] for p in json.loads((out / "points.json").read_text())["points"]}
    for row in rows:
        point = parameters[row["point"]]
        assert float(row["geometry.length"]) == pytest.approx(LENGTHS[point["geometry.length"]], rel=1e-12)
        assert float(row["solute.soret_coefficient"]) == pytest.approx(SORET[point["solute.soret_coefficient"]],
                                                                       rel=1e-12)
        values = {key: value for key, value in row.items()
                  if key not in ("point", "geometry.length", "solute.soret_coefficient", "status")}
        if row["status"] != "ok":
            assert row["status"] == "pending" and not any(values.values()), row
            continue
        summary = done[row["point"]]
        assert summary["status"] == "ok"
        # the point ran with its own overrides
        assert summary["inputs"]["geometry"]["length"] == pytest.approx(float(row["geometry.length"]), rel=1e-12)
        assert summary["inputs"]["solute"]["soret_coefficient"]["value"] == pytest.approx(
            float(row["solute.soret_coefficient"]), rel=1e-12)
        for key, text in values.items():
            assert float(text) == summary[key], key


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A 6-point sweep, run once to the end (2 processes at a time)."""
    out = tmp_path_factory.mktemp("sweep") / "out"
    started = time.perf_counter()
    result = sweep(CASE, *VARY, *CHEAP, "--out", out, "--jobs", 2)
    return out, result, time.perf_counter() - started


def test_six_points_then_a_second_run_does_no_work(finished):
    out, first, first_s = finished
    assert first.returncode == 0, first.stderr
    assert sum(": ok (" in line for line in first.stdout.splitlines()) == 6
    rows = read_table(out)
    assert len(rows) == 6 and len({row["point"] for row in rows}) == 6
    assert all(row["status"] == "ok" for row in rows)
    some = next(iter(summaries(out).values()))
    assert list(rows[0]) == ["point", "geometry.length", "solute.soret_coefficient", "status", *scalar_keys(some)]
    check_rows(out, rows)
    assert {path.parent.name for path in out.glob("*/summary.json")} == {row["point"] for row in rows}
    assert (out / "length=100um__soret_coefficient=0.02_1_K" / "summary.json").is_file()
    assert (out / "plots" / "c_ratio_cold_hot__vs__geometry.length.png").is_file()
    mtimes = {path: path.stat().st_mtime_ns for path in out.glob("*/summary.json")}
    table = (out / "sweep.csv").read_text()

    started = time.perf_counter()
    second = sweep(CASE, *VARY, *CHEAP, "--out", out, "--jobs", 2)
    second_s = time.perf_counter() - started
    assert second.returncode == 0, second.stderr
    assert "6 done, 0 to run" in second.stdout and ": ok (" not in second.stdout
    assert {path: path.stat().st_mtime_ns for path in out.glob("*/summary.json")} == mtimes
    assert (out / "sweep.csv").read_text() == table
    assert second_s < 0.5 * first_s, (first_s, second_s)
    print(f"first run {first_s:.1f} s, second {second_s:.1f} s")


def test_parquet_and_collect_only_rebuild_the_same_table(finished, tmp_path):
    out, _, _ = finished
    pandas = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    for name in ("sweep.csv", "sweep.parquet"):
        (copy / name).unlink()
    # the manifest alone defines the points: no --vary needed, and --collect picks columns
    result = sweep(CASE, "--collect-only", "--out", copy, "--collect", "c_ratio_cold_hot,timings_s.heat")
    assert result.returncode == 0, result.stderr
    rows = read_table(copy)
    assert list(rows[0]) == ["point", "geometry.length", "solute.soret_coefficient", "status",
                             "c_ratio_cold_hot", "timings_s.heat"]
    done = summaries(copy)
    for row in rows:
        assert float(row["c_ratio_cold_hot"]) == done[row["point"]]["c_ratio_cold_hot"]
        assert float(row["timings_s.heat"]) == done[row["point"]]["timings_s"]["heat"]
    frame = pandas.read_parquet(copy / "sweep.parquet")
    assert list(frame["point"]) == [row["point"] for row in rows]
    assert list(frame["c_ratio_cold_hot"]) == [float(row["c_ratio_cold_hot"]) for row in rows]
    # a Soret cell's analytic ratio exp(S_T dT), dT = 10 K: the table holds the physics
    for length, soret, ratio in zip(frame["geometry.length"], frame["solute.soret_coefficient"],
                                    frame["c_ratio_cold_hot"]):
        assert ratio == pytest.approx(math.exp(10 * soret), rel=1e-9)


def test_failed_point_is_reported_not_retried_unless_asked(finished, tmp_path):
    out, _, _ = finished
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    failed = copy / "length=80um__soret_coefficient=0.05"
    summary = json.loads((failed / "summary.json").read_text())
    (failed / "summary.json").write_text(json.dumps({**summary, "status": "failed", "error": "Newton diverged"}))
    mtimes = {path: path.stat().st_mtime_ns for path in copy.glob("*/summary.json")}
    result = sweep(CASE, *VARY, *CHEAP, "--out", copy, "--collect", FEW)
    assert result.returncode == 3, result.stderr
    assert "failed before (Newton diverged)" in result.stdout and "5 done, 0 to run" in result.stdout
    assert {path: path.stat().st_mtime_ns for path in copy.glob("*/summary.json")} == mtimes
    row = next(row for row in read_table(copy) if row["point"] == failed.name)
    assert row["status"] == "failed" and row["c_ratio_cold_hot"] == ""
    retried = sweep(CASE, *VARY, *CHEAP, "--out", copy, "--retry-failed", "--collect", FEW)
    assert retried.returncode == 0, retried.stderr
    assert json.loads((failed / "summary.json").read_text())["status"] == "ok"
    assert all(row["status"] == "ok" for row in read_table(copy))


def test_sigterm_mid_sweep_then_rerun_completes_the_table(tmp_path):
    out = tmp_path / "out"
    process = subprocess.Popen([*THERMOCFD, "sweep", str(CASE), *VARY, *CHEAP, "--out", str(out), "--jobs", "1",
                                "--collect", FEW],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                               env=dict(os.environ, PYTHONUNBUFFERED="1"))
    deadline = time.monotonic() + 240
    while sum(s["status"] == "ok" for s in summaries(out).values()) < 2 and process.poll() is None:
        assert time.monotonic() < deadline, "the sweep did not finish two points"
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 4, stdout + stderr
    assert "stopped by SIGTERM" in stdout
    rows = read_table(out)
    assert len(rows) == 6 and len({row["point"] for row in rows}) == 6
    done_before = [row["point"] for row in rows if row["status"] == "ok"]
    assert 2 <= len(done_before) < 6
    check_rows(out, rows)  # the points not finished are pending, with no values
    mtimes = {name: (out / name / "summary.json").stat().st_mtime_ns for name in done_before}

    result = sweep(CASE, *VARY, *CHEAP, "--out", out, "--jobs", 2, "--collect", FEW)
    assert result.returncode == 0, result.stderr
    assert list(read_table(out)[0])[4:] == FEW.split(",")
    assert f"{len(done_before)} done, {6 - len(done_before)} to run" in result.stdout
    rows = read_table(out)
    assert len(rows) == 6 and len({row["point"] for row in rows}) == 6
    assert all(row["status"] == "ok" for row in rows)
    check_rows(out, rows)
    assert {name: (out / name / "summary.json").stat().st_mtime_ns for name in done_before} == mtimes


def test_split_values_keeps_commas_inside_quotes_and_brackets():
    assert split_values('"20 um","40, um"') == ['"20 um"', '"40, um"']
    assert split_values('[1, 2],{law = "piazza", t0 = "]"},3') == ["[1, 2]", '{law = "piazza", t0 = "]"}', "3"]
    assert split_values(r'"a\",b",c') == [r'"a\",b"', "c"]
    assert split_values("'x,y',water") == ["'x,y'", "water"]
    for bad in ('"20 um,30 um', "[1, 2", "1,,2", "1]"):
        with pytest.raises(ThermocfdError):
            split_values(bad)
    with pytest.raises(ThermocfdError, match="listed twice"):
        parse_vary("temperature.hot=300,300")


def test_zip_product_and_list_points(tmp_path, capsys):
    varied = [("a.x", ["1", "2", "3"]), ("b.y", ["u", "v", "w"])]
    assert combine(varied, zipped=True) == [{"a.x": "1", "b.y": "u"}, {"a.x": "2", "b.y": "v"},
                                            {"a.x": "3", "b.y": "w"}]
    assert len(combine(varied)) == 9 and combine(varied)[1] == {"a.x": "1", "b.y": "v"}
    with pytest.raises(ThermocfdError, match="equal length"):
        combine([("a.x", ["1", "2"]), ("b.y", ["u"])], zipped=True)
    listed = tmp_path / "points.csv"
    listed.write_text('temperature.hot,geometry.height\n310 K,"""20 um"""\n"320 K",40 um\n')
    assert read_point_list(listed) == [{"temperature.hot": "310 K", "geometry.height": '"20 um"'},
                                       {"temperature.hot": "320 K", "geometry.height": "40 um"}]
    out = tmp_path / "out"
    result = cli(capsys, CASE, "--list", listed, *CHEAP, "--out", out, "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "hot=310K__height=20um" in result.stdout and "hot=320K__height=40um" in result.stdout
    assert not out.exists()  # a dry run writes nothing
    zipped = cli(capsys, CASE, "--vary", "temperature.hot=310,320", "--vary", 'geometry.height="20 um","40 um"', "--zip",
                   "--out", out, "--dry-run")
    assert zipped.returncode == 0, zipped.stderr
    assert zipped.stdout.count("[pending]") == 2 and "hot=320__height=40um" in zipped.stdout
    unequal = cli(capsys, CASE, "--vary", "temperature.hot=310,320", "--vary", 'geometry.height="20 um"', "--zip",
                    "--out", out)
    assert unequal.returncode == 2 and "equal length" in unequal.stderr


def test_dry_run_lists_the_product_and_runs_nothing(tmp_path, capsys):
    out = tmp_path / "out"
    result = cli(capsys, CASE, *VARY, *CHEAP, "--out", out, "--dry-run")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("[pending]") == 6 and "6 points" in result.stdout
    assert "--set 'geometry.length=\"80 um\"' --set solute.soret_coefficient=0.05" in result.stdout
    assert not out.exists()


def test_a_bad_value_is_exit_2_naming_the_point_and_key(tmp_path, capsys):
    out = tmp_path / "out"
    result = cli(capsys, CASE, "--vary", 'temperature.hot="310 K","-5 K"', "--vary", "solute.soret_coefficient=0.01,0.02",
                   *CHEAP, "--out", out)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert "point 3 of 4 (hot=-5K__soret_coefficient=0.01)" in lines[0] and "temperature.hot" in lines[0]
    assert not out.exists()  # validated before anything ran
    typo = cli(capsys, CASE, "--vary", "temperature.hott=310,320", "--out", out)
    assert typo.returncode == 2 and "temperature.hott" in typo.stderr and "point 1 of 2" in typo.stderr
    clash = cli(capsys, CASE, "--vary", "temperature.hot=310,320", "--set", "temperature.hot=300", "--out", out)
    assert clash.returncode == 2 and "both in --set and varied" in clash.stderr


def test_point_names_are_unique_and_filesystem_safe():
    names = point_names([{"geometry.height": '"20 um"', "laser.height": "1"},
                         {"geometry.height": '"20um"', "laser.height": "1"},
                         {"geometry.height": '"1e-12 m^2/s"', "laser.height": '{law = "x"}'}])
    assert names[0].startswith("geometry.height=20um__laser.height=1_")  # a spelling clash gets a hash
    assert len({name.lower() for name in names}) == 3
    assert all(set(name) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.+-=_") for name in names)
    long = point_names([{"solute.soret_coefficient": "{" + ", ".join(f"p{i} = {i}" for i in range(60)) + "}"}])
    assert len(long[0]) <= 100


def _slurm_sweep(tmp_path, capsys, *extra):
    out = tmp_path / "out"
    image = tmp_path / "thermocfd.sif"
    result = cli(capsys, CASE, *VARY, *CHEAP, "--out", out, "--slurm", "--mpi", 2, "--array-throttle", 3,
                   "--time", "02:00:00", "--partition", "short", "--mem", "8G", "--container", image, "--nv", *extra)
    assert result.returncode == 0, result.stderr
    return out, image, result


def _sbatch_options(script: str) -> dict[str, str]:
    options = {}
    for line in script.splitlines():
        if line.startswith("#SBATCH --"):
            key, _, value = line[len("#SBATCH --"):].partition("=")
            options[key] = value
    return options


def test_slurm_scripts_parse_and_hold_the_array(tmp_path, capsys):
    out, image, _ = _slurm_sweep(tmp_path, capsys)
    array, collect = (out / "sweep.slurm").read_text(), (out / "collect.slurm").read_text()
    for name in ("sweep.slurm", "collect.slurm"):
        subprocess.run(["bash", "-n", str(out / name)], check=True)
    options = _sbatch_options(array)
    assert options["array"] == "0-5%3" and options["ntasks"] == "2" and options["time"] == "02:00:00"
    assert options["partition"] == "short" and options["mem"] == "8G" and options["job-name"] == "thermocfd-soret_cell"
    assert "account" not in options and "cpus-per-task" not in options  # only the options given
    assert options["output"] == f"{out}/logs/%A_%a.out" and options["error"] == f"{out}/logs/%A_%a.err"
    srun = next(line for line in array.splitlines() if line.startswith("srun "))
    assert srun.startswith(f"srun apptainer exec --nv --bind {out},{CASE.parent} {image} thermocfd run \"$CASE\"")
    manifest = json.loads((out / "points.json").read_text())
    assert len(manifest["points"]) == 6 and manifest["case"] == str(CASE)
    collect_options = _sbatch_options(collect)
    assert collect_options["output"] == f"{out}/logs/collect_%j.out" and collect_options["partition"] == "short"
    assert f"{image} thermocfd sweep {CASE} --collect-only --out {out}" in collect


def test_slurm_task_runs_its_point(tmp_path, capsys):
    """The array script itself, with a fake srun: task i runs point i with its options."""
    out = tmp_path / "out"
    result = cli(capsys, CASE, *VARY, *CHEAP, "--out", out, "--slurm")
    assert result.returncode == 0, result.stderr
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "srun").write_text(f'#!/bin/bash\nprintf "%s\\n" "$@" > {tmp_path}/srun_args\n')
    (bin_dir / "srun").chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}", SLURM_ARRAY_TASK_ID="4")
    subprocess.run(["bash", str(out / "sweep.slurm")], check=True, env=env, timeout=60)
    args = (tmp_path / "srun_args").read_text().splitlines()
    point = json.loads((out / "points.json").read_text())["points"][4]
    assert args[:6] == [sys.executable, "-m", "thermocfd", "run", str(CASE), "--out"]
    assert args[6] == str(out / point["name"]) and point["name"] == "length=80um__soret_coefficient=0.02_1_K"
    assert args[7:] == [a for o in point["overrides"] for a in ("--set", o)]
    # a finished point is skipped
    (out / point["name"]).mkdir()
    (out / point["name"] / "summary.json").write_text('{"status": "ok"}')
    (tmp_path / "srun_args").unlink()
    done = subprocess.run(["bash", str(out / "sweep.slurm")], check=True, env=env, capture_output=True, text=True)
    assert "done already" in done.stdout and not (tmp_path / "srun_args").exists()


def test_submit_with_a_fake_sbatch_records_both_jobs(tmp_path, capsys, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "sbatch_calls"
    (bin_dir / "sbatch").write_text(f'#!/bin/bash\necho "$@" >> {calls}\necho "Submitted batch job 4242"\n')
    (bin_dir / "sbatch").chmod(0o755)
    out = tmp_path / "out"
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    result = cli(capsys, CASE, *VARY, *CHEAP, "--out", out, "--submit")
    assert result.returncode == 0, result.stderr
    lines = calls.read_text().splitlines()
    assert lines == [str(out / "sweep.slurm"), f"--dependency=afterany:4242 {out / 'collect.slurm'}"]
    jobs = json.loads((out / "slurm_jobs.json").read_text())
    assert jobs["array_job"] == "4242" and jobs["collect_job"] == "4242"
    assert "job array 4242" in result.stdout
    assert not any(out.glob("*/summary.json"))  # nothing ran here


def test_signal_between_two_points_is_reported_and_launches_no_more(tmp_path, monkeypatch):
    """A SIGTERM that lands after one point ended and before the next starts: nothing is
    running then, and the stop is still reported and counted (a race CI once hit)."""
    from thermocfd import sweep as sweep_module

    def finishes_ok(sweep_, point, mpi, resume):
        summary = json.dumps({"status": "ok"})
        return [sys.executable, "-c",
                f"import pathlib; pathlib.Path({str(sweep_.folder(point))!r}, 'summary.json').write_text({summary!r})"]

    monkeypatch.setattr(sweep_module, "_run_command", finishes_ok)
    points = sweep_module.make_points([{"x": "1"}, {"x": "2"}, {"x": "3"}])
    lines = []

    def report(line: str) -> None:
        lines.append(line)
        if line.startswith("[1/"):
            os.kill(os.getpid(), signal.SIGTERM)

    counts = sweep_module.run_points(sweep_module.Sweep(CASE, [], points, tmp_path), {p.name: "f" for p in points},
                                     report=report)
    assert counts == {"ok": 1, "failed": 0, "pending": 2, "interrupted": True}
    assert any(line.startswith("sweep: stopped by SIGTERM: stopping 0 running point(s)") for line in lines), lines
    assert not (tmp_path / points[1].name / "summary.json").exists()
