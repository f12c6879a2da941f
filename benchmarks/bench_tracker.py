"""Particle-tracker throughput: compiled kernels versus dolfinx point evaluation.

    .venv/bin/python benchmarks/bench_tracker.py            # CPU 1e5/1e6/1e7, GPU if usable
    .venv/bin/python benchmarks/bench_tracker.py --quick    # smaller, for a smoke test
    .venv/bin/python benchmarks/bench_tracker.py --chip-only --profile   # the headline + profile
    .venv/bin/python benchmarks/bench_tracker.py --gpu-only --json rows.json   # benchmarks/gpu_check.sh

Headline: a microfluidic chip's grid (a 2 mm x 200 um x 50 um channel with three pillars,
a heated spot, Poiseuille flow; 400 x 100 x 40 = 1.6e6 nodes, 64 MB of float64 records
``[b_x, b_y, b_z, D, inside]``, far beyond the 4 MB L2 of a core) and 1e6 particles spread
at random, in float64 and float32 fields. Each row states the memory-traffic bound per
particle-step: the particle state read and written once per call (fused steps), and the
eight corner records of each step as whole cache lines (64 B on the CPU, 32 B sectors on
a GPU; a corner's two z-neighbours share lines) as if every one missed. The CPU's
bandwidth is measured with a STREAM triad (numba, all threads); the H200 row is that
bound at 4.8 TB/s. ``--profile`` times the parts of a step alone (Philox, the ziggurat
normals, the corner sampling in and out of cache).

Fields: a Soret cell with a swirling P1 flow on a small tetrahedral P1 mesh, Stokes-Einstein
D(T) in water and Piazza's S_T(T). The tracker samples them once on a grid
(``grid_fields_from_dolfinx``) and advances N particles with the fused kernel. The
baseline advances particles the way a dolfinx user would: every step, evaluate the
Functions u, T and grad T at the particle positions, apply the physics laws and take an
Euler-Maruyama step in NumPy. Two baselines are timed: ``compat.evaluate`` per Function
(the package's public helper; it locates the points each call) and one
``compat.locate_cells`` per step followed by ``Function.eval`` for each Function (a careful
user). Ratios are measured in the same run, since shared machines are noisy.

Internal states (Liang, Busiello & De Los Rios): the same particles switching between two
states of different D at total rates k with k dt = 0.01 (a switch every hundred steps) and
k dt = 10 (several per step: the exact two-state propagator, no substeps), next to the
no-state row at the same size; the ratio is the cost of the states.

On a GPU the CuPy kernel runs in float32 and float64 on the same fields sampled
analytically (no dolfinx needed there): on the small grid, which sits in cache, and on a
256^3 grid (0.5 GB of float64 records) that does not; 1e6, 1e7 and 1e8 particles (1e8
where the memory allows); one launch per step against fused launches of 1000 steps. Each
row gives particle-steps/s and, against the device's peak bandwidth (memory clock x bus
width x 2), the fraction that the particle-state traffic (read and written once per
launch) and, as an upper bound, uncached field reads (8 corner records per step) would
take; the device-to-device copy bandwidth is measured too. ``--json`` writes every row.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time

import numpy as np

L = 100e-6  # the cell's edge, m
T_HOT, GRADIENT = 340.0, -5e5  # 340 K at x = 0 to 290 K at x = L
SWIRL = 1e-6  # m/s
STATE_RADII = (0.2e-6, 0.3e-6)  # hydrodynamic radii of the two internal states, m
STATE_LEVEL = 6000.0  # energy gap of the two states over k_B, K
K_DT_VALUES = (0.01, 10.0)  # total switching rate times dt for the states rows


def temperature(x, y, z):
    return T_HOT + GRADIENT * x


def swirl(x, y, z):
    return (SWIRL * np.sin(np.pi * x / L) * np.cos(np.pi * y / L),
            -SWIRL * np.cos(np.pi * x / L) * np.sin(np.pi * y / L), 0 * z)


def build_fem_fields(cells: int):
    """(mesh, T, u, grad T) P1 Functions on a 100 um cube and the laws."""
    from mpi4py import MPI

    import dolfinx
    import dolfinx.mesh

    from thermocfd.fem import compat

    mesh = dolfinx.mesh.create_box(MPI.COMM_WORLD, [np.zeros(3), np.full(3, L)], [cells] * 3,
                                   dolfinx.mesh.CellType.tetrahedron)
    V = compat.function_space(mesh, "Lagrange", 1)
    W = compat.function_space(mesh, "Lagrange", 1, shape=(3,))
    T = dolfinx.fem.Function(V)
    compat.interpolate(T, lambda x: temperature(x[0], x[1], x[2]))
    grad_T = dolfinx.fem.Function(W)
    compat.interpolate(grad_T, lambda x: np.vstack([GRADIENT + 0 * x[0], 0 * x[0], 0 * x[0]]))
    u = dolfinx.fem.Function(W)
    compat.interpolate(u, lambda x: np.vstack(swirl(x[0], x[1], x[2])))
    return L, mesh, T, u, grad_T


def laws():
    from thermocfd.physics import PiazzaSoret, StokesEinsteinDiffusivity, WaterViscosity

    return (StokesEinsteinDiffusivity(0.2e-6, WaterViscosity()),
            PiazzaSoret(s_inf=0.05, t_star=280.0, t0=30.0))


def analytic_fields(shape, model=None):
    """The benchmark's fields sampled on a grid without dolfinx: the Soret laws, or with an
    internal-state ``model`` its mean diffusivity and no Soret law (the states drift)."""
    from thermocfd.tracking import GridFields

    diffusivity, soret = laws()
    grad_T = lambda x, y, z: (GRADIENT + 0 * x, 0 * y, 0 * z)  # noqa: E731
    if model is not None:
        diffusivity, soret = model.mean_diffusivity, None
    return GridFields.from_callables([0, 0, 0], [L, L, L], shape, temperature, diffusivity, soret,
                                     velocity=swirl, grad_temperature=grad_T)


CHIP = (2e-3, 200e-6, 50e-6)  # channel length, width, height, m
CHIP_SHAPE = (400, 100, 40)  # 1.6e6 nodes, 1.55e6 cells
PILLARS = ((0.5e-3, 100e-6, 30e-6), (1.0e-3, 60e-6, 20e-6), (1.5e-3, 140e-6, 25e-6))  # x, y, radius
H200_BANDWIDTH = 4.8e12  # B/s, HBM3e


def chip_fields(shape=CHIP_SHAPE):
    """A chip channel's fields on a grid: T of a heated spot (5 K, 150 um wide), Poiseuille
    flow (0.1 mm/s peak) stopped in three pillars, the pillars as the inside mask."""
    from thermocfd.tracking import GridFields

    length, width, height = CHIP
    diffusivity, soret = laws()

    def temperature(x, y, z):
        return 295.0 + 5.0 * np.exp(-((x - 0.5 * length) ** 2 + (y - 0.5 * width) ** 2) / 150e-6 ** 2)

    def inside(x, y, z):
        fluid = np.ones(np.shape(x), dtype=bool)
        for px, py, radius in PILLARS:
            fluid &= (x - px) ** 2 + (y - py) ** 2 > radius ** 2
        return fluid

    def velocity(x, y, z):
        u = 1e-4 * 16.0 * y * (width - y) * z * (height - z) / (width * height) ** 2 * inside(x, y, z)
        return (u, 0 * y, 0 * z)

    return GridFields.from_callables([0, 0, 0], CHIP, shape, temperature, diffusivity, soret,
                                     velocity=velocity, inside=inside)


def stream_triad_bytes_per_s(n: int = 2**24, repeats: int = 5) -> float:
    """STREAM triad ``a = b + s c`` with numba on all threads: 24 bytes per element (the
    STREAM convention), best of ``repeats``."""
    import numba

    @numba.njit(parallel=True)
    def triad(a, b, c, scalar):
        for i in numba.prange(a.size):
            a[i] = b[i] + scalar * c[i]

    a, b, c = np.zeros(n), np.ones(n), np.full(n, 2.0)
    triad(a, b, c, 3.0)
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        triad(a, b, c, 3.0)
        best = min(best, time.perf_counter() - start)
    return 24.0 * n / best


def corner_bytes(record_length: int, itemsize: int, line: int) -> float:
    """Bytes moved for the eight corner records of one sample if every line misses: four
    z-pairs of two adjacent records, each pair spanning on average
    ``(2 R s + line - s) / line`` lines."""
    pair = 2 * record_length * itemsize
    return 4.0 * line * (pair + line - itemsize) / line


def step_bytes(field_dtype, position_dtype, steps_per_call: int, line: int, heun: bool = False) -> float:
    """Memory-traffic bound per particle-step: state read + written once per call, and the
    corner records (5 components) of one sample per Euler step (two for Heun)."""
    size = np.dtype(position_dtype).itemsize
    state = (6 * size + 8 + 2) / steps_per_call
    return state + (2 if heun else 1) * corner_bytes(5, np.dtype(field_dtype).itemsize, line)


def switching_model(k_dt: float, dt: float):
    """Two states (radii STATE_RADII, gap STATE_LEVEL, degenerate so that both are equally
    populated mid-cell) whose total rate k12 + k21 at the mid-cell temperature is k_dt / dt."""
    from thermocfd.physics import BOLTZMANN, StokesEinsteinDiffusivity, WaterViscosity
    from thermocfd.physics.internal_states import two_state_model

    T_mid = T_HOT + 0.5 * GRADIENT * L
    states = [StokesEinsteinDiffusivity(radius, WaterViscosity()) for radius in STATE_RADII]
    unit = two_state_model(STATE_LEVEL * BOLTZMANN, states, degeneracy_ratio=math.exp(STATE_LEVEL / T_mid),
                           rate_prefactor=1.0)
    total = unit.rate(0, 1, T_mid) + unit.rate(1, 0, T_mid)
    return two_state_model(STATE_LEVEL * BOLTZMANN, states, degeneracy_ratio=math.exp(STATE_LEVEL / T_mid),
                           rate_prefactor=k_dt / (dt * total))


def dolfinx_baseline(L, mesh, T, u, grad_T, n_particles: int, n_steps: int, dt: float,
                     locate_once: bool) -> float:
    """Particle-steps/s of a NumPy Euler-Maruyama loop fed by dolfinx point evaluation."""
    from thermocfd.fem import compat

    diffusivity, soret = laws()
    rng = np.random.default_rng(1)
    x = rng.uniform(0.0, L, size=(n_particles, 3))
    tree = compat.bounding_box_tree(mesh)
    start = time.perf_counter()
    for _ in range(n_steps):
        if locate_once:
            cells = compat.locate_cells(mesh, x, tree)
            Tx = T.eval(x, cells).reshape(-1)
            ux = u.eval(x, cells).reshape(-1, 3)
            gx = grad_T.eval(x, cells).reshape(-1, 3)
        else:
            Tx = compat.evaluate(T, x, tree)
            ux = compat.evaluate(u, x, tree)
            gx = compat.evaluate(grad_T, x, tree)
        D = diffusivity.diffusivity(Tx)
        D_T = soret.soret_coefficient(Tx) * D
        dT = 1e-3
        dD_dT = (diffusivity.diffusivity(Tx + dT) - diffusivity.diffusivity(Tx - dT)) / (2 * dT)
        drift = ux - D_T[:, None] * gx + dD_dT[:, None] * gx
        x = x + drift * dt + np.sqrt(2.0 * D * dt)[:, None] * rng.standard_normal(x.shape)
        x = np.where(x < 0.0, -x, x)  # specular reflection on the box walls
        x = np.where(x > L, 2 * L - x, x)
    return n_particles * n_steps / (time.perf_counter() - start)


def tracker_rate(fields, L, n_particles: int, n_steps: int, dt: float, backend: str,
                 dtype=np.float64, steps_per_launch: int = 200, internal_states=None) -> tuple[float, object]:
    from thermocfd.tracking import ParticleState, Tracker

    tracker = Tracker(fields, dt=dt, backend=backend, dtype=dtype, seed=7,
                      steps_per_launch=steps_per_launch, internal_states=internal_states)
    state = ParticleState.uniform(n_particles, fields.lower, fields.upper, seed=7, dtype=tracker.dtype)
    tracker.advance(state, 1)  # compile / load the kernel, move the state
    report = tracker.advance(state, n_steps)
    assert report.counts["invalid"] == 0 and report.counts["in_domain"] == n_particles
    return report.particle_steps_per_s, tracker


# --- GPU -------------------------------------------------------------------------------
def copy_bandwidth_bytes_per_s() -> float:
    """Device-to-device copy bandwidth (read + write bytes per second)."""
    import cupy

    a = cupy.empty(256 * 2**20, dtype=np.float32)  # 1 GiB
    b = cupy.empty_like(a)
    b[...] = a
    cupy.cuda.get_current_stream().synchronize()
    start = cupy.cuda.Event()
    stop = cupy.cuda.Event()
    start.record()
    for _ in range(10):
        b[...] = a
    stop.record()
    stop.synchronize()
    seconds = cupy.cuda.get_elapsed_time(start, stop) / 1e3
    return 10 * 2 * a.nbytes / seconds


def peak_bandwidth_bytes_per_s() -> float | None:
    """memory clock x bus width x 2 (double data rate) of the current device, or None.

    CUDA 13 dropped the clock from the device properties; the attribute query still has it."""
    import cupy

    runtime = cupy.cuda.runtime
    device = cupy.cuda.Device().id
    props = runtime.getDeviceProperties(device)
    clock_khz, bus_bits = props.get("memoryClockRate"), props.get("memoryBusWidth")
    try:
        clock_khz = clock_khz or runtime.deviceGetAttribute(runtime.cudaDevAttrMemoryClockRate, device)
        bus_bits = bus_bits or runtime.deviceGetAttribute(runtime.cudaDevAttrGlobalMemoryBusWidth, device)
    except (AttributeError, runtime.CUDARuntimeError):
        return None
    if not clock_khz or not bus_bits:
        return None
    return float(clock_khz) * 1e3 * float(bus_bits) / 8.0 * 2.0


def device_state(n: int, dtype, seed: int):
    """n particles uniform in the cell, drawn on the device (ParticleState.uniform draws
    them on the host, a minute for 1e8)."""
    import cupy

    from thermocfd.tracking import ParticleState

    rng = cupy.random.RandomState(seed)
    positions = cupy.ascontiguousarray((L * rng.random_sample((3, n), dtype=np.float64)).astype(dtype))
    return ParticleState(positions=positions, ids=cupy.arange(n, dtype=cupy.uint64),
                         status=cupy.zeros(n, dtype=cupy.int8))


def fits_on_device(n: int, dtype) -> bool:
    """Whether n particles (the state, its float64 draw) fit in half the free device memory."""
    import cupy

    free, _ = cupy.cuda.runtime.memGetInfo()
    return n * (3 * 8 + 3 * np.dtype(dtype).itemsize + 8 + 2) < 0.5 * free


def timed_advance(tracker, state, steps_per_launch: int, seconds: float):
    """One step to compile and upload, one launch to estimate the rate, then about
    ``seconds`` of whole launches (the probe itself where it took half of that already);
    returns the AdvanceReport timed."""
    tracker.advance(state, 1)
    probe = tracker.advance(state, steps_per_launch)
    if probe.wall_time_s >= 0.5 * seconds:
        return probe
    launches = int(np.clip(seconds / max(probe.wall_time_s, 1e-6), 1, 10_000))
    return tracker.advance(state, launches * steps_per_launch)


def traffic_bytes(dtype, steps_per_launch: int, record_length: int, states: bool,
                  extra_state_bytes: int = 0) -> tuple[float, float]:
    """(particle-state bytes, uncached field bytes) per particle-step: positions read and
    written, id read, status (and internal state, and ``extra_state_bytes`` per particle)
    read and written once per launch; 8 corner records of ``record_length`` reals each step."""
    size = np.dtype(dtype).itemsize
    state = (6 * size + 8 + 2 + (2 if states else 0) + extra_state_bytes) / steps_per_launch
    return state, 8.0 * record_length * size


def gpu_rows(small_shape, large_shape, quick: bool, seconds: float, max_particles: float) -> tuple[list, dict]:
    """The GPU table (rows as dicts) and the device's figures."""
    import cupy

    from thermocfd.tracking import Tracker
    from thermocfd.tracking.inertial import InertialState, InertialTracker
    from thermocfd.tracking.kernels_cpu import STATE_RECORD

    peak = peak_bandwidth_bytes_per_s()
    copy = copy_bandwidth_bytes_per_s()
    reference = peak or copy
    device = {"peak_bandwidth_bytes_per_s": peak, "copy_bandwidth_bytes_per_s": copy}
    rows = []
    fused = 1000
    sizes = [10**5, 10**6] if quick else [10**6, 10**7, 10**8]
    sizes = [n for n in sizes if n <= max_particles]
    grids = {"small": analytic_fields(small_shape), "large": analytic_fields(large_shape)}
    dt = (L / 50) ** 2 / (2 * grids["small"].diffusivity.max())
    no_state = {}

    def measure(name, grid, dtype, n, steps_per_launch, make_tracker, record_length, states=False, reference_key=None,
                extra_state_bytes=0):
        row = {"method": name, "backend": "gpu", "grid": list(grid.shape), "dtype": np.dtype(dtype).name,
               "particles": n, "steps_per_launch": steps_per_launch}
        try:
            if not fits_on_device(n, dtype):
                raise MemoryError(f"{n:.0e} particles do not fit in half the free device memory")
            state = device_state(n, dtype, seed=7)
            tracker = make_tracker()
            report = timed_advance(tracker, state, steps_per_launch, seconds)
            counts = state.counts()
            if counts["invalid"] or counts["in_domain"] != n:
                raise RuntimeError(f"particles lost or invalid: {counts}")
            state_b, field_b = traffic_bytes(dtype, steps_per_launch, record_length, states, extra_state_bytes)
            rate = report.particle_steps_per_s
            row.update(steps=report.n_steps, wall_s=report.wall_time_s, particle_steps_per_s=rate,
                       state_bytes_per_step=state_b, uncached_field_bytes_per_step=field_b,
                       state_fraction_of_peak=rate * state_b / reference,
                       uncached_fraction_of_peak=rate * field_b / reference)
            row["note"] = (f"state {row['state_fraction_of_peak']:.1e}, uncached fields "
                           f"{row['uncached_fraction_of_peak']:.2f} of {reference / 1e12:.2f} TB/s")
            if reference_key in no_state:
                row["ratio_to_no_state"] = rate / no_state[reference_key]
                row["note"] += f"; x{row['ratio_to_no_state']:.2f} of no states"
            elif reference_key is not None and not states:
                no_state[reference_key] = rate
        except Exception as error:  # noqa: BLE001 - a failed row is recorded, the others still run
            row.update(error=f"{type(error).__name__}: {error}", note=f"FAILED: {type(error).__name__}: {error}")
        finally:
            cupy.get_default_memory_pool().free_all_blocks()
        rows.append(row)
        print(f"  {name} {row['dtype']} {n:.0e}: {row.get('particle_steps_per_s', float('nan')):.3e} "
              f"particle-steps/s  {row['note']}", flush=True)

    def fused_steps(n: int) -> int:
        """Steps fused per launch: 1000, but 100 for 1e8 particles (a launch stays ~1 s)."""
        return fused if n < 10**8 else fused // 10

    for dtype in (np.float32, np.float64):
        tag = np.dtype(dtype).name
        for grid_name, grid in grids.items():
            for n in sizes if grid_name == "small" else sizes[-2:]:
                for steps_per_launch in ((1, fused_steps(n)) if n == sizes[-2] else (fused_steps(n),)):
                    measure(f"tracker gpu {grid_name} grid ({tag}, {steps_per_launch}/launch)", grid, dtype, n,
                            steps_per_launch,
                            lambda g=grid, d=dtype, s=steps_per_launch: Tracker(g, dt=dt, backend="gpu", dtype=d,
                                                                                seed=7, steps_per_launch=s),
                            5, reference_key=(grid_name, tag, n, steps_per_launch))
        n = sizes[-2]
        for k_dt in K_DT_VALUES:
            model = switching_model(k_dt, dt)
            measure(f"tracker gpu small grid states k dt={k_dt:g} ({tag}, {fused}/launch)", grids["small"], dtype, n,
                    fused, lambda m=model, d=dtype: Tracker(analytic_fields(small_shape, m), dt=dt, backend="gpu",
                                                            dtype=d, seed=7, steps_per_launch=fused,
                                                            internal_states=m),
                    STATE_RECORD, states=True, reference_key=("small", tag, n, fused))

    class _Inertial:
        """Tracker-like front of InertialTracker for ``measure`` (velocities at rest)."""

        def __init__(self, steps_per_launch):
            self.tracker = InertialTracker(grids["small"], dt=dt, relaxation_time=dt, backend="gpu", seed=7,
                                           steps_per_launch=steps_per_launch)
            self.state = None

        def advance(self, particles, n_steps):
            if self.state is None:
                self.state = InertialState.at_rest(particles)
            return self.tracker.advance(self.state, n_steps)

    measure(f"inertial gpu small grid (float64, {fused}/launch)", grids["small"], np.float64, sizes[-2], fused,
            lambda: _Inertial(fused), 5, extra_state_bytes=2 * 3 * 8)  # + tau per corner; velocities
    return rows, device


