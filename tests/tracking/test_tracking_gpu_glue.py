"""The CuPy backend's Python side, exercised without a GPU.

A stand-in ``cupy`` module keeps arrays in host memory and "launches" the CUDA source
compiled as host C++ (the shim of test_tracking_cuda_source.py), one loop iteration per
CUDA thread. This checks what the real GPU test cannot check here: that Tracker and
``advance_gpu`` pass the kernel's arguments in the right order and types, in float32 and
float64, across several launches (steps_per_launch), and that float64 results equal the
numba backend's.
"""

import ctypes
import sys
import types

import numpy as np
import pytest

from thermocfd.tracking import GridFields, ParticleState, Tracker, kernels_gpu, tracker as tracker_module
from thermocfd.tracking.kernels_gpu import CUDA_SOURCE

from cuda_shim import compile_on_host  # noqa: E402

LAUNCHERS = r"""
#define LAUNCHER(NAME, real)                                                                   \
extern "C" void NAME(unsigned int blocks, unsigned int threads, real *pos, signed char *status, \
    const u64 *ids, long long n, const real *nodes, int nx, int ny, int nz,                    \
    real ox, real oy, real oz, real ihx, real ihy, real ihz, real lox, real loy,               \
    real loz, real hix, real hiy, real hiz, int f0, int f1, int f2, int f3, int f4, int f5,    \
    real s0, real s1, real s2, real s3, real s4, real s5, u64 seed, u64 step0, int n_steps,    \
    real dt, int heun, int tri)                                                                \
{                                                                                              \
    blockDim.x = threads;                                                                      \
    for (unsigned int b = 0; b < blocks; ++b)                                                  \
        for (unsigned int t = 0; t < threads; ++t) {                                           \
            blockIdx.x = b; threadIdx.x = t;                                                   \
            advance<real>(pos, status, ids, n, nodes, nx, ny, nz, ox, oy, oz,                  \
                          ihx, ihy, ihz, lox, loy, loz, hix, hiy, hiz, f0, f1, f2, f3, f4, f5, \
                          s0, s1, s2, s3, s4, s5, seed, step0, n_steps, dt, heun, tri);        \
        }                                                                                      \
}
LAUNCHER(launch_float, float)
LAUNCHER(launch_double, double)
"""

_CTYPES = {np.dtype(np.int32): ctypes.c_int, np.dtype(np.int64): ctypes.c_longlong,
           np.dtype(np.uint64): ctypes.c_uint64, np.dtype(np.float32): ctypes.c_float,
           np.dtype(np.float64): ctypes.c_double}


@pytest.fixture(scope="module")
def host_library(tmp_path_factory):
    return compile_on_host(tmp_path_factory.mktemp("fake_cupy"), CUDA_SOURCE + LAUNCHERS, "kernel")


class _Kernel:
    def __init__(self, function, dtype):
        self.function, self.dtype = function, dtype

    def __call__(self, grid, block, args):
        converted = [ctypes.c_uint(grid[0]), ctypes.c_uint(block[0])]
        for arg in args:
            if isinstance(arg, np.ndarray) and arg.ndim > 0:
                assert arg.flags.c_contiguous
                if arg.dtype.kind == "f":
                    assert arg.dtype == self.dtype, "array precision differs from the kernel's"
                converted.append(arg.ctypes.data_as(ctypes.c_void_p))
            else:
                converted.append(_CTYPES[np.asarray(arg).dtype](arg))
        self.function(*converted)


@pytest.fixture
def fake_cupy(host_library, monkeypatch):
    class RawModule:
        def __init__(self, code, options=(), name_expressions=()):
            assert code == CUDA_SOURCE
            assert set(name_expressions) == {"advance<float>", "advance<double>"}

        def get_function(self, name):
            real = {"advance<float>": np.float32, "advance<double>": np.float64}[name]
            launcher = "launch_float" if real is np.float32 else "launch_double"
            return _Kernel(getattr(host_library, launcher), np.dtype(real))

    stream = types.SimpleNamespace(synchronize=lambda: None)
    fake = types.ModuleType("cupy")
    fake.RawModule = RawModule
    fake.asarray = lambda a: np.ascontiguousarray(a)
    fake.ascontiguousarray = np.ascontiguousarray
    fake.cuda = types.SimpleNamespace(get_current_stream=lambda: stream)
    monkeypatch.setitem(sys.modules, "cupy", fake)
    monkeypatch.setattr(tracker_module, "select_backend", lambda preference="auto": "gpu")
    kernels_gpu._module.cache_clear()
    yield fake
    kernels_gpu._module.cache_clear()


def _case():
    L, W = 40e-6, 10e-6
    fields = GridFields.from_callables([0, 0, 0], [L, W, W], (17, 6, 5),
                                       lambda x, y, z: 300.0 + 5e5 * x, lambda T: 1e-12 * (T / 300.0) ** 2,
                                       thermal_diffusivity=lambda T: 1e-13 + 0 * T,
                                       velocity=lambda x, y, z: (1e-6 * np.sin(y / W), 0 * x, 0 * z),
                                       inside=lambda x, y, z: x < 0.9 * L)
    kwargs = dict(dt=1.0, seed=71, walls={"x-": "adsorb", "z+": "open"}, sticking_probability=0.4,
                  external_force=[0, 0, 1e-16])
    return L, W, fields, kwargs


@pytest.mark.parametrize("scheme", ["euler", "heun"])
def test_gpu_backend_float64_equals_cpu(fake_cupy, scheme):
    L, W, fields, kwargs = _case()
    cpu = ParticleState.uniform(3000, [0, 0, 0], [0.8 * L, W, W], seed=71)
    gpu = cpu.copy()
    Tracker(fields, backend="cpu", scheme=scheme, **kwargs).advance(cpu, 100)
    gpu_tracker = Tracker(fields, backend="gpu", dtype=np.float64, scheme=scheme,
                          steps_per_launch=30, **kwargs)
    assert gpu_tracker.backend == "gpu"
    report = gpu_tracker.advance(gpu, 60)
    gpu_tracker.advance(gpu, 40)  # 30 + 30 and 30 + 10 steps per launch
    assert report.counts["total"] == gpu.n
    np.testing.assert_array_equal(gpu.status, cpu.status)
    np.testing.assert_allclose(gpu.positions, cpu.positions, rtol=0, atol=1e-12 * L)
    counts = cpu.counts()
    assert counts["adsorbed"] > 0 and counts["escaped"] > 0 and counts["in_domain"] > 0


def test_gpu_backend_float32_runs_and_agrees_statistically(fake_cupy):
    L, W, fields, kwargs = _case()
    cpu = ParticleState.uniform(4000, [0, 0, 0], [0.8 * L, W, W], seed=72)
    gpu = ParticleState.uniform(4000, [0, 0, 0], [0.8 * L, W, W], seed=72, dtype=np.float32)
    Tracker(fields, backend="cpu", **kwargs).advance(cpu, 100)
    Tracker(fields, backend="gpu", dtype=np.float32, steps_per_launch=64, **kwargs).advance(gpu, 100)
    assert gpu.positions.dtype == np.float32
    # Same random numbers, float32 arithmetic: trajectories stay close, not identical.
    same = gpu.status == cpu.status
    assert same.mean() > 0.95
    assert np.median(np.abs(gpu.positions[:, same] - cpu.positions[:, same])) < 1e-5 * L
