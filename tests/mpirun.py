"""Running a command on two MPI ranks from a test (Open MPI, as root on CI machines)."""

import os
import shutil
import subprocess

import pytest

# one thread per rank: two ranks share the two cores of the CI machine
MPI_ENV = {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1", "OMP_NUM_THREADS": "1",
           "OPENBLAS_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}

needs_mpirun = pytest.mark.skipif(shutil.which("mpirun") is None, reason="mpirun not installed")


def on_two_ranks(command, *, env: dict | None = None, timeout: float = 300, **run_options):
    """``mpirun -n 2 command`` with its output captured (a CompletedProcess)."""
    return subprocess.run(["mpirun", "--oversubscribe", "-n", "2", *map(str, command)], capture_output=True,
                          text=True, env={**os.environ, **MPI_ENV, **(env or {})}, timeout=timeout, **run_options)
