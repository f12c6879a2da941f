"""Aerosol particles above a heated wafer: the particle-free zone (kind 'aerosol').

A showerhead at height H blows gas down onto a wafer at T_hot; the planar viscous
stagnation-point (Hiemenz) flow ``u = a x f'(eta)``, ``w = -sqrt(a nu) f(eta)`` carries
particles towards the wafer while thermophoresis (Talbot) pushes them away from it, and
gravity settles them. Gas properties are taken at the film temperature (T_hot + T_cold)/2
for the flow and the heat equation (constant-property stagnation flow); the particle laws
use the local T. The heat equation with advection is solved by FEM; the particles are
tracked in the sampled T (overdamped, or with inertia when tau >= 0.01 dt).

Along the stagnation line the problem is one-dimensional, with references the FEM and the
tracker are set against: T(z) exact by quadrature (:meth:`HiemenzFlow.temperature`), and
the 1D zone thickness delta where the net normal velocity
``w(z) + v_th(z) - tau g`` vanishes (particles below it are pushed up, above it down).
Tracker: particles enter near the stagnation line (|x| < W/20000) at the release height,
gather on the layer z = delta and slide sideways; ``particle_free_zone_thickness`` is the
height below which 1 % of the airborne particles lie at the end (the layer's lower edge),
``particle_layer_height`` their median height.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from mpi4py import MPI

from .. import log
from ..case import Case
from ..errors import SolverError
from ..fem import compat
from ..fem.heat import FixedTemperature, HeatProblem
from ..physics.constants import BOLTZMANN
from ..physics.aerosol import AerosolParticle, HiemenzFlow, particle_free_zone_1d
from ..physics.gases import GASES
from ..presets import boundary_conditions, build_domain
from ..tracking import ParticleState, Tracker, grid_fields_from_dolfinx, suggest_time_step
from ..tracking.inertial import InertialTracker, choose_integrator
from ..tracking.state import local_batch
from . import keep, pipeline
from .common import PipelineResult
from .conditions import box_faces, tracker_walls

RELEASE_HALF_WIDTH = 1e-4  # of W/2: the particles start on streamlines next to the stagnation line
GRID_NODES_ACROSS_GAP = 400
EDGE_PERCENTILE = 1.0
APPROACH = 0.02  # the default duration lets a 1D path come within 2 % of delta


def particle_of(case: Case) -> AerosolParticle:
    a = case.aerosol
    return AerosolParticle(a.diameter, a.density, a.thermal_conductivity, a.creep_coefficient,
                           a.temperature_jump_coefficient, a.momentum_exchange_coefficient)


def net_normal_velocity(flow: HiemenzFlow, particle: AerosolParticle, gas, pressure: float, gravity: float,
                        z: np.ndarray, T: np.ndarray, dT_dz: np.ndarray) -> np.ndarray:
    """w + v_th - tau g along the stagnation line (m/s, positive: away from the wafer);
    ``gravity`` is g > 0 pulling towards the wafer."""
    v_th = particle.thermophoretic_velocity(gas, T, dT_dz, pressure)
    return flow.normal_velocity(z) + v_th - particle.relaxation_time(gas, T, pressure) * gravity


@pipeline("aerosol")
def run(case: Case, out_dir: Path, timer: log.Timer) -> PipelineResult:
    g, t, spec = case.geometry, case.temperature, case.tracking
    gas, pressure = GASES[case.gas.species], case.gas.pressure
    particle = particle_of(case)
    T_film = 0.5 * (t.hot + t.cold)
    nu = float(gas.kinematic_viscosity(T_film, pressure))
    flow = HiemenzFlow(case.gas.strain_rate, nu)
    prandtl = float(gas.prandtl_number(T_film))
    gravity = -case.gravity[1]  # the 2D section's vertical is y; g > 0 towards the wafer
    half_width = 0.5 * g.width

    with timer("mesh"):
        domain = build_domain(case)
    H = domain.length_scale

    def gas_velocity(x):  # mesh coordinates -> m/s
        u, w = flow.velocity(x[0] * H - half_width, x[1] * H)
        return np.vstack([u, w])

    with timer("heat"):
        V = compat.function_space(domain.mesh, "Lagrange", 2, (domain.dim,))
        import dolfinx.fem

        velocity = dolfinx.fem.Function(V, name="gas_velocity")
        compat.interpolate(velocity, gas_velocity)
        heat = HeatProblem(domain, float(gas.thermal_conductivity(T_film)),
                           [FixedTemperature("wafer", t.hot), FixedTemperature("showerhead", t.cold)],
                           heat_capacity=float(gas.density(T_film, pressure)) * gas.heat_capacity,
                           velocity=velocity, degree=case.mesh.degree)
        T = heat.solve_steady()
        z_line = np.linspace(0.0, g.gap, 401)
        points = np.column_stack([np.full_like(z_line, half_width / H), z_line / H, np.zeros_like(z_line)])
        T_fem = compat.evaluate(T, points)
        T_exact = flow.temperature(z_line, g.gap, t.hot, t.cold, prandtl)
        temperature_error = float(np.max(np.abs(T_fem - T_exact)))
    keep(temperature_max_error_1d=temperature_error)

    # the 1D estimate on a fine line with the exact T(z)
    z_fine = np.linspace(0.0, g.gap, 200001)
    h = 1e-6 * g.gap
    T_line = flow.temperature(z_fine, g.gap, t.hot, t.cold, prandtl)
    dT_line = (flow.temperature(z_fine + h, g.gap, t.hot, t.cold, prandtl)
               - flow.temperature(np.maximum(z_fine - h, 0.0), g.gap, t.hot, t.cold, prandtl)) \
        / (h + np.minimum(z_fine, h))
    net = net_normal_velocity(flow, particle, gas, pressure, gravity, z_fine, T_line, dT_line)
    delta_1d = particle_free_zone_1d(z_fine, net)
    T_layer = float(np.interp(delta_1d, z_fine, T_line))
    keep(particle_free_zone_thickness_1d=delta_1d)
    if delta_1d == 0.0:
        raise SolverError("no particle-free zone: the particles reach the wafer (raise temperature.hot or lower "
                          "gas.strain_rate)")

    with timer("sampling"):
        fields = grid_fields_from_dolfinx(
            T, lambda T: particle.diffusivity(gas, T, pressure),
            lambda T: particle.thermophoretic_mobility(gas, T, pressure) / particle.diffusivity(gas, T, pressure),
            spacing=[g.width / g.gap / 40, 1.0 / GRID_NODES_ACROSS_GAP, 1.0 / GRID_NODES_ACROSS_GAP],
            length_scale=H)
        nodes = fields.node_points()
        u, w = flow.velocity(nodes[:, 0] - half_width, nodes[:, 1])
        fields.velocity = np.stack([u, w, np.zeros_like(u)], axis=-1).reshape(fields.shape + (3,))
        fields.check_finite()
        tau = particle.mass * fields.diffusivity / (BOLTZMANN * fields.temperature)
    weight = particle.mass * np.asarray(case.gravity)

    dt = spec.time_step or suggest_time_step(fields)
    integrator = case.aerosol.integrator
    if integrator == "auto":
        integrator = choose_integrator(float(np.max(tau)), dt)
    release = case.aerosol.release_height or 0.8 * g.gap
    duration = spec.duration or 1.5 * _arrival_time(z_fine, net, release, delta_1d)
    steps = max(1, int(np.ceil(duration / dt)))
    walls, sticking = tracker_walls(boundary_conditions(case, domain), box_faces(domain))
    rank, size = MPI.COMM_WORLD.rank, MPI.COMM_WORLD.size
    count, offset = local_batch(spec.particles, rank, size)
    start = ParticleState.uniform(count, [half_width * (1 - RELEASE_HALF_WIDTH), release, fields.lower[2]],
                                  [half_width * (1 + RELEASE_HALF_WIDTH), release, fields.upper[2]], seed=spec.seed,
                                  id_offset=offset)
    initial = start.to_host()  # the integrators advance their state in place
    log.info(f"aerosol: {spec.particles} particles of {particle.diameter:.3g} m, tau = {np.max(tau):.3g} s, dt = {dt:.3g} s "
             f"({integrator}), {steps} steps")
    with timer("tracking"):
        if integrator == "inertial":
            tracker = InertialTracker(fields, dt, tau, backend=spec.backend, external_force=weight, walls=walls,
                                      sticking_probability=sticking, seed=spec.seed)
            state = tracker.thermalised(start)
            report = tracker.advance(state, steps)
            particles = state.particles.to_host()
        else:
            tracker = Tracker(fields, dt, backend=spec.backend, external_force=weight, walls=walls,
                              sticking_probability=sticking, seed=spec.seed)
            particles = start.copy()
            report = tracker.advance(particles, steps)
            particles = particles.to_host()
    if report.invalid_new:
        raise SolverError(f"aerosol tracking: {report.invalid_new} particle(s) reached a non-finite position; use a "
                          "smaller tracking.time_step")

    airborne = particles.positions[1][particles.status == 0]
    gathered = np.concatenate(MPI.COMM_WORLD.allgather(airborne))
    counts = {key: MPI.COMM_WORLD.allreduce(value, op=MPI.SUM) for key, value in particles.counts().items()}
    if gathered.size < 10:
        raise SolverError(f"aerosol tracking: only {gathered.size} particles stayed airborne; shorten "
                          "tracking.duration or widen geometry.width")
    edge = float(np.percentile(gathered, EDGE_PERCENTILE))
    layer = float(np.median(gathered))

    dT_wall = float((flow.temperature(h, g.gap, t.hot, t.cold, prandtl) - t.hot) / h)
    results = {
        "particle_free_zone_thickness": edge,
        "particle_free_zone_thickness_1d": delta_1d,
        "particle_free_zone_rel_error": edge / delta_1d - 1.0,
        "particle_layer_height": layer,
        "temperature_max_error_1d": temperature_error,
        "knudsen_number": float(particle.knudsen_number(gas, T_layer, pressure)),
        "cunningham_correction": float(particle.cunningham_correction(gas, T_layer, pressure)),
        "thermophoretic_coefficient": float(particle.thermophoretic_coefficient(gas, T_layer, pressure)),
        "thermophoretic_velocity_wafer": float(particle.thermophoretic_velocity(gas, t.hot, dT_wall, pressure)),
        "relaxation_time": float(particle.relaxation_time(gas, T_layer, pressure)),
        "settling_velocity": float(particle.settling_velocity(gas, T_layer, gravity, pressure)),
        "brownian_diffusivity": float(particle.diffusivity(gas, T_layer, pressure)),
        "showerhead_gas_speed": float(-flow.normal_velocity(g.gap)),
        "tracking_integrator": integrator,
        "tracking_dt": dt,
        "tracking_steps": steps,
        "tracking_backend": tracker.backend,
        "tracking_particle_steps_per_s": report.particle_steps_per_s,
        "particle_counts": counts,
    }
    units = {"particle_free_zone_thickness": "m", "particle_free_zone_thickness_1d": "m",
             "particle_free_zone_rel_error": "1", "particle_layer_height": "m", "temperature_max_error_1d": "K",
             "knudsen_number": "1", "cunningham_correction": "1", "thermophoretic_coefficient": "1",
             "thermophoretic_velocity_wafer": "m/s", "relaxation_time": "s", "settling_velocity": "m/s",
             "brownian_diffusivity": "m^2/s", "showerhead_gas_speed": "m/s", "tracking_dt": "s",
             "tracking_particle_steps_per_s": "1/s"}
    if case.output.fields:
        from ..fem.io import FieldWriter
        from ..tracking.outputs import state_frame, write_particle_series

        with FieldWriter(domain, out_dir / "fields" / "aerosol.pvd") as writer:
            writer.write([T, velocity])
        batches = MPI.COMM_WORLD.gather((initial, particles), root=0)
        if rank == 0:
            first, final = batches[0]
            for begun, ended in batches[1:]:
                first, final = first.concatenate(begun), final.concatenate(ended)
            write_particle_series([state_frame(first), state_frame(final)], out_dir / "fields" / "particles.pvd")
    if case.output.pictures and rank == 0:
        _profile_figure(z_fine, net, delta_1d, gathered, out_dir / "particle_free_zone.png")
    return PipelineResult(results, units, {"temperature": T, "gas_velocity": velocity}, domain)


def _arrival_time(z: np.ndarray, net: np.ndarray, release: float, delta: float) -> float:
    """Time for a particle on the stagnation line to come from the release height to
    (1 + APPROACH) delta: int dz / |net velocity|."""
    from scipy.integrate import trapezoid  # here, not at import: ~0.2 s for this one line

    inside = (z >= (1.0 + APPROACH) * delta) & (z <= release)
    return float(trapezoid(1.0 / np.abs(net[inside]), z[inside]))


def _profile_figure(z, net, delta, heights, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(9, 4), sharey=True)
    mm = 1e3
    show = z <= 4 * delta
    left.plot(net[show] * mm, z[show] * mm)
    left.axvline(0.0, color="0.5", lw=0.8)
    left.axhline(delta * mm, color="C3", ls="--", label=f"1D: {delta * mm:.3g} mm")
    left.set(xlabel="net normal velocity (mm/s, + away from wafer)", ylabel="height above wafer (mm)")
    left.legend()
    right.hist(heights * mm, bins=np.linspace(0.0, 4 * delta * mm, 161), orientation="horizontal")
    right.axhline(delta * mm, color="C3", ls="--")
    right.set(xlabel="airborne particles")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
