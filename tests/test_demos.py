"""The literate demos in demos/ run as scripts, check themselves against their analytic
references (they exit non-zero when a check fails) and print ``RESULT name = value``
lines that must not depend on the number of MPI ranks."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEMOS = sorted((ROOT / "demos").glob("demo_*.py"))
RESULT = re.compile(r"^RESULT (\w+) = (\S+)\s*$", re.MULTILINE)

# demos compared between a serial and a 2-rank run, with the relative tolerance of the
# comparison: the direct solvers and the tracker's rank-independent random numbers give
# the same numbers to round-off; the mobility problem's iterative Stokes solves (GMRES,
# relative tolerance 1e-8, partition-dependent AMG) agree to ~1e-7.
MPI_DEMOS = {"demo_soret_transport": 1e-8, "demo_thermoosmotic_slip": 1e-8,
             "demo_brownian_tracker": 1e-8, "demo_phoretic_mobility": 1e-6}

_serial_output: dict[str, str] = {}


def _env(tmp_path: Path, **extra) -> dict:
    env = dict(os.environ, PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
               THERMOCFD_DEMO_OUT=str(tmp_path))
    env.update(extra)
    return env


def _results(stdout: str) -> dict[str, float]:
    return {name: float(value) for name, value in RESULT.findall(stdout)}


def _run_serial(demo: Path, tmp_path: Path) -> str:
    tmp_path.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run([sys.executable, str(demo)], capture_output=True, text=True, cwd=tmp_path,
                          env=_env(tmp_path), timeout=300)
    assert proc.returncode == 0, f"{demo.name} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    _serial_output[demo.stem] = proc.stdout
    return proc.stdout


def test_demos_exist_and_the_mpi_list_names_them():
    assert DEMOS, "no demos found"
    assert set(MPI_DEMOS) <= {d.stem for d in DEMOS}


@pytest.mark.parametrize("demo", DEMOS, ids=[d.stem for d in DEMOS])
def test_demo_runs_and_passes_its_checks(demo, tmp_path):
    stdout = _run_serial(demo, tmp_path)
    assert _results(stdout), f"{demo.name} printed no RESULT lines"
    assert f"{demo.stem}: all checks passed" in stdout


@pytest.mark.mpi
@pytest.mark.skipif(shutil.which("mpirun") is None, reason="mpirun not installed")
@pytest.mark.parametrize("name", sorted(MPI_DEMOS))
def test_demo_on_two_ranks_matches_serial(name, tmp_path):
    demo = ROOT / "demos" / f"{name}.py"
    serial = _serial_output.get(name) or _run_serial(demo, tmp_path / "serial")
    (tmp_path / "mpi").mkdir()
    env = _env(tmp_path / "mpi", OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               NUMBA_NUM_THREADS="1")
    proc = subprocess.run(["mpirun", "-n", "2", "--allow-run-as-root", "--oversubscribe", sys.executable,
                           str(demo)], capture_output=True, text=True, cwd=tmp_path / "mpi", env=env,
                          timeout=900)  # two ranks beside a second pytest-xdist worker on 2 cores
    assert proc.returncode == 0, f"{name} on 2 ranks exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert "2 rank(s)" in proc.stdout
    expected, got = _results(serial), _results(proc.stdout)
    assert set(got) == set(expected), (sorted(got), sorted(expected))
    for key in expected:  # rank 0 alone prints
        assert proc.stdout.count(f"RESULT {key} =") == 1, key
        assert got[key] == pytest.approx(expected[key], rel=MPI_DEMOS[name], abs=0.0), key
