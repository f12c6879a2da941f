"""benchmarks/gpu_check.sh on a machine without a GPU: it stops at once with its own exit
status, and with a stand-in nvidia-smi it gets past detection and fails clearly at CuPy,
recording every step in gpu_check.json, without installing anything."""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "gpu_check.sh"
NO_GPU_STATUS = 77  # documented in the script's header
FAKE_SMI = """#!/bin/sh
case "$*" in
  *--query-gpu*) echo "NVIDIA H200, 550.54.15, 143771 MiB, 0 MiB" ;;
  *) echo "| NVIDIA-SMI 550.54.15      Driver Version: 550.54.15      CUDA Version: 12.4     |" ;;
esac
"""
FAKE_CUPY = """__version__ = "0.0+fake"
class _Runtime:
    class CUDARuntimeError(RuntimeError):
        pass
    @staticmethod
    def getDeviceCount():
        raise RuntimeError("fake CuPy: no CUDA driver")
class cuda:
    runtime = _Runtime
"""

pytestmark = pytest.mark.skipif(shutil.which("bash") is None or shutil.which("timeout") is None,
                                reason="needs bash and coreutils' timeout")


def _run(tmp_path, *args, path_front=(), **env):
    """Run the script with OUT and its work folder under tmp_path and no nvidia-smi on PATH
    except one in ``path_front``; returns (completed process, seconds, gpu_check.json)."""
    dirs = [d for d in os.environ["PATH"].split(os.pathsep) if not (Path(d) / "nvidia-smi").exists()]
    full_env = {**{k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
                "PATH": os.pathsep.join([*map(str, path_front), *dirs]), "OUT": str(tmp_path / "out"),
                "GPU_CHECK_WORK": str(tmp_path / "work"), "GPU_CHECK_WHEELS": str(tmp_path / "no_wheels"),
                "GPU_CHECK_PYTHON": sys.executable, **env}
    start = time.perf_counter()
    done = subprocess.run(["bash", str(SCRIPT), *args], env=full_env, capture_output=True, text=True, timeout=120)
    seconds = time.perf_counter() - start
    result = tmp_path / "out" / "gpu_check.json"
    return done, seconds, json.loads(result.read_text()) if result.exists() else None


def _fake_smi(tmp_path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "nvidia-smi").write_text(FAKE_SMI)
    (bin_dir / "nvidia-smi").chmod(0o755)
    return bin_dir


def test_script_is_valid_bash():
    subprocess.run(["bash", "-n", str(SCRIPT)], check=True)


def test_without_a_gpu_it_stops_at_once_with_its_status(tmp_path):
    done, seconds, result = _run(tmp_path)
    assert done.returncode == NO_GPU_STATUS, done.stdout + done.stderr
    assert seconds < 60
    assert "no NVIDIA GPU: nothing to check" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    log = (tmp_path / "out" / "gpu_check.log").read_text()
    assert "== environment" in log and f"python {sys.executable}" in log
    assert result["exit_status"] == NO_GPU_STATUS
    assert result["environment"]["nvidia-smi"] == "not found"
    assert [(s["name"], s["status"]) for s in result["steps"]] == [("environment", "no_gpu")]
    # nothing installed: no venv, no overlay folder
    assert not (tmp_path / "work" / "venv").exists() and not (tmp_path / "work" / "site").exists()


def test_dry_run_stops_after_the_environment(tmp_path):
    done, _, result = _run(tmp_path, "--dry-run", path_front=[_fake_smi(tmp_path)])
    assert done.returncode == NO_GPU_STATUS, done.stdout + done.stderr
    assert result["environment"]["cuda_driver_version"] == "12.4"
    assert result["environment"]["gpu"].startswith("NVIDIA H200")
    assert [(s["name"], s["status"]) for s in result["steps"]] == [("environment", "ok"), ("plan", "skipped")]


def test_bad_argument_is_a_usage_error(tmp_path):
    done, _, result = _run(tmp_path, "--bogus")
    assert done.returncode == 2 and "unknown argument" in done.stderr and result is None


@pytest.mark.parametrize("cupy", ["absent", "without a device"])
def test_stand_in_gpu_fails_clearly_at_cupy(tmp_path, cupy):
    """A stand-in nvidia-smi (driver with CUDA 12.4) and no CuPy, or one whose runtime finds
    no device: past detection, the failure at CuPy is recorded and the GPU steps skipped."""
    env = {"GPU_CHECK_NO_INSTALL": "1"}
    if cupy != "absent":
        (tmp_path / "fake_site" / "cupy").mkdir(parents=True)
        (tmp_path / "fake_site" / "cupy" / "__init__.py").write_text(FAKE_CUPY)
        env["PYTHONPATH"] = str(tmp_path / "fake_site")
    done, seconds, result = _run(tmp_path, path_front=[_fake_smi(tmp_path)], **env)
    assert done.returncode == 1, done.stdout + done.stderr
    assert seconds < 60
    steps = {s["name"]: s for s in result["steps"]}
    assert [s["name"] for s in result["steps"]] == ["environment", "python", "cupy", "pytest", "benchmark"]
    assert steps["environment"]["status"] == "ok"
    assert result["environment"]["cuda_driver_version"] == "12.4"
    assert steps["cupy"]["status"] == "failed" and "CuPy does not see the GPU" in steps["cupy"]["message"]
    assert steps["pytest"]["status"] == steps["benchmark"]["status"] == "skipped"
    assert result["exit_status"] == 1
    assert result["info"]["gpu"]["gpu"] is False  # `thermocfd info` ran and says so
    if cupy == "absent":
        assert steps["python"]["status"] == "failed"
        assert "cupy-cuda12x" in steps["python"]["message"]  # the wheel series of the driver's CUDA 12
        assert "GPU_CHECK_NO_INSTALL=1" in steps["python"]["message"]
        assert "No module named 'cupy'" in steps["cupy"]["message"]
    else:
        assert steps["python"]["status"] == "ok" and "CuPy 0.0+fake" in steps["python"]["message"]
        assert "fake CuPy: no CUDA driver" in steps["cupy"]["message"]
    log = (tmp_path / "out" / "gpu_check.log").read_text()
    assert "installing from the package index:" not in log
    assert not (tmp_path / "work" / "site").exists() and not (tmp_path / "work" / "venv").exists()
