"""``thermocfd info``: what this installation can do."""

from __future__ import annotations

import importlib.util


def gpu_status() -> dict[str, object]:
    """Whether CuPy is importable and sees a CUDA device."""
    if importlib.util.find_spec("cupy") is None:
        return {"cupy": False, "gpu": False, "reason": "cupy not installed (pip install thermocfd[gpu])"}
    try:
        import cupy

        count = cupy.cuda.runtime.getDeviceCount()
        name = cupy.cuda.runtime.getDeviceProperties(0)["name"].decode() if count else None
        return {"cupy": True, "gpu": count > 0, "devices": count, "device_name": name}
    except Exception as error:  # noqa: BLE001 - any CUDA failure means "no usable GPU"
        return {"cupy": True, "gpu": False, "reason": f"{type(error).__name__}: {error}"}


def tracker_backend() -> dict[str, object] | str:
    """Which particle-tracking backend ``backend = "auto"`` picks, and why."""
    try:
        from .tracking import backend_info
    except ImportError as error:
        return f"unavailable ({error})"
    return backend_info()


def report() -> dict[str, object]:
    from mpi4py import MPI

    from .output import software_versions

    return {"versions": software_versions(), "mpi_size": MPI.COMM_WORLD.size,
            "mpi_library": MPI.Get_library_version().splitlines()[0].strip(),
            "gpu": gpu_status(), "tracker_backend": tracker_backend()}
