"""Checkpoints and resume: runs killed with SIGKILL mid-run and resumed with --resume end
where an uninterrupted run ends (the tracker bitwise, the transient FEM to 1e-12);
SIGTERM writes a checkpoint and exits with status 4; checkpoints that are incomplete or
belong to another case, MPI size or mesh are ignored or refused."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import thermocfd
from thermocfd import checkpoint
from thermocfd.case import case_from_dict
from thermocfd.cli import EXIT_BAD_INPUT, main
from thermocfd.errors import CaseError
from thermocfd.pipelines import RunInterrupted

ROOT = Path(__file__).resolve().parents[1]
STEPS = 400
TRANSIENT = f"""
[case]
kind = "soret_cell"
[geometry]
dimension = 2
length = "100 um"
height = "25 um"
[mesh]
resolution = 0.5
[temperature]
hot = "310 K"
cold = "300 K"
[solute]
diffusivity = "1e-11 m^2/s"
soret_coefficient = "0.05 1/K"
[time]
transient = true
steps = {STEPS}
[output]
pictures = false
fields = false
checkpoint_interval = 0
checkpoint_steps = 5
"""
TRACKING = """
[case]
kind = "tracking"
[geometry]
dimension = 2
length = "50 um"
height = "12.5 um"
[mesh]
resolution = 0.5
[temperature]
hot = "300 K"
cold = "295 K"
[solute]
diffusivity = "1e-11 m^2/s"
soret_coefficient = "0.5 1/K"
[tracking]
particles = 5000
backend = "cpu"
bins = 10
trajectories = 10
seed = 11
[output]
pictures = false
checkpoint_steps = 100
"""
TIMINGS = ("wall_time_s", "timings_s", "tracking_wall_time_s", "tracking_particle_steps_per_s")


def _case_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "case.toml"
    path.write_text(text)
    return path


def _start(case: Path, out: Path, *extra: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1")
    return subprocess.Popen([sys.executable, "-m", "thermocfd", "run", str(case), "--out", str(out), "--quiet",
                             *extra], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _stop_after_checkpoint(process: subprocess.Popen, out: Path, signal_number: int) -> dict:
    """Wait until the run has written a complete checkpoint, signal it, wait for it to
    end; returns that checkpoint's manifest."""
    deadline = time.monotonic() + 120
    while checkpoint.latest(out) is None:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no checkpoint written"
        time.sleep(0.005)
    process.send_signal(signal_number)
    process.wait(timeout=120)
    return json.loads((checkpoint.latest(out) / checkpoint.MANIFEST).read_text())


def _finish(process: subprocess.Popen) -> None:
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr


def _results(out: Path) -> dict:
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "ok"
    return {key: value for key, value in summary.items() if key not in TIMINGS}


def _killed_and_resumed(tmp_path: Path, text: str) -> tuple[dict, Path, Path]:
    """(the killed run's last checkpoint manifest, the reference's and the resumed run's
    output directories)."""
    case = _case_file(tmp_path, text)
    reference = _start(case, tmp_path / "reference")
    victim = _start(case, tmp_path / "resumed")
    manifest = _stop_after_checkpoint(victim, tmp_path / "resumed", signal.SIGKILL)
    assert victim.returncode == -signal.SIGKILL
    assert not (tmp_path / "resumed" / "summary.json").exists()
    resumed = _start(case, tmp_path / "resumed", "--resume")
    _finish(reference)
    _finish(resumed)
    assert not (tmp_path / "resumed" / checkpoint.DIRECTORY).exists()  # a finished run keeps none
    return manifest, tmp_path / "reference", tmp_path / "resumed"


def test_transient_soret_cell_killed_and_resumed(tmp_path):
    manifest, reference, resumed = _killed_and_resumed(tmp_path, TRANSIENT)
    assert manifest["stage"] == "transport_transient" and 0 < manifest["step"] < STEPS
    expected, got = _results(reference), _results(resumed)
    assert got.keys() == expected.keys()
    compared = 0
    for key, value in expected.items():
        if isinstance(value, float):
            assert got[key] == pytest.approx(value, rel=1e-12, abs=1e-300), key
            compared += 1
    assert compared >= 15 and expected["relaxation_time_rel_error"] < 0.02
    profile = [np.loadtxt(out / "profile.csv", delimiter=",", skiprows=1) for out in (reference, resumed)]
    np.testing.assert_allclose(profile[1], profile[0], rtol=1e-12, atol=0)


