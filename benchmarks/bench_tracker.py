"""Particle-tracker throughput: compiled kernels versus dolfinx point evaluation.

    .venv/bin/python benchmarks/bench_tracker.py            # CPU 1e5/1e6/1e7, GPU if usable
    .venv/bin/python benchmarks/bench_tracker.py --quick    # smaller, for a smoke test
    .venv/bin/python benchmarks/bench_tracker.py --gpu-only --json rows.json   # benchmarks/gpu_check.sh

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
    state = ParticleState.uniform(n_particles, [0, 0, 0], [L, L, L], seed=7, dtype=dtype)
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
                            4, reference_key=(grid_name, tag, n, steps_per_launch))
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
    for k_dt in K_DT_VALUES:
        model = switching_model(k_dt, dt)
        state_fields = analytic_fields(fields.shape, model)
        rate, _ = tracker_rate(state_fields, L, n, steps, dt, "cpu", internal_states=model)
        ratio = rate / no_state[threads, n]
        rows.append(cpu_row(f"tracker cpu states k dt={k_dt:g} ({threads} thr)", n, steps, rate,
                            f"x{ratio:.2f} of no states", threads=threads, ratio_to_no_state=ratio))
    return rows, setting


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
    args = parser.parse_args(argv)
    if args.gpu_only and args.no_gpu:
        parser.error("--gpu-only and --no-gpu exclude each other")

    from thermocfd.tracking import backend_info

    info = backend_info()
    rows, setting = ([], {"gpu": info["gpu"].get("device", info["gpu"]["reason"])}) if args.gpu_only \
        else cpu_rows(args)
    device = {}
    if args.gpu_only and not info["gpu"]["available"]:
        raise SystemExit(f"bench_tracker: --gpu-only: no usable GPU: {info['gpu']['reason']}")
    if info["gpu"]["available"] and not args.no_gpu:
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
