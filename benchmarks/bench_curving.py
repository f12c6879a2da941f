"""Curving the particle mesh to second order: NumPy (thermocfd.fem.curved_mesh) against
gmsh's setOrder(2) with its high-order optimiser (the code before), on the same linear
mesh of bench_stokes.py's sphere in a box.

Each size meshes twice in one process, alternating which curving goes first, and prints
the mesh's wall time, the curving step alone, their ratios, and the straightened edges.
Serial: gmsh meshes on one rank in the pipelines too.

    .venv/bin/python benchmarks/bench_curving.py                 # ~2e5 and ~1e6 dofs
    .venv/bin/python benchmarks/bench_curving.py --sizes 1e5 --repeat 3
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

from mpi4py import MPI

from bench_stokes import HALF_WIDTH, first_resolution, taylor_hood_dofs
from thermocfd.fem import particle_mesh


def gmsh_set_order(gmsh, projections) -> int:
    """The curving this benchmark compares against: gmsh's, as thermocfd did it before."""
    gmsh.model.mesh.setOrder(2)
    try:
        gmsh.model.mesh.optimize("HighOrder")
    except Exception:  # gmsh raises a bare Exception when a pass misses its target
        gmsh.model.mesh.optimize("HighOrderElastic")
    return 0


def timed_mesh(curve, resolution: float):
    """(domain, mesh seconds, curving seconds) with ``curve`` as the curving step."""
    spent = []

    def timed_curve(gmsh, projections):
        start = time.perf_counter()
        straightened = curve(gmsh, projections)
        spent.append(time.perf_counter() - start)
        return straightened

    particle_mesh.curve_to_second_order = timed_curve
    start = time.perf_counter()
    domain = particle_mesh.sphere_in_box(1.0, HALF_WIDTH, surface_size=0.3, far_size=1.5, resolution=resolution,
                                         comm=MPI.COMM_SELF)
    return domain, time.perf_counter() - start, spent[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=float, nargs="+", default=[2e5, 1e6], help="target P2-P1 dofs")
    parser.add_argument("--repeat", type=int, default=2, help="pairs of meshes per size")
    args = parser.parse_args()
    numpy_curve = particle_mesh.curve_to_second_order
    curvings = {"numpy": numpy_curve, "gmsh": gmsh_set_order}
    print(f"{'dofs':>9} {'cells':>7} {'pair':>4} {'mesh numpy':>10} {'mesh gmsh':>9} {'ratio':>6} "
          f"{'curve numpy':>11} {'curve gmsh':>10} {'ratio':>6} {'straightened':>12}", flush=True)
    for target in args.sizes:
        resolution = first_resolution(target)
        for pair in range(args.repeat):
            order = ("numpy", "gmsh") if pair % 2 == 0 else ("gmsh", "numpy")
            result = {name: timed_mesh(curvings[name], resolution) for name in order}
            domain, mesh_n, curve_n = result["numpy"]
            _, mesh_g, curve_g = result["gmsh"]
            print(f"{taylor_hood_dofs(domain):>9d} {domain.num_cells():>7d} {pair:>4d} {mesh_n:>10.2f} {mesh_g:>9.2f} "
                  f"{mesh_g / mesh_n:>6.2f} {curve_n:>11.2f} {curve_g:>10.2f} {curve_g / curve_n:>6.1f} "
                  f"{domain.metadata['straightened_surface_edges']:>12d}", flush=True)
    particle_mesh.curve_to_second_order = numpy_curve


if __name__ == "__main__":
    main()
