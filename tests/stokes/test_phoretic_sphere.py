"""Force-free thermophoretic sphere in a uniform gradient (conjugate conduction through the
particle, slip chi (I - n n) grad T on its surface): Anderson's velocity for k_p/k_f =
0.25, 1, 4 within 2 %, no rotation, chi > 0 moves to cold; serial and MPI runs agree;
the reciprocal-theorem slip loads; two particles."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from mpi4py import MPI

from thermocfd.fem.heat import FixedTemperature, HeatProblem
from thermocfd.fem.mobility import MobilityProblem, particles_of
from thermocfd.fem.particle_mesh import SphereSpec, particle_near_wall, sphere_in_box, spheres_in_box
from thermocfd.fem.stokes import ThermoOsmoticSlip
from thermocfd.physics.analytic import anderson_phoretic_velocity

HERE = Path(__file__).resolve().parent
A = 1.0e-6  # m
K_FLUID = 0.6  # W/(m K)
CHI = 2.0e-10  # m^2/(s K)
G = np.array([0.0, 3.0e3, 4.0e3])  # K/m, oblique to the mesh axes on purpose


def linear_temperature(x):
    return 300.0 + G[0] * x[0] + G[1] * x[1] + G[2] * x[2]


def test_anderson_velocity_conductivity_ratios():
    domain = sphere_in_box(A, 6 * A, surface_size=0.35 * A, far_size=2.0 * A)
    faces = [name for name in domain.boundaries if name != "particle_surface"]
    problem = MobilityProblem(domain, 1e-3, particles_of(domain, CHI), velocity_scale=CHI * 1e4)
    for ratio in (0.25, 1.0, 4.0):
        heat = HeatProblem(domain, {"fluid": K_FLUID, "particle": ratio * K_FLUID},
                           [FixedTemperature(face, linear_temperature) for face in faces],
                           degree=2, linear_solver="iterative")
        problem.set_temperature(heat.solve_steady())
        result = problem.solve(temperature_gradient=G)
        expected = anderson_phoretic_velocity(CHI, K_FLUID, ratio * K_FLUID, G)
        U, Omega = result.velocity[0], result.angular_velocity[0]
        error = np.linalg.norm(U - expected) / np.linalg.norm(expected)
        print(f"k_p/k_f={ratio}: U={U}, Anderson={expected}, rel. error {error:.2e}, |Omega| a/|U| = "
              f"{np.linalg.norm(Omega) * A / np.linalg.norm(U):.1e}")
        assert error < 0.02
        assert np.linalg.norm(Omega) * A < 1e-2 * np.linalg.norm(U)
        # chi > 0: thermophobic, moves down the gradient (to cold)
        assert U @ G < 0.0
        assert result.thermophoretic_mobility > 0.0
        assert abs(result.thermophoretic_mobility - 2 * CHI / (2 + ratio)) < 0.02 * 2 * CHI / (2 + ratio)
    # resistance matrix: symmetric, translation block close to 6 pi mu a (times container factor)
    R = result.resistance_matrix
    assert np.allclose(R, R.T, rtol=0, atol=1e-4 * np.abs(R).max())


@pytest.mark.mpi
@pytest.mark.skipif(MPI.COMM_WORLD.size > 1, reason="launches its own mpirun")
def test_serial_and_mpi_give_the_same_velocity(tmp_path):
    script = HERE / "mpi_phoretic.py"
    python = sys.executable
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    results = []
    for n in (1, 2):
        out = tmp_path / f"n{n}.json"
        cmd = ["mpirun", "--allow-run-as-root", "--oversubscribe", "-n", str(n), python, str(script), str(out)]
        subprocess.run(cmd, check=True, env=env, timeout=300, capture_output=True)
        results.append(json.loads(out.read_text()))
    u1, u2 = np.array(results[0]["velocity"]), np.array(results[1]["velocity"])
    print("serial", u1, "mpi-2", u2)
    assert np.linalg.norm(u1 - u2) < 1e-8 * np.linalg.norm(u1)


def test_reciprocal_slip_loads_match_the_slip_solve():
    """The slip problem's force and torque from the unit motions' reactions (reciprocal
    theorem, no solve) equal those of solving it -- here for a sphere near a wall that
    itself carries thermo-osmotic slip, so torque and the wall's reactions enter."""
    domain = particle_near_wall(A, 2.0 * A, half_width=5.0 * A, height=8.0 * A,
                                surface_size=0.4 * A, far_size=2.0 * A)
    faces = [name for name in domain.boundaries if name != "particle_surface"]
    heat = HeatProblem(domain, {"fluid": K_FLUID, "particle": 2.0 * K_FLUID},
                       [FixedTemperature(face, linear_temperature) for face in faces],
                       degree=2, linear_solver="iterative")
    T = heat.solve_steady()
    problem = MobilityProblem(domain, 1e-3, particles_of(domain, CHI), temperature=T,
                              walls=["outer"], conditions=[ThermoOsmoticSlip("wall", -0.5 * CHI)],
                              velocity_scale=CHI * 1e4)
    reciprocal = problem.slip_loads_scaled(reciprocal=True)
    solved = problem.slip_loads_scaled(reciprocal=False)
    print("reciprocal", reciprocal, "\nsolved    ", solved)
    assert np.abs(solved[3:]).max() > 1e-2 * np.abs(solved[:3]).max()  # a real torque
    assert np.allclose(reciprocal, solved, rtol=0, atol=1e-6 * np.abs(solved).max())


def test_two_particles_move_independently_when_far_apart():
    """Two resolved spheres 5 radii apart (centre to centre) in an oblique gradient, k_p =
    k_f: 12 unit motions, one operator. The phoretic flow of a force-free sphere decays
    like r^-3, so each moves with Anderson's velocity to about a percent; the particles
    are hydrodynamically coupled (off-diagonal blocks of R) and R is symmetric."""
    spheres = [SphereSpec((0.0, 0.0, -2.5 * A), A, "left"), SphereSpec((0.0, 0.0, 2.5 * A), A, "right")]
    domain = spheres_in_box(spheres, (-6 * A, -6 * A, -8.5 * A), (6 * A, 6 * A, 8.5 * A),
                            surface_size=0.4 * A, far_size=2.5 * A)
    faces = [name for name in domain.boundaries if not name.endswith("_surface")]
    heat = HeatProblem(domain, {"fluid": K_FLUID, "left": K_FLUID, "right": K_FLUID},
                       [FixedTemperature(face, linear_temperature) for face in faces],
                       degree=2, linear_solver="iterative")
    problem = MobilityProblem(domain, 1e-3, particles_of(domain, CHI), temperature=heat.solve_steady(),
                              velocity_scale=CHI * 1e4)
    result = problem.solve(temperature_gradient=G)
    expected = anderson_phoretic_velocity(CHI, K_FLUID, K_FLUID, G)
    for U, Omega in zip(result.velocity, result.angular_velocity):
        error = np.linalg.norm(U - expected) / np.linalg.norm(expected)
        print(f"U = {U}, Anderson {expected}, rel. error {error:.2e}")
        assert error < 0.03
        assert np.linalg.norm(Omega) * A < 1e-2 * np.linalg.norm(U)
    R = result.resistance_matrix
    assert R.shape == (12, 12)
    assert np.allclose(R, R.T, rtol=0, atol=1e-4 * np.abs(R).max())
    coupling = np.abs(R[:3, 6:9]).max() / np.abs(R[:3, :3]).max()
    print(f"translation coupling |R_12| / |R_11| = {coupling:.3f}")
    assert 0.05 < coupling < 0.5
