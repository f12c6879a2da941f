"""Resolved particles and thermo-osmotic walls: Stokes flow driven by slip.

``phoretic_particle``: a sphere (conducting, k_p) in a box in a uniform far-field
temperature gradient, optionally at distance h from a plane wall. Conjugate conduction
gives the surface gradient that drives the slip ``chi (I - n n) grad T``; the mobility
problem (unit rigid motions + slip, one operator) gives the force- and torque-free
velocity, the resistance matrix and ``thermophoretic_mobility`` D_T, next to Anderson's
unbounded-fluid velocity and, near a wall, Brenner's and Faxen's drag corrections.

``thermoosmotic_flow``: a channel whose walls carry thermo-osmotic slip in a temperature
gradient along it (hot end at x = 0), open ends: the plug flow ``chi dT/dx`` towards hot.
"""

from __future__ import annotations

import math
from pathlib import Path

import dolfinx.fem
import numpy as np
import ufl
from mpi4py import MPI

from .. import log
from ..case import Case
from ..fem.heat import FixedTemperature, HeatProblem
from ..fem.io import FieldWriter
from ..fem.mesh import structured_domain
from ..fem.mobility import MobilityProblem, particles_of
from ..fem.particle_mesh import particle_near_wall, sphere_in_box
from ..fem.stokes import Pressure, StokesProblem, ThermoOsmoticSlip
from ..physics import analytic
from ..physics.phoresis import brenner_perpendicular_correction, faxen_parallel_correction
from .common import PipelineResult, integrate


def run(case: Case, out_dir: Path, timer: log.Timer) -> PipelineResult:
    if case.kind == "thermoosmotic_flow":
        return _thermoosmotic_channel(case, out_dir, timer)
    return _phoretic_particle(case, out_dir, timer)


def _phoretic_particle(case: Case, out_dir: Path, timer: log.Timer) -> PipelineResult:
    p, t = case.particle, case.temperature
    a = p.radius
    G = np.asarray(t.gradient, dtype=float)
    fluid = case.fluid.at(t.reference)
    mu = float(fluid.viscosity.viscosity(t.reference))
    edge = case.geometry.length if case.geometry is not None else 12.0 * a
    resolution = case.mesh.resolution
    with timer("mesh"):
        if p.wall_distance is None:
            centre = np.zeros(3)
            # the sizes of the verification tests (Anderson within 0.6 %), refined by resolution
            domain = sphere_in_box(a, 0.5 * edge, surface_size=0.35 * a, far_size=2.0 * a, resolution=resolution)
        else:
            centre = np.array([0.0, 0.0, p.wall_distance])
            height = case.geometry.height if case.geometry is not None and case.geometry.height else None
            domain = particle_near_wall(a, p.wall_distance, half_width=0.5 * edge, height=height,
                                        surface_size=0.35 * a, far_size=2.0 * a, resolution=resolution)
    log.info(f"mesh: {domain.num_cells()} cells around a sphere of radius {a:.3g} m"
             + (f" at {p.wall_distance:.3g} m from a wall" if p.wall_distance else ""))
    faces = [name for name in domain.boundaries if name != "particle_surface"]

    def far_field_temperature(x):
        return t.reference + sum(G[i] * (x[i] - centre[i]) for i in range(3))

    with timer("heat"):
        heat = HeatProblem(domain, {"fluid": fluid.thermal_conductivity, "particle": p.thermal_conductivity},
                           [FixedTemperature(face, far_field_temperature) for face in faces], degree=2,
                           linear_solver="iterative")
        T = heat.solve_steady()
    far_field = None
    if case.flow.far_field == "auto":
        far_field = "stokeslet" if p.wall_distance is None else "blake"
    far_boundaries = faces if p.wall_distance is None else ["outer"]
    external_force = None
    if p.density is not None and any(case.gravity):
        external_force = (p.density - fluid.density) * 4.0 / 3.0 * math.pi * a**3 * np.asarray(case.gravity)
    with timer("mobility"):
        solver = "direct" if case.solver.linear_solver == "direct" else "iterative"
        problem = MobilityProblem(domain, mu, particles_of(domain, p.slip_coefficient), temperature=T,
                                  velocity_scale=abs(p.slip_coefficient) * max(np.linalg.norm(G), 1.0),
                                  far_field=far_field, far_boundaries=far_boundaries if far_field else (),
                                  solver=solver)
        result = problem.solve(external_force=external_force, temperature_gradient=G, flow_field=True)
    results = result.summary()
    U = np.asarray(result.velocity[0])
    anderson = analytic.anderson_phoretic_velocity(p.slip_coefficient, fluid.thermal_conductivity,
                                                   p.thermal_conductivity, G)
    R = np.asarray(result.resistance_matrix)
    stokes = 6.0 * math.pi * mu * a
    results.update({
        "anderson_velocity": anderson.tolist(),
        "velocity_rel_difference_anderson": float(np.linalg.norm(U - anderson) / max(np.linalg.norm(anderson), 1e-300)),
        "particle_speed": float(np.linalg.norm(U)),
        "drag_parallel_ratio": float(R[0, 0] / stokes),
        "drag_perpendicular_ratio": float(R[2, 2] / stokes),
        "solver_iterations": list(result.iterations),
        "num_cells": domain.num_cells(),
    })
    if p.wall_distance is not None:
        results["brenner_perpendicular"] = brenner_perpendicular_correction(p.wall_distance, a)
        results["faxen_parallel"] = faxen_parallel_correction(p.wall_distance, a)
    units = {"particle_velocity": "m/s", "particle_angular_velocity": "rad/s", "thermophoretic_mobility": "m^2/(s K)",
             "resistance_matrix": "N s/m, N s, N m s (blocks)", "anderson_velocity": "m/s", "particle_speed": "m/s"}
    log.info(f"particle velocity {U} m/s (Anderson, unbounded: {anderson} m/s)")
    if case.output.fields:
        _write_fields(domain, out_dir / "fields" / "phoretic_particle.pvd", T, problem.stokes.velocity,
                      problem.stokes.velocity_scale)
    return PipelineResult(results, units, {"temperature": T}, domain)


