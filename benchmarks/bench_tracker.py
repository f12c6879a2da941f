"""Particle-tracker throughput: compiled kernels versus dolfinx point evaluation.

    .venv/bin/python benchmarks/bench_tracker.py            # CPU 1e5/1e6/1e7, GPU if usable
    .venv/bin/python benchmarks/bench_tracker.py --quick    # smaller, for a smoke test

Fields: a Soret cell with a swirling P1 flow on a small tetrahedral P1 mesh, Stokes-Einstein
D(T) in water and Piazza's S_T(T). The tracker samples them once on a grid
(``grid_fields_from_dolfinx``) and advances N particles with the fused kernel. The
baseline advances particles the way a dolfinx user would: every step, evaluate the
Functions u, T and grad T at the particle positions, apply the physics laws and take an
Euler-Maruyama step in NumPy. Two baselines are timed: ``compat.evaluate`` per Function
(the package's public helper; it locates the points each call) and one
``compat.locate_cells`` per step followed by ``Function.eval`` for each Function (a careful
user). Ratios are measured in the same run, since shared machines are noisy.

On a GPU the CuPy kernel runs in float32 and float64; the table gives particle-steps/s and
the fraction of the memory bandwidth (measured with a device-to-device copy) that the
particle-state traffic and, as an upper bound, the uncached field reads would need.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np


def build_fem_fields(cells: int):
    """(mesh, T, u, grad T) P1 Functions on a 100 um cube and the laws."""
    from mpi4py import MPI

    import dolfinx
    import dolfinx.mesh

    from thermocfd.fem import compat

    L = 100e-6
    mesh = dolfinx.mesh.create_box(MPI.COMM_WORLD, [np.zeros(3), np.full(3, L)], [cells] * 3,
                                   dolfinx.mesh.CellType.tetrahedron)
    V = compat.function_space(mesh, "Lagrange", 1)
    W = compat.function_space(mesh, "Lagrange", 1, shape=(3,))
    T = dolfinx.fem.Function(V)
    compat.interpolate(T, lambda x: 340.0 - 5e5 * x[0])  # 340 K hot wall, 290 K cold wall
    grad_T = dolfinx.fem.Function(W)
    compat.interpolate(grad_T, lambda x: np.vstack([-5e5 + 0 * x[0], 0 * x[0], 0 * x[0]]))
    u = dolfinx.fem.Function(W)
    compat.interpolate(u, lambda x: np.vstack([1e-6 * np.sin(np.pi * x[0] / L) * np.cos(np.pi * x[1] / L),
                                               -1e-6 * np.cos(np.pi * x[0] / L) * np.sin(np.pi * x[1] / L),
                                               0 * x[0]]))
    return L, mesh, T, u, grad_T


def laws():
    from thermocfd.physics import PiazzaSoret, StokesEinsteinDiffusivity, WaterViscosity

    return (StokesEinsteinDiffusivity(0.2e-6, WaterViscosity()),
            PiazzaSoret(s_inf=0.05, t_star=280.0, t0=30.0))


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
                 dtype=np.float64, steps_per_launch: int = 200) -> tuple[float, object]:
    from thermocfd.tracking import ParticleState, Tracker

    tracker = Tracker(fields, dt=dt, backend=backend, dtype=dtype, seed=7,
                      steps_per_launch=steps_per_launch)
    state = ParticleState.uniform(n_particles, [0, 0, 0], [L, L, L], seed=7, dtype=dtype)
    tracker.advance(state, 1)  # compile / load the kernel, move the state
    report = tracker.advance(state, n_steps)
    assert report.counts["invalid"] == 0 and report.counts["in_domain"] == n_particles
    return report.particle_steps_per_s, tracker


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


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    parser.add_argument("--no-gpu", action="store_true", help="skip the GPU even if usable")
    parser.add_argument("--cells", type=int, default=12, help="mesh cells per axis")
    args = parser.parse_args(argv)

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

    rows = []
    print(f"mesh {args.cells}^3 x 6 tetrahedra, P1; tracking grid {fields.shape}, "
          f"sampled in {sampling_s:.2f} s; numba threads {numba.get_num_threads()}; "
          f"load average {os.getloadavg()[0]:.1f}; "
          f"GPU: {info['gpu'].get('device', info['gpu']['reason'])}")
    evaluate_rate = dolfinx_baseline(L, mesh, T, u, grad_T, base_n, base_steps, dt, locate_once=False)
    located_rate = dolfinx_baseline(L, mesh, T, u, grad_T, base_n, base_steps, dt, locate_once=True)
    rows.append(("dolfinx compat.evaluate x3 / step", base_n, base_steps, evaluate_rate, ""))
    rows.append(("dolfinx locate once + eval x3", base_n, base_steps, located_rate, ""))
    threads = numba.get_num_threads()
    # One thread first: the per-core ratio against the (serial) dolfinx loop, which a
    # shared, oversubscribed machine distorts least.
    runs = [(1, sizes[min(1, len(sizes) - 1)])] + [(threads, size) for size in sizes]
    for n_threads, (n, steps) in runs:
        numba.set_num_threads(n_threads)
        rate, _ = tracker_rate(fields, L, n, steps, dt, "cpu")
        rows.append((f"tracker cpu (numba, float64, {n_threads} thr)", n, steps, rate,
                     f"x{rate / evaluate_rate:.0f} vs evaluate, x{rate / located_rate:.0f} vs locate+eval"))
    numba.set_num_threads(threads)

    if info["gpu"]["available"] and not args.no_gpu:
        bandwidth = copy_bandwidth_bytes_per_s()
        gpu_sizes = [(10**6, 200), (10**7, 1000)] if args.quick else [(10**7, 2000), (10**8, 1000)]
        for dtype in (np.float32, np.float64):
            size = np.dtype(dtype).itemsize
            for n, steps in gpu_sizes:
                for steps_per_launch in (200, 1000):
                    rate, _ = tracker_rate(fields, L, n, steps, dt, "gpu", dtype, steps_per_launch)
                    # particle state per launch: positions read+write, id read, status read+write
                    state_bytes = (6 * size + 8 + 2) / steps_per_launch
                    field_bytes = 8 * 4 * size  # 8 corner records per step if none were cached
                    rows.append((f"tracker gpu ({np.dtype(dtype).name}, {steps_per_launch}/launch)",
                                 n, steps, rate,
                                 f"state {rate * state_bytes / bandwidth:.1e}, uncached fields "
                                 f"{rate * field_bytes / bandwidth:.2f} of {bandwidth / 1e12:.2f} TB/s"))

    print(f"{'method':46s} {'particles':>10s} {'steps':>6s} {'particle-steps/s':>17s}  notes")
    for name, n, steps, rate, note in rows:
        print(f"{name:46s} {n:10.0e} {steps:6d} {rate:17.3e}  {note}")


if __name__ == "__main__":
    main()
