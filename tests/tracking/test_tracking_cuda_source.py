"""The CUDA kernel source, checked without a GPU.

1. It compiles with nvcc for sm_80/sm_90 in float and double (skipped without nvcc).
2. Compiled as host C++ (g++ with a tiny CUDA shim, one "thread" per particle) it gives
   the same trajectories as the numba reference kernel, so the GPU backend runs the
   reference algorithm (skipped without g++).
"""

import ctypes
import shutil
import subprocess

import numpy as np
import pytest

from thermocfd.tracking import GridFields, ParticleState, Tracker
from thermocfd.tracking.kernels_gpu import CUDA_SOURCE

from cuda_shim import compile_on_host  # noqa: E402

HOST_DRIVER = r"""
extern "C" void run(double *pos, signed char *status, const u64 *ids, long long n,
                    const double *nodes, const int *ints, const double *reals, u64 seed, u64 step0)
{
    blockDim.x = 1; threadIdx.x = 0;
    for (long long p = 0; p < n; ++p) {
        blockIdx.x = (unsigned int)p;
        advance<double>(pos, status, ids, n, nodes, ints[0], ints[1], ints[2],
                        reals[0], reals[1], reals[2], reals[3], reals[4], reals[5],
                        reals[6], reals[7], reals[8], reals[9], reals[10], reals[11],
                        ints[3], ints[4], ints[5], ints[6], ints[7], ints[8],
                        reals[12], reals[13], reals[14], reals[15], reals[16], reals[17],
                        seed, step0, ints[9], reals[18], ints[10], ints[11]);
    }
}
"""


def test_cuda_source_compiles_with_nvcc(tmp_path):
    nvcc = shutil.which("nvcc")
    if nvcc is None:
        pytest.skip("nvcc not available")
    source = tmp_path / "kernel.cu"
    source.write_text(CUDA_SOURCE + "\ntemplate __global__ void advance<float>(float*, signed char*, "
                      "const u64*, long long, const float*, int, int, int, "
                      + ", ".join(["float"] * 12) + ", " + ", ".join(["int"] * 6) + ", "
                      + ", ".join(["float"] * 6) + ", u64, u64, int, float, int, int);\n"
                      "template __global__ void advance<double>(double*, signed char*, "
                      "const u64*, long long, const double*, int, int, int, "
                      + ", ".join(["double"] * 12) + ", " + ", ".join(["int"] * 6) + ", "
                      + ", ".join(["double"] * 6) + ", u64, u64, int, double, int, int);\n")
    result = subprocess.run([nvcc, "--std=c++14", "-arch=sm_90", "-cubin", "-o",
                             str(tmp_path / "kernel.cubin"), str(source)],
                            capture_output=True, text=True, timeout=300)
    if result.returncode != 0 and "not found" in (result.stderr or ""):
        pytest.skip(f"nvcc unusable: {result.stderr[:200]}")
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def host_kernel(tmp_path_factory):
    run = compile_on_host(tmp_path_factory.mktemp("cuda_on_host"), CUDA_SOURCE + HOST_DRIVER, "kernel_host").run
    run.restype = None
    return run


