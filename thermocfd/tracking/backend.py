"""Which particle-tracking backend can run here: CuPy on an NVIDIA GPU, or numba on CPU."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

BACKENDS = ("auto", "cpu", "gpu")


@lru_cache(maxsize=1)
def _gpu_probe() -> tuple[bool, str, dict[str, Any]]:
    """(usable, reason, details); probing once is enough for a process."""
    try:
        import cupy
    except Exception as error:  # ImportError, or a CUDA library missing at import
        return False, f"cupy not importable ({type(error).__name__}: {error})", {}
    details: dict[str, Any] = {"cupy": cupy.__version__}
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as error:
        return False, f"no CUDA device ({type(error).__name__}: {error})", details
    if count < 1:
        return False, "no CUDA device", details
    try:
        device = cupy.cuda.Device()
        props = cupy.cuda.runtime.getDeviceProperties(device.id)
        name = props["name"]
        details.update(device=name.decode() if isinstance(name, bytes) else str(name),
                       device_count=int(count),
                       memory_bytes=int(props["totalGlobalMem"]),
                       compute_capability=f"{props['major']}.{props['minor']}")
        # A tiny allocation proves the driver and the runtime actually work together.
        cupy.zeros(1).sum().item()
    except Exception as error:
        return False, f"CUDA device unusable ({type(error).__name__}: {error})", details
    return True, "ok", details


def gpu_available() -> bool:
    """True if CuPy imports and a working CUDA device is present."""
    return _gpu_probe()[0]


def select_backend(preference: str = "auto") -> str:
    """Resolve ``"auto" | "cpu" | "gpu"`` to ``"cpu"`` or ``"gpu"``.

    ``"auto"`` prefers the GPU when usable; asking for ``"gpu"`` without one is an error.
    """
    if preference not in BACKENDS:
        raise ValueError(f"tracking backend must be one of {BACKENDS}, got {preference!r}")
    if preference == "cpu":
        return "cpu"
    usable, reason, _ = _gpu_probe()
    if preference == "gpu" and not usable:
        raise RuntimeError(f"tracking backend 'gpu' requested but unusable: {reason}")
    return "gpu" if usable else "cpu"


def backend_info() -> dict[str, Any]:
    """Availability of the tracking backends, for ``thermocfd info`` and summaries."""
    import numba

    usable, reason, details = _gpu_probe()
    return {
        "selected": "gpu" if usable else "cpu",
        "cpu": {"available": True, "engine": "numba", "numba": numba.__version__,
                "threads": int(numba.get_num_threads())},
        "gpu": {"available": usable, "engine": "cupy", "reason": reason, **details},
    }
