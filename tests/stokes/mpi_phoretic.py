"""Helper for test_serial_and_mpi_give_the_same_velocity: a small phoretic sphere run that
writes its velocity to the JSON file given as argument (run under mpirun -n 1 and -n 2)."""

import json
import sys

from mpi4py import MPI

from thermocfd.fem.heat import FixedTemperature, HeatProblem
from thermocfd.fem.mobility import phoretic_motion
from thermocfd.fem.particle_mesh import sphere_in_box

A, CHI, K = 1e-6, 2e-10, 0.6
G = (0.0, 0.0, 1e4)

domain = sphere_in_box(A, 4 * A, surface_size=0.6 * A, far_size=2.0 * A)
faces = [name for name in domain.boundaries if name != "particle_surface"]
heat = HeatProblem(domain, {"fluid": K, "particle": 2 * K},
                   [FixedTemperature(face, lambda x: 300.0 + G[2] * x[2]) for face in faces],
                   degree=2, linear_solver="iterative", rtol=1e-14)
T = heat.solve_steady()
result = phoretic_motion(domain, T, CHI, 1e-3, temperature_gradient=G, rtol=1e-12)
if MPI.COMM_WORLD.rank == 0:
    with open(sys.argv[1], "w") as f:
        json.dump({"velocity": result.velocity[0].tolist(), "iterations": result.iterations}, f)
