"""Stokes solver benchmark: block-preconditioned Krylov versus MUMPS on the same 3D problem.

A sphere translating in a closed box (Taylor-Hood P2-P1 on curved tetrahedra, graded
towards the sphere) at several sizes. For each size both solvers assemble the same
operator and solve the same right-hand side; the table gives wall times (set-up =
assembly + preconditioner/factorisation, solve), Krylov iterations, the time ratio
measured in the same run, and the agreement of the drag. Then one larger mobility solve
(6 unit motions, the slip loads by reciprocity, with the conjugate temperature) with the
iterative solver only.

    .venv/bin/python benchmarks/bench_stokes.py                     # ~50k, ~100k, ~200k dofs
    .venv/bin/python benchmarks/bench_stokes.py --sizes 5e4 1e5 --large 1e6
    .venv/bin/python benchmarks/bench_stokes.py --accuracy          # finer wall/drag checks
    mpirun -n 2 .venv/bin/python benchmarks/bench_stokes.py --no-direct --large 1e6
    .venv/bin/python benchmarks/bench_stokes.py --krylov minres     # block-diagonal + MINRES

MUMPS is skipped above ``--direct-max`` dofs (its time and memory grow much faster).
"""

from __future__ import annotations

import argparse
import math
import os
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
BASE_DOFS = 26_000.0  # P2-P1 dofs at resolution 1 (first guess; domain_for corrects it)


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


def domain_for(target_dofs: float, scale: float = 1.0, **kwargs):
    """A sphere-in-box mesh with about ``target_dofs`` P2-P1 dofs (one correction step)."""
    resolution = (target_dofs / BASE_DOFS) ** (1.0 / 3.0)
    for _ in range(2):
        domain = sphere_in_box(scale, HALF_WIDTH * scale, surface_size=0.3 * scale, far_size=1.5 * scale,
                               resolution=resolution, **kwargs)
        dofs = taylor_hood_dofs(domain)
        if abs(dofs / target_dofs - 1.0) < 0.15:
            break
        resolution *= (target_dofs / dofs) ** (1.0 / 3.0)
    return domain, resolution


def timed_solve(domain, solver: str, krylov: str = "gmres"):
    COMM.barrier()
    start = time.perf_counter()
    problem = MobilityProblem(domain, 1.0, solver=solver, krylov=krylov)
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
                drag=-force / (6 * math.pi))


def compare(sizes, direct_max, krylov):
    preconditioner = "block-triangular" if krylov == "gmres" else "block-diagonal"
    say(f"\n# iterative ({krylov} + {preconditioner}: GAMG per velocity component, Chebyshev-Jacobi M_p/mu) "
        f"vs MUMPS, {COMM.size} rank(s)")
    say(f"{'dofs':>9} {'it setup':>9} {'it solve':>9} {'its':>5} {'it total':>9} {'us/dof':>7} "
        f"{'LU setup':>9} {'LU solve':>9} {'LU total':>9} {'ratio':>7} {'drag diff':>9}")
    rows = []
    for target in sizes:
        domain, _ = domain_for(target)
        it = timed_solve(domain, "iterative", krylov)
        lu = timed_solve(domain, "direct") if it["dofs"] <= direct_max else None
        ratio = lu["total"] / it["total"] if lu else float("nan")
        diff = abs(lu["drag"] - it["drag"]) / abs(lu["drag"]) if lu else float("nan")
        per_dof = 1e6 * it["total"] / it["dofs"]
        say(f"{it['dofs']:>9d} {it['setup']:>9.2f} {it['solve']:>9.2f} {it['iterations']:>5d} {it['total']:>9.2f} "
            f"{per_dof:>7.1f} "
            + (f"{lu['setup']:>9.2f} {lu['solve']:>9.2f} {lu['total']:>9.2f} {ratio:>7.1f} {diff:>9.1e}" if lu
               else f"{'skipped':>9} {'':>9} {'':>9} {'':>7} {'':>9}"))
        rows.append((it, lu))
        del domain
    return rows


def large_mobility(target, krylov):
    say(f"\n# phoretic sphere, ~{target:.0e} dofs: heat (conjugate, k_p/k_f = 4) + 6 unit motions "
        "(slip loads by reciprocity)")
    start = time.perf_counter()
    a, chi, k = 1e-6, 2e-10, 0.6
    G = np.array([0.0, 0.0, 1e4])
    domain, _ = domain_for(target, scale=a)
    mesh_time = time.perf_counter() - start
    faces = [name for name in domain.boundaries if name != "particle_surface"]
    start = time.perf_counter()
    heat = HeatProblem(domain, {"fluid": k, "particle": 4 * k},
                       [FixedTemperature(face, lambda x: 300.0 + G[2] * x[2]) for face in faces],
                       degree=2, linear_solver="iterative", rtol=1e-10)
    T = heat.solve_steady()
    heat_time = time.perf_counter() - start
    start = time.perf_counter()
    problem = MobilityProblem(domain, 1e-3, particles_of(domain, chi), temperature=T, velocity_scale=chi * 1e4,
                              krylov=krylov)
    result = problem.solve(temperature_gradient=G)
    flow_time = time.perf_counter() - start
    expected = anderson_phoretic_velocity(chi, k, 4 * k, G)
    dofs = problem.stokes.A.getSize()[0]
    say(f"dofs {dofs}, cells {domain.num_cells()}, ranks {COMM.size}")
    say(f"mesh {mesh_time:.1f} s, heat {heat_time:.1f} s, Stokes set-up + 6 solves {flow_time:.1f} s "
        f"(set-up {result.timings['setup']:.1f} s, 6 motions {result.timings['resistance']:.1f} s, "
        f"slip loads {result.timings['slip']:.2f} s)")
    say(f"{krylov} iterations per solve: {result.iterations}")
    say(f"U = {result.velocity[0]}, Anderson {expected}, rel. error "
        f"{np.linalg.norm(result.velocity[0] - expected) / np.linalg.norm(expected):.2e}")


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
    args = parser.parse_args()
    if args.sizes:
        compare(args.sizes, 0 if args.no_direct else args.direct_max, args.krylov)
    if args.large:
        large_mobility(args.large, args.krylov)
    if args.accuracy:
        accuracy(args.accuracy)


if __name__ == "__main__":
    main()