@pytest.mark.parametrize("scheme", ["euler", "heun"])
def test_cuda_source_matches_numba_kernel(host_kernel, scheme):
    L, W = 40e-6, 10e-6
    inside = lambda x, y, z: (x - 0.5 * L) ** 2 + (y - 0.5 * W) ** 2 > (0.2 * W) ** 2  # a post
    fields = GridFields.from_callables([0, 0, 0], [L, W, W], (17, 6, 5),
                                       lambda x, y, z: 300.0 + 5e5 * x + 1e5 * y * y / W,
                                       lambda T: 1e-12 * (T / 300.0) ** 3,
                                       thermal_diffusivity=lambda T: 2e-13 + 0 * T,
                                       velocity=lambda x, y, z: (1e-6 * np.sin(y / W), 0 * x, 3e-7 + 0 * z),
                                       inside=inside)
    walls = ["adsorb", "open", "reflect", "reflect", "adsorb", "reflect"]
    stick = [0.5, 1.0, 1.0, 1.0, 0.2, 1.0]
    dt, seed, steps = 1.0, 61, 150
    tracker = Tracker(fields, dt=dt, backend="cpu", scheme=scheme, walls=walls,
                      sticking_probability=stick, seed=seed, external_force=[0, 0, -1e-15])
    state = ParticleState.uniform(3000, [0, 0, 0], [L, W, W], seed=seed)
    state.positions[:, :10] = [[0.5 * L], [0.5 * W], [0.5 * W]]  # some start inside the post
    reference = state.copy()
    tracker.advance(reference, steps)

    nodes, _, _, origin, inv_h = tracker._static
    assert nodes.shape == fields.shape + (5,)  # [b, D, inside]: the mask in the corner records
    pos, status = state.positions.copy(), state.status.copy()
    faces = tracker.face_kind
    ints = np.array([*fields.shape, *faces, steps, scheme == "heun", 1], dtype=np.int32)
    reals = np.array([*origin, *inv_h, *tracker.box_lower, *tracker.box_upper, *tracker.sticking, dt])
    ptr = lambda a: a.ctypes.data_as(ctypes.c_void_p)
    host_kernel(ptr(pos), ptr(status), ptr(state.ids), ctypes.c_longlong(state.n),
                ptr(np.ascontiguousarray(nodes)), ptr(ints), ptr(reals), ctypes.c_uint64(seed), ctypes.c_uint64(0))
    counts = np.bincount(reference.status, minlength=4)
    assert counts[1] > 0 and counts[2] > 0 and counts[0] > 0  # every path was exercised
    np.testing.assert_array_equal(status, reference.status)
    np.testing.assert_allclose(pos, reference.positions, rtol=0, atol=1e-12 * L)


# --- particles with internal states --------------------------------------------------------
STATE_LAUNCHERS = r"""
#define STATE_LAUNCHER(NAME, real)                                                             \
extern "C" void NAME(unsigned int blocks, unsigned int threads, real *pos, signed char *status, \
    signed char *internal, const u64 *ids, long long n, const real *records, const real *mask,  \
    int nx, int ny, int nz, int use_mask, real ox, real oy, real oz, real ihx, real ihy,       \
    real ihz, real lox, real loy, real loz, real hix, real hiy, real hiz, int f0, int f1,      \
    int f2, int f3, int f4, int f5, real s0, real s1, real s2, real s3, real s4, real s5,      \
    u64 seed, u64 step0, int n_steps, real dt, int heun, int tri, int n_states,                \
    const double *prefactor, const double *activation, const double *log_weight,               \
    const double *level, const int *component, real fkx, real fky, real fkz)                   \
{                                                                                              \
    blockDim.x = threads;                                                                      \
    for (unsigned int b = 0; b < blocks; ++b)                                                  \
        for (unsigned int t = 0; t < threads; ++t) {                                           \
            blockIdx.x = b; threadIdx.x = t;                                                   \
            advance_states<real>(pos, status, internal, ids, n, records, mask, nx, ny, nz,     \
                                 use_mask, ox, oy, oz, ihx, ihy, ihz, lox, loy, loz, hix, hiy, \
                                 hiz, f0, f1, f2, f3, f4, f5, s0, s1, s2, s3, s4, s5, seed,    \
                                 step0, n_steps, dt, heun, tri, n_states, prefactor,           \
                                 activation, log_weight, level, component, fkx, fky, fkz);     \
        }                                                                                      \
}
STATE_LAUNCHER(launch_states_float, float)
STATE_LAUNCHER(launch_states_double, double)
"""


