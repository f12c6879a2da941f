"""de Vahl Davis' differentially heated square cavity (Pr = 0.71, Navier-Stokes), steady
from the conduction state: errors against the benchmark, how the solver got there
(Newton or continuation), Newton and GMRES iterations and time, direct and iterative.

    .venv/bin/python benchmarks/bench_cavity.py --rayleigh 1e3 1e4 1e5 1e6 --cells 32
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from thermocfd import log
from thermocfd.fem import compat
from thermocfd.fem.convection import BuoyantFlowProblem, FluidProperties
from thermocfd.fem.heat import FixedTemperature
from thermocfd.fem.mesh import structured_domain
from thermocfd.physics import ConstantViscosity

# de Vahl Davis (1983): u_max on x = 1/2, v_max on y = 1/2 (kappa/L), mean Nusselt number
REFERENCE = {1e3: (3.649, 3.697, 1.118), 1e4: (16.178, 19.617, 2.243), 1e5: (34.73, 68.59, 4.519),
             1e6: (64.63, 219.36, 8.800)}
PRANDTL = 0.71


def solve(rayleigh: float, cells: int, linear_solver: str) -> dict:
    sides = {"hot": lambda x: np.isclose(x[0], 0.0), "cold": lambda x: np.isclose(x[0], 1.0)}
    domain = structured_domain([1.0, 1.0], [cells, cells], sides)
    # kappa = 1, nu = Pr, dT = 1, L = 1: g beta = Ra Pr
    fluid = FluidProperties(density=1.0, viscosity=ConstantViscosity(PRANDTL), thermal_conductivity=1.0,
                            heat_capacity=1.0, thermal_expansion=1.0)
    start = time.perf_counter()
    problem = BuoyantFlowProblem(domain, fluid, [0.0, -rayleigh * PRANDTL, 0.0],
                                 [FixedTemperature("hot", 1.0), FixedTemperature("cold", 0.0)],
                                 reference_temperature=0.5, inertia=True, linear_solver=linear_solver)
    problem.initial_conduction_guess(1.0 - domain.physical_coordinates()[0])
    report = problem.solve()
    elapsed = time.perf_counter() - start
    u = problem.velocity()
    s = np.linspace(0.0, 1.0, 2001)
    u_max = float(np.max(compat.evaluate(u, np.column_stack([np.full_like(s, 0.5), s, 0 * s]))[:, 0]))
    v_max = float(np.max(compat.evaluate(u, np.column_stack([s, np.full_like(s, 0.5), 0 * s]))[:, 1]))
    return {"u_max": u_max, "v_max": v_max, "nusselt": problem.wall_heat_flow("hot"), "report": report,
            "seconds": elapsed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rayleigh", type=float, nargs="+", default=[1e3, 1e4, 1e5, 1e6])
    parser.add_argument("--cells", type=int, default=32)
    parser.add_argument("--solvers", nargs="+", default=["direct", "iterative"])
    args = parser.parse_args()
    log.set_quiet(True)
    print(f"{'Ra':>7} {'solver':>9} {'u_max':>8} {'v_max':>8} {'Nu':>8} {'method':>13} {'Newton':>6} "
          f"{'GMRES/step':>11} {'s':>7}")
    for rayleigh in args.rayleigh:
        reference = REFERENCE[rayleigh]
        for solver in args.solvers:
            row = solve(rayleigh, args.cells, solver)
            report = row["report"]
            errors = [row[key] / ref - 1.0 for key, ref in zip(("u_max", "v_max", "nusselt"), reference)]
            gmres = (f"{min(report.linear_iterations)}-{max(report.linear_iterations)}"
                     if solver == "iterative" else "-")
            print(f"{rayleigh:7.0e} {solver:>9} " + " ".join(f"{e:+8.2%}" for e in errors)
                  + f" {report.method:>13} {report.iterations:6d} {gmres:>11} {row['seconds']:7.1f}", flush=True)


if __name__ == "__main__":
    main()