# --- output ---------------------------------------------------------------------------
def print_table(rows) -> None:
    print(f"{'method':46s} {'particles':>10s} {'steps':>6s} {'particle-steps/s':>17s}  notes")
    for row in rows:
        rate = row.get("particle_steps_per_s", float("nan"))
        print(f"{row['method']:46s} {row['particles']:10.0e} {row.get('steps', 0):6d} {rate:17.3e}  {row['note']}")


def cpu_row(name, n, steps, rate, note, **extra) -> dict:
    return {"method": name, "backend": "cpu", "particles": n, "steps": steps, "particle_steps_per_s": rate,
            "note": note, **extra}


def cpu_rows(args) -> tuple[list, dict]:
    """The CPU table: dolfinx baselines, the numba tracker, its internal-state rows."""
    import numba

    from thermocfd.tracking import backend_info, grid_fields_from_dolfinx

    info = backend_info()
    L, mesh, T, u, grad_T = build_fem_fields(args.cells)
    diffusivity, soret = laws()
    t0 = time.perf_counter()
    fields = grid_fields_from_dolfinx(T, diffusivity, soret, velocity=u)
    sampling_s = time.perf_counter() - t0
    dt = (L / 50) ** 2 / (2 * fields.diffusivity.max())

    sizes = [(10**4, 20), (10**5, 5)] if args.quick else [(10**5, 50), (10**6, 10), (10**7, 3)]
    base_n, base_steps = (500, 3) if args.quick else (2000, 5)
    threads = numba.get_num_threads()
    setting = {"mesh_cells_per_axis": args.cells, "grid": list(fields.shape), "sampling_s": sampling_s,
               "numba_threads": threads, "load_average": os.getloadavg()[0],
               "gpu": info["gpu"].get("device", info["gpu"]["reason"])}
    print(f"mesh {args.cells}^3 x 6 tetrahedra, P1; tracking grid {fields.shape}, "
          f"sampled in {sampling_s:.2f} s; numba threads {threads}; "
          f"load average {setting['load_average']:.1f}; GPU: {setting['gpu']}")

    rows = []
    evaluate_rate = dolfinx_baseline(L, mesh, T, u, grad_T, base_n, base_steps, dt, locate_once=False)
    located_rate = dolfinx_baseline(L, mesh, T, u, grad_T, base_n, base_steps, dt, locate_once=True)
    rows.append(cpu_row("dolfinx compat.evaluate x3 / step", base_n, base_steps, evaluate_rate, ""))
    rows.append(cpu_row("dolfinx locate once + eval x3", base_n, base_steps, located_rate, ""))
    # One thread first: the per-core ratio against the (serial) dolfinx loop, which a
    # shared, oversubscribed machine distorts least.
    runs = [(1, sizes[min(1, len(sizes) - 1)])] + [(threads, size) for size in sizes]
    no_state = {}
    for n_threads, (n, steps) in runs:
        numba.set_num_threads(n_threads)
        rate, _ = tracker_rate(fields, L, n, steps, dt, "cpu")
        no_state[n_threads, n] = rate
        rows.append(cpu_row(f"tracker cpu (numba, float64, {n_threads} thr)", n, steps, rate,
                            f"x{rate / evaluate_rate:.0f} vs evaluate, x{rate / located_rate:.0f} vs locate+eval",
                            threads=n_threads))
    numba.set_num_threads(threads)
    n, steps = sizes[min(1, len(sizes) - 1)]
    rate, _ = tracker_rate(fields, L, n, steps, dt, "cpu", dtype=np.float32)
    rows.append(cpu_row(f"tracker cpu (numba, float32 fields, {threads} thr)", n, steps, rate,
                        f"x{rate / no_state[threads, n]:.2f} of float64 fields", threads=threads))
    for k_dt in K_DT_VALUES:
        model = switching_model(k_dt, dt)
        state_fields = analytic_fields(fields.shape, model)
        rate, _ = tracker_rate(state_fields, L, n, steps, dt, "cpu", internal_states=model)
        ratio = rate / no_state[threads, n]
        rows.append(cpu_row(f"tracker cpu states k dt={k_dt:g} ({threads} thr)", n, steps, rate,
                            f"x{ratio:.2f} of no states", threads=threads, ratio_to_no_state=ratio))
    return rows, setting


