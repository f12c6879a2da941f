"""Assembling on a curved particle mesh: every cell at UFL's curved-mesh degree
(``dolfinx.fem.form``) against the affine cells at the affine degree
(``thermocfd.fem.quadrature.compile_form``), on bench_stokes.py's sphere in a box.

The forms are those of the Stokes set-up (the strain block in its BAIJ matrix, the
divergence block, the scalar P2 Laplacian of the velocity preconditioner, the pressure
mass matrix) and the P2 heat operator. Each form is assembled ``--repeat`` times by each
compilation, alternating which goes first; the table gives the fastest time of each, their
ratio, and the largest entry of the difference relative to the largest entry.

    .venv/bin/python benchmarks/bench_quadrature.py                       # ~2e5 dofs, serial
    mpirun -n 2 .venv/bin/python benchmarks/bench_quadrature.py --sizes 2e5 1e6
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import dolfinx.fem
import dolfinx.fem.petsc
import ufl
from mpi4py import MPI
from petsc4py import PETSc

from bench_stokes import domain_for
from thermocfd.fem import compat, quadrature

COMM = MPI.COMM_WORLD


def say(*args) -> None:
    if COMM.rank == 0:
        print(*args, flush=True)


def forms(domain) -> dict[str, tuple[ufl.Form, str | None]]:
    """(UFL form, matrix type) of the Stokes set-up and the heat operator."""
    mesh = domain.mesh
    V = compat.function_space(mesh, "Lagrange", 2, shape=(3,))
    S = compat.function_space(mesh, "Lagrange", 2)
    Q = compat.function_space(mesh, "Lagrange", 1)
    u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
    s, t = ufl.TrialFunction(S), ufl.TestFunction(S)
    p, q = ufl.TrialFunction(Q), ufl.TestFunction(Q)
    fluid = domain.dx("fluid")
    return {"strain block (BAIJ)": (2 * ufl.inner(ufl.sym(ufl.grad(u)), ufl.sym(ufl.grad(v))) * fluid, "baij"),
            "divergence block": (-ufl.div(u) * q * fluid, None),
            "scalar Laplacian": (ufl.inner(ufl.grad(s), ufl.grad(t)) * fluid, None),
            "pressure mass": (p * q * fluid, None),
            "heat, both regions": (ufl.inner(ufl.grad(s), ufl.grad(t)) * domain.dx(), None)}


def timed_assembly(compiled, matrix_type: str | None) -> tuple[float, PETSc.Mat]:
    A = dolfinx.fem.petsc.create_matrix(compiled, matrix_type) if matrix_type else \
        dolfinx.fem.petsc.create_matrix(compiled)
    COMM.barrier()
    start = time.perf_counter()
    dolfinx.fem.petsc.assemble_matrix(A, compiled)
    A.assemble()
    COMM.barrier()
    return time.perf_counter() - start, A


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=float, nargs="+", default=[2e5], help="target P2-P1 dofs")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    say(f"# assembly on the curved sphere-in-box mesh, {COMM.size} rank(s): every cell at UFL's "
        f"estimate vs affine cells at the affine degree")
    for target in args.sizes:
        domain, _ = domain_for(target)
        curved = COMM.allreduce(len(quadrature.curved_cells(domain.mesh)), op=MPI.SUM)
        say(f"\n{domain.num_cells()} cells, {curved} curved (ghosts counted on each rank), target {target:.0e} dofs")
        say(f"{'form':>20} {'unsplit':>8} {'split':>8} {'ratio':>6} {'difference':>10}")
        total = [0.0, 0.0]
        for name, (form, matrix_type) in forms(domain).items():
            compiled = [dolfinx.fem.form(form), quadrature.compile_form(form)]
            best = [float("inf"), float("inf")]
            matrices = [None, None]
            for r in range(args.repeat):
                for which in ((0, 1) if r % 2 == 0 else (1, 0)):
                    seconds, matrices[which] = timed_assembly(compiled[which], matrix_type)
                    best[which] = min(best[which], seconds)
            difference = matrices[0].copy()
            difference.axpy(-1.0, matrices[1], structure=PETSc.Mat.Structure.DIFFERENT_NONZERO_PATTERN)
            relative = difference.norm(PETSc.NormType.INFINITY) / matrices[0].norm(PETSc.NormType.INFINITY)
            total = [total[0] + best[0], total[1] + best[1]]
            say(f"{name:>20} {best[0]:>8.3f} {best[1]:>8.3f} {best[0] / best[1]:>6.2f} {relative:>10.1e}")
        say(f"{'all':>20} {total[0]:>8.3f} {total[1]:>8.3f} {total[0] / total[1]:>6.2f}")


if __name__ == "__main__":
    main()
