"""Force-free thermophoretic sphere in a uniform gradient (conjugate conduction through the
particle, slip chi (I - n n) grad T on its surface): Anderson's velocity for k_p/k_f =
0.25, 1, 4 within 2 %, no rotation, chi > 0 moves to cold; serial and MPI runs agree."""

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
from thermocfd.fem.particle_mesh import sphere_in_box
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