def test_state_kernel_compiles_with_nvcc(tmp_path):
    nvcc = shutil.which("nvcc")
    if nvcc is None:
        pytest.skip("nvcc not available")
    source = tmp_path / "kernel_states.cu"
    instances = ""
    for real in ("float", "double"):
        instances += (f"template __global__ void advance_states<{real}>({real}*, signed char*, signed char*, "
                      f"const u64*, long long, const {real}*, const {real}*, int, int, int, int, "
                      + ", ".join([real] * 12) + ", " + ", ".join(["int"] * 6) + ", "
                      + ", ".join([real] * 6) + f", u64, u64, int, {real}, int, int, int, const double*, "
                      f"const double*, const double*, const double*, const int*, {real}, {real}, {real});\n")
    source.write_text(CUDA_SOURCE + "\n" + instances)
    result = subprocess.run([nvcc, "--std=c++14", "-arch=sm_90", "-cubin", "-o",
                             str(tmp_path / "kernel_states.cubin"), str(source)],
                            capture_output=True, text=True, timeout=300)
    if result.returncode != 0 and "not found" in (result.stderr or ""):
        pytest.skip(f"nvcc unusable: {result.stderr[:200]}")
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def host_state_library(tmp_path_factory):
    return compile_on_host(tmp_path_factory.mktemp("cuda_states_on_host"), CUDA_SOURCE + STATE_LAUNCHERS,
                           "kernel_states_host")


def _state_case(rate_scale):
    """Three states, T varying over the box (rates vary), a post, adsorbing and open walls,
    a force; ``rate_scale`` sets k dt (1e4: most steps exceed MAX_JUMPS)."""
    from thermocfd.physics import BOLTZMANN, ConstantDiffusivity, StokesEinsteinDiffusivity, WaterViscosity
    from thermocfd.physics.internal_states import InternalState, InternalStateModel, Transition

    L, W, kT = 40e-6, 10e-6, BOLTZMANN * 300.0
    states = (InternalState("a", 0.0, StokesEinsteinDiffusivity(0.2e-6, WaterViscosity())),
              InternalState("b", 1.0 * kT, ConstantDiffusivity(3e-12), 2.0),
              InternalState("c", 3.0 * kT, ConstantDiffusivity(0.5e-12), 5.0))
    model = InternalStateModel(states, (Transition(0, 1, 4 * kT, 20.0 * rate_scale),
                                        Transition(1, 2, 5 * kT, 50.0 * rate_scale)))
    fields = GridFields.from_callables([0, 0, 0], [L, W, W], (17, 6, 5),
                                       lambda x, y, z: 290.0 + 1e6 * x + 1e5 * y * y / W, model.mean_diffusivity,
                                       velocity=lambda x, y, z: (1e-6 * np.sin(y / W), 0 * x, 3e-7 + 0 * z),
                                       inside=lambda x, y, z: (x - 0.5 * L) ** 2 + (y - 0.5 * W) ** 2 > (0.2 * W) ** 2)
    kwargs = dict(dt=0.5, seed=63, walls=["adsorb", "open", "reflect", "reflect", "adsorb", "reflect"],
                  sticking_probability=[0.5, 1.0, 1.0, 1.0, 0.2, 1.0], external_force=[0, 0, -1e-15],
                  internal_states=model)
    return L, W, fields, kwargs


class _HostKernel:
    """A CuPy-kernel stand-in: ``kernel(grid, block, args)`` calls the host-compiled launcher."""

    _CTYPES = {np.dtype(np.int32): ctypes.c_int, np.dtype(np.int64): ctypes.c_longlong,
               np.dtype(np.uint64): ctypes.c_uint64, np.dtype(np.float32): ctypes.c_float,
               np.dtype(np.float64): ctypes.c_double}

    def __init__(self, function):
        self.function = function

    def __call__(self, grid, block, args):
        converted = [ctypes.c_uint(grid[0]), ctypes.c_uint(block[0])]
        for arg in args:
            if isinstance(arg, np.ndarray) and arg.ndim > 0:
                assert arg.flags.c_contiguous
                converted.append(arg.ctypes.data_as(ctypes.c_void_p))
            else:
                converted.append(self._CTYPES[np.asarray(arg).dtype](arg))
        self.function(*converted)