def chip_rows(args) -> tuple[list, dict]:
    """The headline: the chip grid, float64 and float32 fields, each measured twice, with
    the memory-traffic bound of the CPU (STREAM triad) and of an H200."""
    import numba

    from thermocfd.tracking import ParticleState, Tracker, kernels_cpu, suggest_time_step

    threads = numba.get_num_threads()
    fields = chip_fields((100, 25, 10) if args.quick else CHIP_SHAPE)
    bandwidth = stream_triad_bytes_per_s(2**22 if args.quick else 2**24)
    dt = suggest_time_step(fields)
    n, steps = (10**5, 10) if args.quick else (10**6, 20)
    setting = {"chip_grid": list(fields.shape), "chip_cells": int(np.prod(np.array(fields.shape) - 1)),
               "stream_triad_bytes_per_s": bandwidth, "numba_threads": threads, "uptime_load": os.getloadavg()}
    print(f"chip grid {fields.shape} ({setting['chip_cells']:.2e} cells); STREAM triad {bandwidth / 1e9:.1f} GB/s "
          f"({threads} threads); load average {os.getloadavg()[0]:.1f}")
    rows = []
    for dtype in (np.float64, np.float32):
        tag = np.dtype(dtype).name
        cpu_bytes = step_bytes(dtype, np.float64, steps, 64)
        for run in (1, 2):  # twice: the machine is shared
            tracker = Tracker(fields, dt=dt, backend="cpu", dtype=dtype, seed=7)
            state = ParticleState.uniform(n, fields.lower, fields.upper, seed=7)
            tracker.advance(state, 1)  # compile, warm the caches
            cpu_start = time.process_time()
            rate = tracker.advance(state, steps).particle_steps_per_s
            # what the threads would do undisturbed, on a machine shared with other jobs
            cpu_rate = threads * n * steps / (time.process_time() - cpu_start)
            fraction = rate * cpu_bytes / bandwidth
            rows.append(cpu_row(f"tracker cpu chip grid ({tag} fields, {threads} thr) #{run}", n, steps, rate,
                                f"{cpu_bytes:.0f} B/step uncached: bound {bandwidth / cpu_bytes:.2e}, "
                                f"{fraction:.2f} of it; per CPU-second x {threads}: {cpu_rate:.2e}",
                                threads=threads, field_dtype=tag, bytes_per_step=cpu_bytes,
                                bound_particle_steps_per_s=bandwidth / cpu_bytes, fraction_of_bound=fraction,
                                cpu_time_particle_steps_per_s=cpu_rate))
        # The same kernel on the particles in their random order (the tracker sorts them by
        # grid block first, :func:`thermocfd.tracking.tracker.in_grid_order`).
        tracker = Tracker(fields, dt=dt, backend="cpu", dtype=dtype, seed=7)
        state = ParticleState.uniform(n, fields.lower, fields.upper, seed=7)
        tracker.advance(state, 1)
        nodes, _, _, origin, inv_h = tracker.fields_at(0.0)
        start = time.perf_counter()
        kernels_cpu.advance_cpu(state.positions, state.status, state.ids, nodes, origin, inv_h, tracker.box_lower,
                                tracker.box_upper, tracker.face_kind, tracker.sticking, np.uint64(7),
                                np.uint64(state.step), np.int64(steps), np.float64(dt), False, True)
        rate = n * steps / (time.perf_counter() - start)
        rows.append(cpu_row(f"  same, particles in random order ({tag})", n, steps, rate,
                            f"sorted / random = {rows[-2]['particle_steps_per_s'] / rate:.2f} and "
                            f"{rows[-1]['particle_steps_per_s'] / rate:.2f}", threads=threads, field_dtype=tag))
        gpu_bytes = step_bytes(dtype, dtype, 1000, 32)
        rows.append({"method": f"H200 bound, chip grid ({tag}, 1000/launch)", "backend": "bound", "particles": n,
                     "steps": 0, "particle_steps_per_s": H200_BANDWIDTH / gpu_bytes, "bytes_per_step": gpu_bytes,
                     "note": f"{gpu_bytes:.0f} B/step in 32 B sectors at 4.8 TB/s (not measured)"})
    return rows, setting