def test_tracking_killed_and_resumed_is_bitwise(tmp_path):
    pyvista = pytest.importorskip("pyvista")
    manifest, reference, resumed = _killed_and_resumed(tmp_path, TRACKING)
    expected, got = _results(reference), _results(resumed)
    assert manifest["stage"] == "tracking" and 0 < manifest["step"] < expected["tracking_steps"]
    assert got == expected  # every number, exactly
    frames = sorted(path.name for path in (reference / "fields" / "particles").glob("*.vtp"))
    assert len(frames) > 2 and frames == sorted(path.name for path in (resumed / "fields" / "particles").glob("*.vtp"))
    for name in [f"particles/{frame}" for frame in frames] + ["trajectories.vtp"]:
        a, b = (pyvista.read(str(out / "fields" / name)) for out in (reference, resumed))
        assert a.n_points > 0 and np.array_equal(a.points, b.points), name
        for key in a.point_data:
            assert np.array_equal(a.point_data[key], b.point_data[key]), (name, key)


def test_sigterm_writes_a_checkpoint_and_exits_4(tmp_path):
    case = _case_file(tmp_path, TRANSIENT.replace("checkpoint_steps = 5", "checkpoint_steps = 50"))
    out = tmp_path / "out"
    process = _start(case, out)
    first = _stop_after_checkpoint(process, out, signal.SIGTERM)
    stderr = process.stderr.read()
    assert process.returncode == 4, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "stopped by SIGTERM" in lines[0] and "--resume" in lines[0]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "interrupted" and "--resume" in summary["resume"]
    saved = Path(summary["checkpoint"])
    assert (saved / checkpoint.MANIFEST).is_file() and saved == checkpoint.latest(out)
    step = json.loads((saved / checkpoint.MANIFEST).read_text())["step"]
    # written at the signal, not only at the 50-step marks
    assert first["step"] <= step < STEPS and summary["partial"]["time_steps_done"] == step
    resumed = _start(case, out, "--resume")
    _finish(resumed)
    assert _results(out)["time_steps"] == STEPS


# --- in process -------------------------------------------------------------------------------
def _transient_case(tmp_path, overrides=()):
    return thermocfd.load_case(_case_file(tmp_path, TRANSIENT.replace("steps = 400", "steps = 12")),
                               list(overrides))


def test_resume_refuses_another_case_size_or_mesh(tmp_path, capsys):
    case = _transient_case(tmp_path)
    out = tmp_path / "out"
    session = checkpoint.Checkpoints.for_case(case, out)
    saved = session.save("transport_transient", 5, 1.0, {"slotboom": np.zeros(3), "slotboom.dofs": np.array("x"),
                                                          "history0": np.zeros(3), "history0.dofs": np.array("x"),
                                                          "history1": np.zeros(3), "history1.dofs": np.array("x")},
                         {"distances": [1.0] * 6, "max_change": 0.0})
    # another mesh layout: the stored arrays do not fit the Functions
    with pytest.raises(checkpoint.CheckpointMismatch, match="another mesh or partition"):
        thermocfd.run_case(case, out, resume=True)
    # other inputs: exit 2 through the command line, one line naming what to do
    assert main(["run", str(tmp_path / "case.toml"), "--out", str(out), "--resume",
                 "--set", "solute.soret_coefficient=0.06"]) == EXIT_BAD_INPUT
    assert "belongs to another case" in capsys.readouterr().err
    # output-only keys do not change the fingerprint
    assert checkpoint.fingerprint(_transient_case(tmp_path, ["output.fields=true", "case.name=x"])) \
        == session.fingerprint
    manifest = json.loads((saved / checkpoint.MANIFEST).read_text())
    (saved / checkpoint.MANIFEST).write_text(json.dumps({**manifest, "mpi_size": 2}))
    with pytest.raises(checkpoint.CheckpointMismatch, match="mpirun -n 2"):
        thermocfd.run_case(case, out, resume=True)


def test_resume_without_checkpoint_starts_from_scratch(tmp_path, capsys):
    case = _transient_case(tmp_path)
    results = thermocfd.run_case(case, tmp_path / "out", resume=True)
    assert "no complete checkpoint" in capsys.readouterr().out and results["time_steps"] == 12


def test_incomplete_checkpoints_are_ignored_and_two_are_kept(tmp_path):
    session = checkpoint.Checkpoints(tmp_path, interval_s=0)
    paths = [session.save("loop", step, float(step), {"x": np.arange(step)}, {}) for step in (1, 2, 3)]
    root = tmp_path / checkpoint.DIRECTORY
    assert sorted(p.name for p in root.iterdir()) == [p.name for p in paths[1:]]
    # arrays written, the manifest not yet: a crash there leaves an incomplete one
    (root / "000004").mkdir()
    np.savez(root / "000004" / "rank0000.npz", x=np.arange(4))
    assert checkpoint.latest(tmp_path) == paths[2]
    again = checkpoint.Checkpoints(tmp_path, resume=True)
    with again.loop("loop") as loop:
        assert loop.restored.step == 3 and np.array_equal(loop.restored.arrays["x"], np.arange(3))
    assert not list(root.glob("**/*.tmp"))  # nothing half-written left behind


