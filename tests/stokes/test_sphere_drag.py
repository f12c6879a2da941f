"""Drag on a translating sphere: the no-slip container correction shrinks with box size
towards 6 pi mu a; with the Stokeslet far-field condition the container error drops from
O(a/L) to O((a/L)^3); near a plane wall (Blake far field) the drag matches Brenner's exact
perpendicular correction and Faxen's parallel one.

Meshes here are coarse (CI time); benchmarks/bench_stokes.py --accuracy runs finer ones.
"""

import math

import pytest

from thermocfd.fem.mobility import MobilityProblem
from thermocfd.fem.particle_mesh import particle_near_wall, sphere_in_box
from thermocfd.physics.phoresis import brenner_perpendicular_correction, faxen_parallel_correction

MU, A = 1.0e-3, 1.0e-6
STOKES = 6.0 * math.pi * MU * A  # drag per unit speed


def drag_ratio(domain, **kwargs):
    problem = MobilityProblem(domain, MU, velocity_scale=1e-6, **kwargs)
    force, _ = problem.loads_for_motion(translation=(1e-6, 0.0, 0.0))
    return -force[0] / (STOKES * 1e-6), problem


def test_drag_converges_with_box_size():
    ratios = []
    for half_width in (3.0, 6.0, 12.0):
        domain = sphere_in_box(A, half_width * A, surface_size=0.4 * A, far_size=half_width * A / 3)
        ratios.append(drag_ratio(domain)[0])
    print("no-slip box drag / 6 pi mu a U:", ratios)
    assert ratios[0] > ratios[1] > ratios[2] > 1.0
    # leading container correction ~ c a/L: (K - 1) L roughly constant (c ~ 2.1-2.7)
    c = [(k - 1.0) * L for k, L in zip(ratios, (3.0, 6.0, 12.0))]
    assert 1.8 < c[2] < 3.0 and c[0] > c[1] > c[2], c


def test_drag_with_stokeslet_far_field():
    domain = sphere_in_box(A, 6 * A, surface_size=0.4 * A, far_size=2 * A)
    ratio, problem = drag_ratio(domain, far_field="stokeslet",
                                far_boundaries=["xmin", "xmax", "ymin", "ymax", "zmin", "zmax"])
    print("Stokeslet far field, L = 6a:", ratio, problem.stokes.iterations)
    assert abs(ratio - 1.0) < 0.015


@pytest.mark.parametrize("h", [2.0, 4.0])
def test_wall_corrections_brenner_and_faxen(h):
    domain = particle_near_wall(A, h * A, half_width=6 * A, height=(h + 6) * A,
                                surface_size=0.4 * A, far_size=2.0 * A)
    problem = MobilityProblem(domain, MU, velocity_scale=1e-6, far_field="blake", far_boundaries=["outer"])
    normal, _ = problem.loads_for_motion(translation=(0.0, 0.0, 1e-6))
    parallel, _ = problem.loads_for_motion(translation=(1e-6, 0.0, 0.0))
    brenner = brenner_perpendicular_correction(h * A, A)
    faxen = faxen_parallel_correction(h * A, A)
    perpendicular_ratio = -normal[2] / (STOKES * 1e-6)
    parallel_ratio = -parallel[0] / (STOKES * 1e-6)
    print(f"h/a={h}: perpendicular {perpendicular_ratio:.4f} (Brenner {brenner:.4f}), "
          f"parallel {parallel_ratio:.4f} (Faxen {faxen:.4f})", problem.stokes.iterations)
    assert abs(perpendicular_ratio / brenner - 1.0) < 0.015
    if h >= 4.0:  # Faxen's series is an far-field expansion: compare where it holds
        assert abs(parallel_ratio / faxen - 1.0) < 0.015
