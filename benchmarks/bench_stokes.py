"""Stokes solver benchmark: block-preconditioned Krylov versus MUMPS on the same 3D problem.

A sphere translating in a closed box (Taylor-Hood P2-P1 on curved tetrahedra, graded
towards the sphere) at several sizes. For each size the iterative solver with both velocity
blocks of the preconditioner ("laplacian": GAMG per component; "strain": BoomerAMG on the
vector block) and MUMPS assemble the same operator and solve the same right-hand side; the
table gives wall times (set-up = assembly + preconditioner/factorisation, solve), Krylov
iterations, the time ratio MUMPS / fastest iterative measured in the same run, the
agreement of the drag and the peak memory per rank (per process: ``--scaling`` gives it per
dof, one process per row). Then one larger mobility solve (6 unit motions,
the slip loads by reciprocity, with the conjugate temperature), all in, phase by phase.
``--scaling`` runs the mobility problem at two sizes on 1 and 2 ranks (one mpirun each) and
prints time per dof, memory per dof and iterations.

    .venv/bin/python benchmarks/bench_stokes.py                     # ~50k, ~100k, ~200k dofs
    .venv/bin/python benchmarks/bench_stokes.py --sizes 5e4 1e5 --large 1e6
    .venv/bin/python benchmarks/bench_stokes.py --accuracy          # finer wall/drag checks
    mpirun -n 2 .venv/bin/python benchmarks/bench_stokes.py --no-direct --large 1e6
    .venv/bin/python benchmarks/bench_stokes.py --krylov minres     # block-diagonal + MINRES
    .venv/bin/python benchmarks/bench_stokes.py --scaling 1e5 4e5   # strong scaling, 1 and 2 ranks

MUMPS is skipped above ``--direct-max`` dofs (its time and memory grow much faster).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time

# One BLAS/OpenMP thread per MPI rank: threaded BLAS on a shared machine slows PETSc's
# vector kernels by ~30x (measured: VecAXPY 28 vs 900 Mflop/s) and makes timings noisy.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np
from mpi4py import MPI

from thermocfd.fem.heat import FixedTemperature, HeatProblem
from thermocfd.fem.mobility import MobilityProblem, particles_of
from thermocfd.fem.particle_mesh import particle_near_wall, sphere_in_box
from thermocfd.physics.analytic import anderson_phoretic_velocity
from thermocfd.physics.phoresis import brenner_perpendicular_correction, faxen_parallel_correction

COMM = MPI.COMM_WORLD
HALF_WIDTH = 6.0
# P2-P1 dofs of the benchmark's sphere in a box at four resolutions (measured): the graded
# mesh grows like resolution^2 at first and like resolution^3 only later, so a first guess
# from one power law was 20-30 % off at 1e6 dofs and every large run meshed twice.
DOFS_AT_RESOLUTION = ((1.0, 35_879), (2.0, 149_215), (3.0, 399_810), (4.1407, 926_002))


def peak_rss_mib() -> float:
    """Largest peak resident memory of any rank, MiB."""
    return COMM.allreduce(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, op=MPI.MAX)


def say(*args):
    if COMM.rank == 0:
        print(*args, flush=True)


def taylor_hood_dofs(domain) -> int:
    """P2-P1 dof count (3 (vertices + edges) + vertices) of a tetrahedral mesh."""
    mesh = domain.mesh
    mesh.topology.create_entities(1)
    vertices = mesh.topology.index_map(0).size_global
    edges = mesh.topology.index_map(1).size_global
    return 3 * (vertices + edges) + vertices


def first_resolution(target_dofs: float) -> float:
    """The resolution for ``target_dofs``, log-log interpolated in :data:`DOFS_AT_RESOLUTION`
    (extrapolated with the slope of the nearest pair)."""
    log_r = np.log([r for r, _ in DOFS_AT_RESOLUTION])
    log_n = np.log([n for _, n in DOFS_AT_RESOLUTION])
    x = math.log(target_dofs)
    i = int(np.clip(np.searchsorted(log_n, x) - 1, 0, len(log_n) - 2))
    return math.exp(log_r[i] + (x - log_n[i]) * (log_r[i + 1] - log_r[i]) / (log_n[i + 1] - log_n[i]))


def domain_for(target_dofs: float, scale: float = 1.0, **kwargs):
    """A sphere-in-box mesh with about ``target_dofs`` P2-P1 dofs (a second mesh only if the
    first is more than 15 % off)."""
    resolution = first_resolution(target_dofs)
    for _ in range(2):
        domain = sphere_in_box(scale, HALF_WIDTH * scale, surface_size=0.3 * scale, far_size=1.5 * scale,
                               resolution=resolution, **kwargs)
        dofs = taylor_hood_dofs(domain)
        if abs(dofs / target_dofs - 1.0) < 0.15:
            break
        resolution *= (target_dofs / dofs) ** (1.0 / 3.0)
    return domain, resolution


def timed_solve(domain, solver: str, krylov: str = "gmres", velocity_block: str = "laplacian"):
    COMM.barrier()
    start = time.perf_counter()
    options = {"velocity_block": velocity_block} if solver == "iterative" else {}
    problem = MobilityProblem(domain, 1.0, solver=solver, krylov=krylov, **options)
    stokes = problem.stokes
    stokes.set_rigid_motion("particle", (1.0, 0.0, 0.0), scaled=True)
    stokes.assemble_rhs()
    stokes.ksp.setUp()  # AMG hierarchy / LU factorisation
    COMM.barrier()
    setup = time.perf_counter() - start
    start = time.perf_counter()
    stokes.solve()
    COMM.barrier()
    solve = time.perf_counter() - start
    force = stokes._rigid_loads_scaled("particle")[0]
    dofs = stokes.A.getSize()[0]
    iterations = stokes.iterations[-1]
    stokes.destroy()
    return dict(dofs=dofs, setup=setup, solve=solve, total=setup + solve, iterations=iterations,
                drag=-force / (6 * math.pi), rss=peak_rss_mib())


def compare(sizes, direct_max, krylov):
    preconditioner = "block-triangular" if krylov == "gmres" else "block-diagonal"
    say(f"\n# {krylov} + {preconditioner} (velocity block: laplacian = GAMG per component, strain = BoomerAMG "
        f"on the vector block; Chebyshev-Jacobi M_p/(2 mu)) vs MUMPS, {COMM.size} rank(s), rtol 1e-8")
    say(f"{'dofs':>9} {'block':>9} {'setup':>7} {'solve':>7} {'its':>4} {'total':>7} {'us/dof':>7} "
        f"{'LU setup':>8} {'LU solve':>8} {'LU total':>8} {'ratio':>6} {'drag diff':>9}")
    # One small solve per solver first: the first solve in a process pays one-time costs
    # (loading the compiled forms, PETSc's and MUMPS's first use) that the later ones do
    # not, and they fell on whichever solver the table ran first (the iterative one).
    warm_up = domain_for(1e4)[0]
    for solver, block in (("iterative", "laplacian"), ("iterative", "strain"), ("direct", "laplacian")):
        if solver == "iterative" or direct_max > 0:
            timed_solve(warm_up, solver, krylov, block)
    del warm_up
    rows = []
    for target in sizes:
        domain, _ = domain_for(target)
        iterative = {block: timed_solve(domain, "iterative", krylov, block) for block in ("laplacian", "strain")}
        lu = timed_solve(domain, "direct") if iterative["strain"]["dofs"] <= direct_max else None
        best = min(row["total"] for row in iterative.values())
        for block, it in iterative.items():
            per_dof = 1e6 * it["total"] / it["dofs"]
            line = (f"{it['dofs']:>9d} {block:>9} {it['setup']:>7.2f} {it['solve']:>7.2f} {it['iterations']:>4d} "
                    f"{it['total']:>7.2f} {per_dof:>7.1f} ")
            if lu:
                diff = abs(lu["drag"] - it["drag"]) / abs(lu["drag"])
                line += (f"{lu['setup']:>8.2f} {lu['solve']:>8.2f} {lu['total']:>8.2f} {lu['total'] / it['total']:>6.1f} "
                         f"{diff:>9.1e}")
            else:
                line += f"{'skipped':>8}"
            say(line)
        if lu:
            say(f"{'':>9} {'MUMPS':>9} peak memory {lu['rss']:.0f} MiB/rank (iterative: {iterative['strain']['rss']:.0f} "
                f"or less); MUMPS / fastest iterative = {lu['total'] / best:.1f}")
        rows.append((iterative, lu))
        del domain
    return rows


PHORETIC = dict(a=1e-6, chi=2e-10, k=0.6, G=np.array([0.0, 0.0, 1e4]))  # radius, slip coefficient, k_f, grad T


def phoretic_fields(target):
    """The mesh and the conjugate heat solution of the phoretic sphere: (domain, T, mesh s, heat s)."""
    a, k, G = PHORETIC["a"], PHORETIC["k"], PHORETIC["G"]
    COMM.barrier()
    start = time.perf_counter()
    domain, _ = domain_for(target, scale=a)
    mesh_time = time.perf_counter() - start
    faces = [name for name in domain.boundaries if name != "particle_surface"]
    start = time.perf_counter()
    heat = HeatProblem(domain, {"fluid": k, "particle": 4 * k},
                       [FixedTemperature(face, lambda x: 300.0 + G[2] * x[2]) for face in faces],
                       degree=2, linear_solver="iterative", rtol=1e-10)
    T = heat.solve_steady()
    return domain, T, mesh_time, time.perf_counter() - start


def phoretic_flow(domain, T, krylov, velocity_block, rtol=1e-8):
    """Stokes set-up, 6 unit motions and the slip loads; a dict (times without mesh and heat)."""
    chi, k, G = PHORETIC["chi"], PHORETIC["k"], PHORETIC["G"]
    COMM.barrier()
    start = time.perf_counter()
    problem = MobilityProblem(domain, 1e-3, particles_of(domain, chi), temperature=T, velocity_scale=chi * 1e4,
                              krylov=krylov, velocity_block=velocity_block, rtol=rtol)
    result = problem.solve(temperature_gradient=G)
    COMM.barrier()
    flow_time = time.perf_counter() - start
    expected = anderson_phoretic_velocity(chi, k, 4 * k, G)
    row = dict(dofs=problem.stokes.A.getSize()[0], cells=domain.num_cells(), ranks=COMM.size, rtol=rtol,
               flow=flow_time, stokes_setup=result.timings["setup"], motions=result.timings["resistance"],
               slip=result.timings["slip"], iterations=list(result.iterations),
               velocity=result.velocity[0].tolist(), anderson=expected.tolist(),
               error=float(np.linalg.norm(result.velocity[0] - expected) / np.linalg.norm(expected)),
               rss=peak_rss_mib())
    problem.stokes.destroy()
    return row


def mobility_run(target, krylov, velocity_block, rtol=1e-8):
    """The phoretic sphere all in (mesh, conjugate heat, Stokes set-up, 6 motions); a dict."""
    domain, T, mesh_time, heat_time = phoretic_fields(target)
    row = phoretic_flow(domain, T, krylov, velocity_block, rtol)
    return dict(row, mesh=mesh_time, heat=heat_time, total=mesh_time + heat_time + row["flow"])


def large_mobility(target, krylov, velocity_block, rtols=(1e-8,)):
    """The phoretic sphere all in, one mesh and heat solve, the flow at each GMRES rtol (the
    velocity's change against the first rtol shows the solver's share of the error)."""
    say(f"\n# phoretic sphere, ~{target:.0e} dofs: heat (conjugate, k_p/k_f = 4) + 6 unit motions "
        f"(slip loads by reciprocity), velocity block {velocity_block}")
    domain, T, mesh_time, heat_time = phoretic_fields(target)
    reference = None
    for rtol in rtols:
        r = phoretic_flow(domain, T, krylov, velocity_block, rtol)
        total = mesh_time + heat_time + r["flow"]
        if reference is None:
            reference = r
        change = np.linalg.norm(np.subtract(r["velocity"], reference["velocity"])) / np.linalg.norm(reference["velocity"])
        say(f"rtol {rtol:.0e}: dofs {r['dofs']}, cells {r['cells']}, ranks {r['ranks']}, peak {r['rss']:.0f} MiB/rank")
        say(f"all in {total:.1f} s: mesh {mesh_time:.1f} s, heat {heat_time:.1f} s, Stokes set-up + 6 solves "
            f"{r['flow']:.1f} s (set-up {r['stokes_setup']:.1f} s, 6 motions {r['motions']:.1f} s, "
            f"slip loads {r['slip']:.2f} s)")
        say(f"{krylov} iterations per solve: {r['iterations']}")
        say(f"U = {r['velocity']}, Anderson {r['anderson']}, rel. error {r['error']:.2e}; "
            f"change against rtol {rtols[0]:.0e}: {change:.1e}")


def scaling(sizes, krylov, velocity_block, ranks=(1, 2)):
    """Strong scaling of the mobility problem: one mpirun per (size, ranks)."""
    say(f"\n# strong scaling: phoretic sphere all in (mesh + heat + Stokes set-up + 6 motions), "
        f"velocity block {velocity_block}; load before: {os.getloadavg()[0]:.1f}")
    say(f"{'dofs':>9} {'ranks':>5} {'total s':>8} {'flow s':>7} {'us/dof':>7} {'flow us/dof':>11} "
        f"{'MiB/rank':>8} {'KiB/dof':>7} {'its':>12} {'speed-up':>8}")
    env = {**os.environ, "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
           "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    for target in sizes:
        serial = None
        for n in ranks:
            command = ["mpirun", "--oversubscribe", "-n", str(n), sys.executable, __file__, "--scaling-child",
                       str(target), "--krylov", krylov, "--velocity-block", velocity_block]
            out = subprocess.run(command, capture_output=True, text=True, env=env, check=True).stdout
            r = json.loads(out.strip().splitlines()[-1])
            serial = serial or r
            its = f"{min(r['iterations'])}-{max(r['iterations'])}"
            say(f"{r['dofs']:>9d} {n:>5d} {r['total']:>8.1f} {r['flow']:>7.1f} {1e6 * r['total'] / r['dofs']:>7.1f} "
                f"{1e6 * r['flow'] / r['dofs']:>11.1f} {r['rss']:>8.0f} {1024 * n * r['rss'] / r['dofs']:>7.2f} "
                f"{its:>12} {serial['total'] / r['total']:>8.2f}")
    say(f"load after: {os.getloadavg()[0]:.1f}")


def accuracy(resolution):
    say(f"\n# accuracy: drag with far-field condition, wall corrections (resolution {resolution})")
    d = sphere_in_box(1.0, 6.0, surface_size=0.3, far_size=2.0, resolution=resolution)
    p = MobilityProblem(d, 1.0, far_field="stokeslet",
                        far_boundaries=[n for n in d.boundaries if n != "particle_surface"])
    F, _ = p.loads_for_motion((1.0, 0.0, 0.0))
    say(f"free sphere, box L = 6a, Stokeslet far field: drag/(6 pi mu a U) = {-F[0] / (6 * math.pi):.5f}"
        f"  ({p.stokes.A.getSize()[0]} dofs)")
    for h in (2.0, 4.0):
        d = particle_near_wall(1.0, h, half_width=8.0, height=h + 8.0, surface_size=0.3, far_size=2.5,
                               resolution=resolution)
        p = MobilityProblem(d, 1.0, far_field="blake", far_boundaries=["outer"])
        Fz, _ = p.loads_for_motion((0.0, 0.0, 1.0))
        Fx, _ = p.loads_for_motion((1.0, 0.0, 0.0))
        b, f = brenner_perpendicular_correction(h, 1.0), faxen_parallel_correction(h, 1.0)
        perp, par = -Fz[2] / (6 * math.pi), -Fx[0] / (6 * math.pi)
        say(f"h/a = {h}: perpendicular {perp:.4f} vs Brenner {b:.4f} ({100 * (perp / b - 1):+.2f} %), "
            f"parallel {par:.4f} vs Faxen {f:.4f} ({100 * (par / f - 1):+.2f} %)  ({p.stokes.A.getSize()[0]} dofs)")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=float, nargs="*", default=[5e4, 1e5, 2e5])
    parser.add_argument("--direct-max", type=float, default=2.5e5, help="largest size for MUMPS")
    parser.add_argument("--no-direct", action="store_true")
    parser.add_argument("--large", type=float, default=0.0, help="dofs of the large mobility solve (0: skip)")
    parser.add_argument("--accuracy", type=float, default=0.0, help="run the accuracy checks at this resolution")
    parser.add_argument("--krylov", choices=("gmres", "minres"), default="gmres")
    parser.add_argument("--velocity-block", choices=("laplacian", "strain"), default="laplacian",
                        help="velocity block of the large and scaling runs (laplacian: the library's default "
                             "and 1.7x faster all in on the 926k-dof mobility problem)")
    parser.add_argument("--large-rtol", type=float, nargs="+", default=[1e-8],
                        help="GMRES rtol(s) of the large mobility solve (one mesh and heat solve for all)")
    parser.add_argument("--scaling", type=float, nargs="*", default=[], help="sizes of the strong-scaling runs")
    parser.add_argument("--scaling-child", type=float, default=0.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.scaling_child:
        result = mobility_run(args.scaling_child, args.krylov, args.velocity_block)
        say(json.dumps(result))
        return
    say(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if args.sizes:
        compare(args.sizes, 0 if args.no_direct else args.direct_max, args.krylov)
    if args.large:
        large_mobility(args.large, args.krylov, args.velocity_block, args.large_rtol)
    if args.scaling:
        if COMM.size > 1:
            parser.error("--scaling starts its own mpirun per row: run it without mpirun")
        scaling(args.scaling, args.krylov, args.velocity_block)
    if args.accuracy:
        accuracy(args.accuracy)


if __name__ == "__main__":
    main()