def profile_rows(args) -> list:
    """The parts of a step timed alone (same threads, 1e6 particles x 20 steps, CPU time):
    Philox, Philox + ziggurat normals, the corner sampling on the chip grid (out of L2)
    and on a 15^3 grid (in L1/L2)."""
    import numba
    from numba import prange

    from thermocfd.tracking.kernels_cpu import sample_nodes
    from thermocfd.tracking.rng import FASTMATH, normals3, split_key, uniforms4

    @numba.njit(parallel=True, fastmath=FASTMATH)
    def philox_only(n, steps, k0, k1, out):
        for p in prange(n):
            acc = 0.0
            for s in range(steps):
                u0, u1, u2, _ = uniforms4(p, s, 0, k0, k1)
                acc += u0 + u1 + u2
            out[p] = acc

    @numba.njit(parallel=True, fastmath=FASTMATH)
    def normals_only(n, steps, k0, k1, out):
        for p in prange(n):
            acc = 0.0
            for s in range(steps):
                n0, n1, n2 = normals3(p, s, 0, k0, k1)
                acc += n0 + n1 + n2
            out[p] = acc

    @numba.njit(parallel=True, fastmath=FASTMATH)
    def sampling_only(pos, nodes, origin, inv_h, steps, out):
        flat = nodes.reshape(-1)
        for p in prange(pos.shape[1]):
            x, y, z = pos[0, p], pos[1, p], pos[2, p]
            acc = 0.0
            for s in range(steps):
                r = sample_nodes(flat, nodes.shape, x, y, z, origin[0], origin[1], origin[2],
                                 inv_h[0], inv_h[1], inv_h[2])
                acc += r[0] + r[1] + r[2] + r[3] + r[4] + r[5] + r[6] + r[7]
                x += (1e-3 if s & 1 else -1e-3) / inv_h[0]  # stays in its cell pair, as a Brownian step
            out[p] = acc

    from thermocfd.tracking import ParticleState

    n, steps = (10**5, 10) if args.quick else (10**6, 20)
    out = np.empty(n)
    k0, k1 = split_key(np.uint64(7))

    def best_rate(function, *arguments):
        """Particle-steps per second of all threads, from the CPU time they used (the
        machine is shared: wall-clock time would count the other jobs' turns)."""
        function(*arguments)
        best = np.inf
        for _ in range(3):
            start = time.process_time()
            function(*arguments)
            best = min(best, time.process_time() - start)
        return numba.get_num_threads() * n * steps / best

    rows = [cpu_row("profile: Philox4x32-10 block", n, steps, best_rate(philox_only, n, steps, k0, k1, out), ""),
            cpu_row("profile: Philox + 3 ziggurat normals", n, steps, best_rate(normals_only, n, steps, k0, k1, out), "")]
    for name, grid in (("chip grid", chip_fields((100, 25, 10) if args.quick else CHIP_SHAPE)),
                       ("15^3 grid", analytic_fields((15, 15, 15)))):
        nodes = grid.node_records("trilinear", with_inside=True)
        pos = np.ascontiguousarray(ParticleState.uniform(n, grid.lower, grid.upper, seed=7).positions)
        rows.append(cpu_row(f"profile: corner sampling, {name}", n, steps,
                            best_rate(sampling_only, pos, nodes, grid.origin, 1.0 / grid.spacing, steps, out), ""))
    total = {row["method"]: 1.0 / row["particle_steps_per_s"] for row in rows}
    for row in rows:
        row["note"] = f"{1e9 * numba.get_num_threads() * total[row['method']]:.0f} ns per step per thread"
    return rows


