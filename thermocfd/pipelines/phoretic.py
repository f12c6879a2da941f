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
from ..fem.mesh import mesh_bounds
from ..fem.mobility import MobilityProblem, Particle, check_particle_tags, particles_of
from ..fem.stokes import StokesProblem
from ..physics import analytic
from ..physics.phoresis import brenner_perpendicular_correction, faxen_parallel_correction
from ..physics.slip import slip_coefficient_at
from ..presets import boundary_conditions, build_domain
from . import pipeline
from .common import PipelineResult, integrate, linear_solver, nodes_per_vertex, taylor_hood_unknowns_per_vertex
from .conditions import flow_conditions, thermal_conditions


def _particle_domain(case: Case):
    """The preset's sphere mesh, or the user's mesh with regions fluid and particle and the
    boundary particle_surface (centre: particle.position)."""
    p = case.particle
    domain = build_domain(case)
    if case.shape is not None:
        return domain, particles_of(domain, p.slip_coefficient)
    default = [0.0, 0.0, p.wall_distance or 0.0]
    particles = [Particle("particle", "particle_surface", tuple(p.position or default), p.slip_coefficient)]
    check_particle_tags(domain, particles)
    return domain, particles


@pipeline("phoretic_particle")
def phoretic_particle(case: Case, out_dir: Path, timer: log.Timer) -> PipelineResult:
    p, t = case.particle, case.temperature
    a = p.radius
    G = np.asarray(t.gradient, dtype=float)
    fluid = case.fluid.at(t.reference)
    mu = float(fluid.viscosity.viscosity(t.reference))
    with timer("mesh"):
        domain, particles = _particle_domain(case)
    centre = np.asarray(particles[0].centre, dtype=float)
    log.info(f"mesh: {domain.num_cells()} cells around a sphere of radius {a:.3g} m"
             + (f" at {p.wall_distance:.3g} m from a wall" if p.wall_distance else ""))
    if domain.metadata.get("straightened_surface_edges"):
        log.info(f"mesh: {domain.metadata['straightened_surface_edges']} edges of the particle surface left "
                 "straight (curving them would fold their cells)")
    faces = [name for name in domain.boundaries if name != "particle_surface"]

    def far_field_temperature(x):
        return t.reference + sum(G[i] * (x[i] - centre[i]) for i in range(3))

    with timer("heat"):
        # The slip follows grad T on the sphere, which magnifies T's solver error: at rtol
        # 1e-13 the rotation (zero by symmetry, here mesh noise of 4e-4 U/a) is 3e-10 rad/s
        # from a direct solve's, at 1e-12 with BoomerAMG's 3D settings 4e-9.
        heat = HeatProblem(domain, {"fluid": fluid.thermal_conductivity, "particle": p.thermal_conductivity},
                           [FixedTemperature(face, far_field_temperature) for face in faces], degree=2,
                           linear_solver=linear_solver(case, domain, nodes_per_vertex(2, domain.dim)), rtol=1e-13)
        T = heat.solve_steady()
    chi = slip_coefficient_at(p.slip_coefficient, t.reference)
    far_field = None
    if case.flow.far_field == "auto":
        far_field = "stokeslet" if p.wall_distance is None else "blake"
    far_boundaries = faces if p.wall_distance is None else [name for name in faces if name != "wall"]
    external_force = None
    if p.density is not None and any(case.gravity):
        external_force = (p.density - fluid.density) * 4.0 / 3.0 * math.pi * a**3 * np.asarray(case.gravity)
    with timer("mobility"):
        problem = MobilityProblem(domain, mu, particles, temperature=T,
                                  velocity_scale=abs(chi) * max(np.linalg.norm(G), 1.0),
                                  far_field=far_field, far_boundaries=far_boundaries if far_field else (),
                                  solver=linear_solver(case, domain, taylor_hood_unknowns_per_vertex(domain.dim)),
                                  rtol=case.solver.linear_rtol(1e-8))
        result = problem.solve(external_force=external_force, temperature_gradient=G, flow_field=True)
    results = result.summary()
    U = np.asarray(result.velocity[0])
    anderson = analytic.anderson_phoretic_velocity(chi, fluid.thermal_conductivity,
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


@pipeline("thermoosmotic_flow")
def thermoosmotic_flow(case: Case, out_dir: Path, timer: log.Timer) -> PipelineResult:
    t = case.temperature
    with timer("mesh"):
        domain = build_domain(case)
    boundaries = boundary_conditions(case, domain)
    chi_law = next(spec.flow.slip_coefficient for spec in boundaries.values()
                   if spec.flow is not None and spec.flow.type == "slip")
    lo, hi = mesh_bounds(domain.mesh)
    length = (hi[0] - lo[0]) * domain.length_scale
    # the flux carries the slip averaged along the walls (reciprocal theorem with the
    # Poiseuille flow, whose wall shear is uniform; both ends at the same pressure): chi
    # itself for a constant law, chi(T_mean) for a linear one
    nodes, weights = np.polynomial.legendre.leggauss(20)
    chi = float(0.5 * np.sum(weights * slip_coefficient_at(chi_law, t.hot + 0.5 * (nodes + 1) * (t.cold - t.hot))))
    with timer("heat"):
        T = HeatProblem(domain, case.fluid.at(0.5 * (t.hot + t.cold)).thermal_conductivity,
                        thermal_conditions(boundaries), degree=2).solve_steady()
    gradient = (t.cold - t.hot) / length
    mu = float(case.fluid.viscosity.viscosity(0.5 * (t.hot + t.cold)))
    with timer("stokes"):
        problem = StokesProblem(domain, case.fluid.viscosity, flow_conditions(boundaries, domain),
                                temperature=T, velocity_scale=abs(chi * gradient) or 1.0,
                                solver=linear_solver(case, domain, taylor_hood_unknowns_per_vertex(domain.dim)))
        problem.update_slip()
        u, _ = problem.solve()
    n = ufl.FacetNormal(domain.mesh)
    flux = integrate(domain, ufl.dot(u, n) * domain.ds("cold")) * problem.velocity_scale  # m/s * (scaled length)
    mean_velocity = flux / integrate(domain, 1.0 * domain.ds("cold"))
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