def test_when_checkpoints_are_written(tmp_path):
    """By wall time (interval > 0), by step count, and at a stop signal (interval 0)."""
    def written(**settings):
        session = checkpoint.Checkpoints(tmp_path / repr(settings), **settings)
        with session.loop("loop") as loop:
            for step in range(1, 7):
                loop.completed(step, float(step), lambda: ({"x": np.zeros(1)}, {}))
        return session._number

    assert written(interval_s=1e-9) == 6
    assert written(interval_s=0.0) == 0
    assert written(interval_s=0.0, every_steps=3) == 2
    assert written(interval_s=3600.0) == 0
    session = checkpoint.Checkpoints(tmp_path / "signal", interval_s=0.0)
    with session.loop("loop") as loop:
        loop.completed(1, 1.0, lambda: ({"x": np.zeros(1)}, {}))
        session.signals.received = signal.SIGTERM
        with pytest.raises(checkpoint.Interrupted, match="SIGTERM at step 2") as caught:
            loop.completed(2, 2.0, lambda: ({"x": np.zeros(1)}, {}))
    assert caught.value.checkpoint == checkpoint.latest(tmp_path / "signal")


def test_signal_outside_a_time_loop_stops_at_once(tmp_path, monkeypatch):
    """SIGTERM while the heat problem is set up: nothing to save, a clean stop anyway."""
    import thermocfd.pipelines.soret_cell as soret_cell

    heat = soret_cell.cell_temperature

    def terminated(*args):
        os.kill(os.getpid(), signal.SIGTERM)
        return heat(*args)

    monkeypatch.setattr(soret_cell, "cell_temperature", terminated)
    with pytest.raises(RunInterrupted, match="before any checkpoint") as caught:
        thermocfd.run_case(_transient_case(tmp_path), tmp_path / "out")
    assert caught.value.checkpoint is None
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["status"] == "interrupted" and summary["checkpoint"] is None
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # handlers restored


SOLUTE = {"diffusivity": "1e-11 m^2/s", "soret_coefficient": "0.05 1/K"}
CELL = {"geometry": {"length": "100 um"}, "temperature": {"hot": "310 K", "cold": "300 K"}}


@pytest.mark.parametrize("key, value", [("checkpoint_interval", "10 min"), ("checkpoint_steps", 10)])
def test_checkpoint_keys_only_where_a_loop_writes_them(key, value):
    def case(kind, **sections):
        return case_from_dict({"case": {"kind": kind}, **CELL, **sections, "output": {key: value}})

    flow = {"gravity": [0, -9.81, 0], "solute": SOLUTE}
    used = [case("soret_cell", solute=SOLUTE, time={"transient": True}), case("tracking", solute=SOLUTE),
            case("convection", **flow, tracking={"enabled": True})]
    for resolved in used:
        assert resolved.to_dict()["output"][key] == (600.0 if key == "checkpoint_interval" else 10)
    slip = {"walls": {"flow": {"type": "slip", "slip_coefficient": 3e-10}}}
    for refused in (lambda: case("soret_cell", solute=SOLUTE), lambda: case("convection", **flow),
                    lambda: case("thermoosmotic_flow", boundary=slip)):
        with pytest.raises(CaseError, match=f"output.{key}.*has no effect"):
            refused()


def test_coupled_convection_transient_killed_and_resumed(tmp_path):
    """Flow, heat and solute with a switched laser and a probe, killed mid-run: the resumed
    run ends with the uninterrupted one's results and probe series (1e-12)."""
    text = (ROOT / "cases" / "laser_trap.toml").read_text().replace(
        "[laser]", '[laser]\nschedule = [[0, "off"], ["1 ms", "on"], ["6 ms", "off"]]')
    text += ('\n[time]\ntransient = true\nend = 0.01\nsteps = 200\n[output]\npictures = false\nfields = false\n'
             'checkpoint_steps = 20\n[probe.focus]\ntype = "point"\ncentre = [0.0, "25 um", 0.0]\n')
    manifest, reference, resumed = _killed_and_resumed(tmp_path, text)
    assert manifest["stage"] == "coupled_transient" and 0 < manifest["step"] < 200
    expected, got = _results(reference), _results(resumed)
    compared = 0
    for key, value in expected.items():
        if isinstance(value, float) and key != "newton_iterations_total":
            assert got[key] == pytest.approx(value, rel=1e-12, abs=1e-300), key
            compared += 1
    assert compared >= 10 and expected["mass_change_max_rel"] < 1e-10
    series = [np.loadtxt(out / "probes.csv", delimiter=",", skiprows=1) for out in (reference, resumed)]
    assert series[0].shape == (201, 3)
    np.testing.assert_allclose(series[1], series[0], rtol=1e-12, atol=0)