@pytest.mark.parametrize("scheme, rate_scale", [("euler", 1.0), ("heun", 1.0), ("euler", 1e4)])
def test_state_kernel_source_matches_numba_kernel(host_state_library, monkeypatch, scheme, rate_scale):
    """Tracker(backend="gpu") with a stand-in cupy runs the CUDA source compiled on the host
    (through advance_states_gpu: argument order and types, several launches) and gives the
    numba kernel's trajectories, states and statuses."""
    import sys
    import types

    from thermocfd.tracking import kernels_gpu, tracker as tracker_module

    L, W, fields, kwargs = _state_case(rate_scale)
    cpu = ParticleState.uniform(3000, [0, 0, 0], [L, W, W], seed=63)
    gpu = cpu.copy()
    Tracker(fields, backend="cpu", scheme=scheme, **kwargs).advance(cpu, 100)

    class RawModule:
        def __init__(self, code, options=(), name_expressions=()):
            assert code == CUDA_SOURCE and set(name_expressions) == {"advance_states<float>",
                                                                      "advance_states<double>"}

        def get_function(self, name):
            assert name == "advance_states<double>"
            return _HostKernel(host_state_library.launch_states_double)

    fake = types.ModuleType("cupy")
    fake.RawModule = RawModule
    fake.asarray = lambda a, dtype=None: np.ascontiguousarray(a, dtype=dtype)
    fake.ascontiguousarray = np.ascontiguousarray
    fake.int8 = np.int8
    stream = types.SimpleNamespace(synchronize=lambda: None)
    fake.cuda = types.SimpleNamespace(get_current_stream=lambda: stream)
    monkeypatch.setitem(sys.modules, "cupy", fake)
    monkeypatch.setattr(tracker_module, "select_backend", lambda preference="auto": "gpu")
    kernels_gpu._states_module.cache_clear()
    try:
        tracker = Tracker(fields, backend="gpu", dtype=np.float64, scheme=scheme, steps_per_launch=30, **kwargs)
        tracker.advance(gpu, 60)
        tracker.advance(gpu, 40)
    finally:
        kernels_gpu._states_module.cache_clear()
    counts = np.bincount(cpu.status, minlength=4)
    assert counts[0] > 0 and counts[1] > 0 and counts[2] > 0  # every wall path was exercised
    assert len(np.unique(cpu.internal_state)) == 3
    np.testing.assert_array_equal(gpu.status, cpu.status)
    np.testing.assert_array_equal(gpu.internal_state, cpu.internal_state)
    np.testing.assert_allclose(gpu.positions, cpu.positions, rtol=0, atol=1e-12 * L)


NORMALS_DRIVER = r"""
extern "C" void normals(const u64 *ids, long long n, u64 step, u32 purpose, u64 seed, double *out)
{
    for (long long p = 0; p < n; ++p) {
        double spare;
        normals3_of(ids[p], step, purpose, (u32)seed, (u32)(seed >> 32), out[p], out[n + p], out[2 * n + p], spare);
    }
}
"""


@pytest.mark.parametrize("purpose", [0, 0x80000000])
def test_cuda_ziggurat_equals_numba(tmp_path, purpose):
    """The CUDA ziggurat (tables printed into the source) gives the numba generator's
    normals, fast path, wedges and tail alike (both draw their fallback blocks alike)."""
    from thermocfd.tracking import rng

    library = compile_on_host(tmp_path, CUDA_SOURCE + NORMALS_DRIVER, "normals_host")
    ids = np.arange(200_000, dtype=np.uint64) + np.uint64(2**32 - 7)  # ids across 32 bits
    seed = 2**40 + 5
    expected = rng.normals(ids, step=11, seed=seed, purpose=purpose)
    out = np.empty((3, ids.size))
    ptr = lambda a: a.ctypes.data_as(ctypes.c_void_p)  # noqa: E731
    library.normals(ptr(ids), ctypes.c_longlong(ids.size), ctypes.c_uint64(11), ctypes.c_uint32(purpose),
                    ctypes.c_uint64(seed), ptr(out))
    assert np.sum(np.abs(expected) > rng.ZIGGURAT_R) > 50  # the tail path ran
    np.testing.assert_allclose(out, expected, rtol=1e-13, atol=0)