def _write_fields(domain, path: Path, T, velocity, scale: float) -> None:
    u = dolfinx.fem.Function(velocity.function_space, name="velocity")
    u.x.array[:] = velocity.x.array * scale
    with FieldWriter(domain, path) as writer:
        writer.write([T, u])


def _thermoosmotic_channel(case: Case, out_dir: Path, timer: log.Timer) -> PipelineResult:
    g, t, chi = case.geometry, case.temperature, case.walls.slip_coefficient
    height = g.height if g.height is not None else 0.25 * g.length
    n_across = max(4, int(round(8 * case.mesh.resolution)))
    n_along = max(8, int(round(n_across * g.length / height)))
    sides = {"hot": lambda x: np.isclose(x[0], 0.0), "cold": lambda x: np.isclose(x[0], g.length / height),
             "walls": lambda x: np.isclose(x[1], 0.0) | np.isclose(x[1], 1.0)}
    with timer("mesh"):
        domain = structured_domain([g.length / height, 1.0], [n_along, n_across], sides, length_scale=height)
    with timer("heat"):
        T = HeatProblem(domain, case.fluid.at(0.5 * (t.hot + t.cold)).thermal_conductivity,
                        [FixedTemperature("hot", t.hot), FixedTemperature("cold", t.cold)], degree=2).solve_steady()
    gradient = (t.cold - t.hot) / g.length
    mu = float(case.fluid.viscosity.viscosity(0.5 * (t.hot + t.cold)))
    with timer("stokes"):
        problem = StokesProblem(domain, case.fluid.viscosity, [ThermoOsmoticSlip("walls", chi),
                                                               Pressure("hot", 0.0), Pressure("cold", 0.0)],
                                temperature=T, velocity_scale=abs(chi * gradient) or 1.0,
                                solver="direct" if case.solver.linear_solver == "direct" else "iterative")
        problem.update_slip()
        u, _ = problem.solve()
    n = ufl.FacetNormal(domain.mesh)
    flux = integrate(domain, ufl.dot(u, n) * domain.ds("cold")) * problem.velocity_scale  # m/s * (scaled length)
    mean_velocity = flux / 1.0  # the scaled channel height is 1
    speed = domain.comm.allreduce(float(np.max(np.abs(u.x.array))) if u.x.array.size else 0.0,
                                  op=MPI.MAX) * problem.velocity_scale
    expected = chi * gradient  # the slip velocity along x (towards hot for chi > 0)
    results = {"mean_flow_velocity": mean_velocity, "max_flow_speed": speed, "slip_velocity_expected": expected,
               "mean_velocity_rel_error": abs(mean_velocity - expected) / abs(expected) if expected else math.nan,
               "temperature_gradient": gradient, "viscosity": mu}
    log.info(f"thermo-osmotic plug flow {mean_velocity:.4g} m/s (chi dT/dx = {expected:.4g} m/s)")
    if case.output.fields:
        _write_fields(domain, out_dir / "fields" / "thermoosmotic_flow.pvd", T, u, problem.velocity_scale)
    units = {"mean_flow_velocity": "m/s", "max_flow_speed": "m/s", "slip_velocity_expected": "m/s",
             "temperature_gradient": "K/m", "viscosity": "Pa s"}
    return PipelineResult(results, units, {"temperature": T}, domain)