def sampling_table(args) -> list:
    """Error of the sampled grid fields against dolfinx point evaluation, for three grid
    spacings: T (P3) = 300 K + 5 K sin(pi x/L) cos(pi y/2L) + 1 K z/L and a swirling P2 u
    on a 100 um box (12^3 x 6 tetrahedra, mesh units of 100 um as thermocfd scales its
    meshes), 20 000 random points in the fluid and 20 000 within one grid cell of the
    walls; max and RMS relative to each field's largest magnitude (T: its range), and the
    observed order between successive spacings."""
    from mpi4py import MPI

    import dolfinx
    import dolfinx.mesh

    from thermocfd.fem import compat
    from thermocfd.tracking.sampling import grid_fields_from_dolfinx, interpolation_error_estimate, sampling_errors

    mesh = dolfinx.mesh.create_box(MPI.COMM_WORLD, [np.zeros(3), np.ones(3)], [12] * 3,
                                   dolfinx.mesh.CellType.tetrahedron)
    T = dolfinx.fem.Function(compat.function_space(mesh, "Lagrange", 3))
    compat.interpolate(T, lambda x: 300.0 + 5.0 * np.sin(np.pi * x[0]) * np.cos(0.5 * np.pi * x[1]) + x[2])
    u = dolfinx.fem.Function(compat.function_space(mesh, "Lagrange", 2, shape=(3,)))
    compat.interpolate(u, lambda x: np.vstack([1e-6 * np.sin(np.pi * x[0]) * np.cos(np.pi * x[1]),
                                               -1e-6 * np.cos(np.pi * x[0]) * np.sin(np.pi * x[1]), 0 * x[0]]))
    rng = np.random.default_rng(3)
    rows, previous = [], None
    for cells in ((10, 20) if args.quick else (10, 20, 40)):
        h = 1.0 / cells
        fields = grid_fields_from_dolfinx(T, 1e-12, velocity=u, spacing=h, length_scale=L)
        fluid = rng.random((20_000, 3))
        wall = rng.random((20_000, 3))  # within one grid cell of a face
        axis = rng.integers(0, 3, wall.shape[0])
        depth = h * rng.random(wall.shape[0])
        wall[np.arange(wall.shape[0]), axis] = np.where(rng.random(wall.shape[0]) < 0.5, depth, 1.0 - depth)
        errors = {"fluid": sampling_errors(fields, T, u, points=fluid, length_scale=L),
                  "wall": sampling_errors(fields, T, u, points=wall, length_scale=L)}
        estimate = interpolation_error_estimate(fields)
        row = {"method": f"sampling h = L/{cells}", "grid": list(fields.shape), "spacing_m": h * L,
               "errors": errors, "estimate": estimate}
        if previous is not None:
            row["order"] = {where: {name: float(np.log2(previous["errors"][where][name]["max"]
                                                        / errors[where][name]["max"]))
                                    for name in errors[where]} for where in errors}
        rows.append(row)
        previous = row
    print(f"{'grid':>10s} {'field':>17s} {'max (fluid)':>12s} {'rms (fluid)':>12s} {'max (wall)':>11s} "
          f"{'rms (wall)':>11s} {'estimate':>9s} {'order (max)':>11s}")
    for row in rows:
        for name in ("temperature", "grad_temperature", "velocity"):
            fluid, wall = row["errors"]["fluid"][name], row["errors"]["wall"][name]
            order = row.get("order", {}).get("fluid", {}).get(name)
            print(f"{row['method'][12:]:>10s} {name:>17s} {fluid['max']:12.2e} {fluid['rms']:12.2e} "
                  f"{wall['max']:11.2e} {wall['rms']:11.2e} {row['estimate'].get(name, float('nan')):9.2e} "
                  f"{'' if order is None else f'{order:.2f}':>11s}")
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    parser.add_argument("--no-gpu", action="store_true", help="skip the GPU even if usable")
    parser.add_argument("--gpu-only", action="store_true",
                        help="only the GPU rows (no dolfinx needed); fails without a usable GPU")
    parser.add_argument("--cells", type=int, default=12, help="mesh cells per axis")
    parser.add_argument("--large-grid", type=int, default=256, help="nodes per axis of the out-of-cache GPU grid")
    parser.add_argument("--gpu-seconds", type=float, default=1.0, help="timed seconds per GPU row")
    parser.add_argument("--max-particles", type=float, default=1e8, help="largest GPU particle count")
    parser.add_argument("--json", metavar="FILE", help="write the rows and the setting as JSON")
    parser.add_argument("--chip-only", action="store_true", help="only the chip-grid headline (no dolfinx)")
    parser.add_argument("--profile", action="store_true", help="also time the parts of a step alone")
    parser.add_argument("--sampling", action="store_true",
                        help="only the table of sampling errors against dolfinx point evaluation")
    args = parser.parse_args(argv)
    if args.gpu_only and (args.no_gpu or args.chip_only):
        parser.error("--gpu-only excludes --no-gpu and --chip-only")

    from thermocfd.tracking import backend_info

    if args.sampling:
        rows = sampling_table(args)
        if args.json:
            with open(args.json, "w") as stream:
                json.dump({"sampling": rows}, stream, indent=2)
        return
    info = backend_info()
    setting = {"gpu": info["gpu"].get("device", info["gpu"]["reason"])}
    rows = []
    if not args.gpu_only:
        rows, chip_setting = chip_rows(args)
        setting.update(chip_setting)
        if args.profile:
            rows += profile_rows(args)
        if not args.chip_only:
            more, cpu_setting = cpu_rows(args)
            rows += more
            setting.update(cpu_setting)
    device = {}
    if args.gpu_only and not info["gpu"]["available"]:
        raise SystemExit(f"bench_tracker: --gpu-only: no usable GPU: {info['gpu']['reason']}")
    if info["gpu"]["available"] and not (args.no_gpu or args.chip_only):
        small = tuple(setting.get("grid", (15, 15, 15)))  # the 12^3 mesh's sampling grid
        large = (min(args.large_grid, 64) if args.quick else args.large_grid,) * 3
        gpu, device = gpu_rows(small, large, args.quick, args.gpu_seconds, args.max_particles)
        rows += gpu
        device.update({key: value for key, value in info["gpu"].items() if key not in ("available", "engine")})

    print_table(rows)
    if args.json:
        with open(args.json, "w") as stream:
            json.dump({"setting": setting, "device": device, "rows": rows}, stream, indent=2)
    if any("error" in row for row in rows):
        raise SystemExit("bench_tracker: some rows failed (see their notes)")


if __name__ == "__main__":
    main()
