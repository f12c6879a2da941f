"""Buoyant convection in a two-wall cell, then Soret transport in the flow: the artifact report.

A cell heated from the side (hot wall x = 0, cold wall x = L) with gravity drives a
convection roll; the solute then feels both the flow and thermophoresis. The report says
how large the artifact is: Rayleigh number, flow speed against thermophoretic drift,
solute Peclet number, and the Soret coefficient an experimenter would infer by fitting
ln c against T in the convecting cell (``apparent_soret_coefficient``) next to the true
one. With the walls vertical and gravity along them the cell is a thermogravitational
(Clusius-Dickel) column, and the top-bottom separation is compared with the
Furry-Jones-Onsager limit.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable

import dolfinx.fem
import numpy as np
import ufl
from mpi4py import MPI

from .. import checkpoint, log
from ..case import Case, schedule_of
from ..fem import compat
from ..fem.convection import BuoyantFlowProblem
from ..fem.io import FieldWriter
from ..fem.probes import BallProbe, PointProbe, ProbeRecorder, RegionProbe
from ..fem.mesh import mesh_bounds
from ..fem.transport import SoretTransportProblem
from ..physics import BOLTZMANN, analytic
from ..physics.heating import GaussianBeam
from ..physics.schedule import Schedule, graded_step_times, step_times
from ..plausibility import check_soret_span
from ..presets import boundary_conditions, build_domain, region_properties
from . import keep, pipeline
from .common import (PipelineResult, drift_velocity, integrate, linear_solver, liquid_indicator, max_of, region_bounds,
                     taylor_hood_unknowns_per_vertex, tracking_config)
from .conditions import (conductivities, flow_conditions, heat_capacities, region_heaters, solute_conditions,
                         thermal_conditions)
from .soret_cell import fit_soret_coefficient, fluid_regions, liquid_volume, wall_average


@pipeline("convection")
def run(case: Case, out_dir: Path, timer: log.Timer) -> PipelineResult:
    t, solute, fl = case.temperature, case.solute, case.fluid
    with timer("mesh"):
        domain = build_domain(case)
    log.info(f"mesh: {domain.num_cells()} cells, {domain.dim}D")
    lo, hi = mesh_bounds(domain.mesh)
    boundaries = boundary_conditions(case, domain)
    regions = region_properties(case, domain)
    liquid = [name for name, spec in regions.items() if spec.is_fluid]
    restricted = fluid_regions(case, domain)  # the liquid where solids surround it, else None
    solid = restricted is not None
    walls = {name: spec.thermal.value for name, spec in boundaries.items()
             if name in ("hot", "cold") and spec.thermal is not None and spec.thermal.type == "temperature"}
    two_wall = len(walls) == 2  # a side-heated cell: the Soret-cell reports apply
    if case.shape == "two_wall_cell":
        T_ref = 0.5 * (t.hot + t.cold)
    else:
        T_ref = t.reference if case.shape is None else t.ambient
    T_hot, T_cold = (walls["hot"], walls["cold"]) if two_wall else (None, None)
    fluid = fl.at(T_ref)  # Boussinesq reference
    x = domain.physical_coordinates()
    vertical = domain.dim - 1
    if two_wall:
        length = (hi[0] - lo[0]) * domain.length_scale  # the gap
        initial_guess = T_hot + (T_cold - T_hot) * (x[0] - lo[0] * domain.length_scale) / length
    else:
        liquid_lo, liquid_hi = region_bounds(domain, liquid)
        length = (liquid_hi[vertical] - liquid_lo[vertical]) * domain.length_scale  # liquid thickness
        initial_guess = T_ref + 0.0 * x[0]
    heaters, sources = region_heaters(regions)
    laser_level = compat.constant(domain.mesh, 1.0)  # the laser's schedule switches it
    heat_sources = list(sources) + _laser_sources(case, domain, regions, liquid, laser_level)
    solid_options = {}
    if solid:
        solid_options = {"fluid_regions": liquid,
                         "conductivity": conductivities(case, regions, fluid.thermal_conductivity),
                         "heat_capacity": heat_capacities(case, regions, fluid.density * fluid.heat_capacity)}
    schedules = _schedules(case, boundaries) if case.time.transient else {}
    if two_wall and {"hot", "cold"} & set(schedules):
        initial_guess = T_ref + 0.0 * x[0]  # switched walls: the cell starts isothermal
    solver_kind = linear_solver(case, domain, taylor_hood_unknowns_per_vertex(domain.dim, scalar_p2_fields=1))

    with timer("flow"):
        flow = BuoyantFlowProblem(domain, fluid, case.gravity, thermal_conditions(boundaries) + heaters,
                                  reference_temperature=T_ref, inertia=case.flow.inertia,
                                  heat_sources=heat_sources, flow_conditions=flow_conditions(boundaries, domain),
                                  linear_solver=solver_kind, linear_rtol=case.solver.linear_rtol(1e-8),
                                  **solid_options)
        flow.initial_conduction_guess(initial_guess)
        if not case.time.transient:
            log.info(f"steady buoyant flow coupled to heat (Newton, {solver_kind} linear solver)")
            report = flow.solve(max_iterations=case.flow.newton_max_iterations, rtol=case.solver.nonlinear_rtol,
                                continuation=case.solver.continuation)
        u, T = flow.velocity(), flow.temperature()

    transport = SoretTransportProblem(domain, T, solute.diffusivity, solute.soret_coefficient,
                                      velocity=u, degree=2, reference_temperature=T_ref,
                                      boundary_conditions=solute_conditions(boundaries),
                                      moving=case.time.transient, **({"regions": restricted} if solid else {}))
    c0 = solute.initial_concentration
    mass0 = c0 * liquid_volume(domain, restricted)
    transient = {}
    if case.time.transient:
        with timer("transient"):
            switches = [(schedule, _switch(name, flow, boundaries, laser_level)) for name, schedule in schedules.items()]
            transient = _march(case, domain, liquid, flow, transport, T, u, switches, length, mass0, out_dir)
        report = flow.report
        c = transport.concentration
    with timer("transport"):
        T_max = max_of(T.function_space, T)
        T_min = -max_of(T.function_space, -T)
        # the heated span is known now: the Slotboom weight must hold exp(int S_T dT) over it
        check_soret_span(solute.soret_coefficient, T_min, T_max)
        if not case.time.transient:
            c = transport.solve_steady(total_mass=mass0 if transport.closed else None)
    dT = T_hot - T_cold if two_wall else T_max - T_ref
    rayleigh = flow.rayleigh_number_per_kelvin_cubic_metre * dT * length**3

    in_liquid = liquid_indicator(domain, liquid) if solid else 1.0
    speed = max_of(T.function_space, ufl.sqrt(ufl.dot(u, u)))
    T_mean = 0.5 * (T_max + T_min)
    D_mean = float(solute.diffusivity.diffusivity(T_mean))
    S_true = float(solute.soret_coefficient.soret_coefficient(T_mean))
    grad_T = ufl.grad(T) / domain.length_scale
    D_T = solute.soret_coefficient.soret_coefficient(T) * solute.diffusivity.diffusivity(T)
    # grad T jumps across cells: take the largest drift per cell (a discontinuous space),
    # not at shared nodes, whose value would depend on which cell (which rank) set it
    V_drift = compat.function_space(domain.mesh, "DG", 2)
    drift = max_of(V_drift, in_liquid * abs(D_T) * ufl.sqrt(ufl.dot(grad_T, grad_T)))
    # a fit of ln c against T needs a temperature span (a laser switched off has none)
    S_apparent = fit_soret_coefficient(domain, c, T) if transport.closed and T_max - T_min > 1e-6 else math.nan
    results = {
        "rayleigh_number": rayleigh,
        "max_flow_speed": speed,
        "thermophoretic_drift_speed": drift,
        "flow_to_drift_ratio": speed / drift if drift > 0 else math.inf,
        "peclet_number": speed * length / D_mean,
        "apparent_soret_coefficient": S_apparent,
        "soret_coefficient_true": S_true,
        "apparent_soret_rel_error": abs(S_apparent - S_true) / abs(S_true) if S_true else math.nan,
        "temperature_max": T_max,
        "temperature_min": T_min,
        "mass_change_rel": abs(transport.total_mass() - mass0) / mass0 if transport.closed else None,
        "newton_iterations": report.iterations,
        "newton_residuals": report.residuals,
        "nonlinear_solver": report.summary(),
        "linear_solver": solver_kind,
        "coupled_unknowns": flow.W.dofmap.index_map.size_global * flow.W.dofmap.index_map_bs,
        **transient,
    }
    units = {"max_flow_speed": "m/s", "thermophoretic_drift_speed": "m/s", "apparent_soret_coefficient": "1/K",
             "soret_coefficient_true": "1/K", "rayleigh_number": "1", "peclet_number": "1",
             "temperature_max": "K", "temperature_min": "K"}
    if not transport.closed:
        results.update(_channel_extremes(domain, c, c0, restricted))
        results["temperature_rise_max"] = T_max - T_ref
        units["temperature_rise_max"] = "K"
        units.update({"c_max_rel": "1", "c_min_rel": "1", "c_max_position": "m", "c_min_position": "m"})
    elif not two_wall:
        c_max = max_of(T.function_space, c)
        results.update({"temperature_rise_max": T_max - T_ref, "accumulation_factor": c_max / c0,
                        "depletion_factor": -max_of(T.function_space, -c) / c0})
        units.update({"temperature_rise_max": "K", "accumulation_factor": "1", "depletion_factor": "1"})
    else:
        results.update({
            "c_ratio_cold_hot": wall_average(domain, c, "cold") / wall_average(domain, c, "hot"),
            "c_ratio_no_flow": analytic.soret_cell_concentration_ratio(solute.soret_coefficient, T_hot, T_cold),
            "nusselt_number": flow.wall_heat_flow("hot") / (fluid.thermal_conductivity * dT / length
                                                            * _wall_size(domain, "hot")),
        })
        units["nusselt_number"] = "1"
        results.update(_column_separation(case, domain, c, lo, hi, fluid, flow, D_mean, S_true, dT, units))
    results.update(_power_balance(flow, boundaries, fluid, u, T, units))
    results.update(_sedimentation(case, fluid, T_mean, D_mean, S_true, drift / max(abs(S_true * D_mean), 1e-300),
                                  units))
    if case.tracking.enabled:
        with timer("tracking"):
            results.update(_track(case, domain, T, u, c, c0, length, D_mean, boundaries, fluid.density))
    _log_report(results)

    if case.output.fields:
        V = T.function_space
        c_out = dolfinx.fem.Function(V, name="concentration")
        compat.interpolate(c_out, c)
        with FieldWriter(domain, out_dir / "fields" / "convection.pvd") as writer:
            writer.write([T, c_out, u, drift_velocity(domain, T, solute, u)])
    return PipelineResult(results, units, {"temperature": T, "velocity": u, "concentration": c}, domain)


def _laser_sources(case: Case, domain, regions: dict, liquid: list[str], level) -> list:
    """The laser's absorbed power density per region (W/m^3): the liquid by
    laser.absorption_coefficient, solids by their region's absorption_coefficient (none:
    transparent). The beam enters at the liquid's floor and is attenuated there by the
    liquid's absorption only (solids absorb little: glass at 1480 nm ~ 10-100 1/m)."""
    laser = case.laser
    if laser is None:
        return []
    floor = region_bounds(domain, liquid)[0][domain.dim - 1] * domain.length_scale
    x = domain.physical_coordinates()
    sources = []
    for name, spec in regions.items():
        alpha = laser.absorption_coefficient if spec.is_fluid else spec.absorption_coefficient
        if not alpha:
            continue
        beam = GaussianBeam(laser.power, laser.waist, alpha, tuple(laser.position[:2]))
        attenuated = beam.power_density(x, domain.dim, floor=floor)
        if not spec.is_fluid:  # the attenuation is the liquid's, the absorption the solid's
            attenuated = attenuated * ufl.exp((alpha - laser.absorption_coefficient)
                                              * (x[domain.dim - 1] - floor))
        sources.append((name if len(regions) > 1 else None, level * attenuated))
    return sources


def _power_balance(flow: BuoyantFlowProblem, boundaries: dict, fluid, u, T, units: dict) -> dict:
    """Heat put in by sources and heaters against the heat leaving through the boundaries
    (conduction: the walls' reactions, convective cooling) and carried off by the flow
    (``int rho c_p u.grad T``: the discrete enthalpy outflow). Testing the heat equation
    with 1 makes this balance exact for the discrete solution, so it closes to round-off."""
    domain = flow.domain
    leaving = {name: flow.boundary_heat_flow(name) for name, spec in boundaries.items()
               if spec.thermal is not None and spec.thermal.type in ("temperature", "convective")}
    heaters = {name: flow.boundary_heat_flow(name) for name, spec in boundaries.items()
               if spec.thermal is not None and spec.thermal.type in ("heat_flux", "heater_power")}
    power_in = flow.heat_source_power() - sum(heaters.values())
    advected = fluid.density * fluid.heat_capacity * integrate(
        domain, ufl.dot(u, ufl.grad(T)) * domain.dx()) * domain.length_scale ** (domain.dim - 1)
    power_out = sum(leaving.values()) + advected
    scale = max(abs(power_in), sum(abs(value) for value in leaving.values()), 1e-300)  # heat through the cell
    unit = "W" if domain.dim == 3 else "W/m"
    units.update({"heat_input": unit, "heat_leaving": unit, "heat_advected": unit})
    return {"heat_input": power_in, "heat_leaving": leaving, "heat_advected": advected,
            "power_balance_rel_error": abs(power_out - power_in) / scale}


def _channel_extremes(domain, c, c0: float, liquid: list[str] | None = None) -> dict:
    """Where the beads go: the largest and smallest c in the liquid (relative to the
    inlet) and where."""
    dof_x = c.function_space.tabulate_dof_coordinates()
    owned = c.function_space.dofmap.index_map.size_local
    values = c.x.array[:owned]
    if liquid is not None:  # solid dofs hold no solute
        cells = np.concatenate([domain.cell_tags.find(domain.region_tag(name)) for name in liquid])
        in_liquid = compat.locate_dofs_topological(c.function_space, domain.dim, cells)
        keep = in_liquid[in_liquid < owned]
        dof_x, values = dof_x[keep], values[keep]
        owned = keep.size
    out = {}
    for name, pick, op in (("max", np.argmax, MPI.MAX), ("min", np.argmin, MPI.MIN)):
        i = int(pick(values)) if owned else 0
        local = (float(values[i]) if owned else (-np.inf if op == MPI.MAX else np.inf),
                 (dof_x[i] * domain.length_scale).tolist() if owned else None)
        candidates = domain.comm.allgather(local)
        best = (max if op == MPI.MAX else min)(candidates, key=lambda item: item[0])
        out[f"c_{name}_rel"] = best[0] / c0
        out[f"c_{name}_position"] = best[1]
    return out


def _schedules(case: Case, boundaries: dict) -> dict[str, Schedule]:
    """The schedule of every switched source by name: "laser", and the boundaries with a
    thermal schedule."""
    out = {}
    if case.laser is not None and case.laser.schedule is not None:
        out["laser"] = schedule_of(case.laser.schedule)
    out.update({name: schedule_of(spec.thermal.schedule) for name, spec in boundaries.items()
                if getattr(spec.thermal, "schedule", None) is not None})
    return out


def _switch(name: str, flow: BuoyantFlowProblem, boundaries: dict, laser_level) -> Callable[[float], None]:
    """What sets the source ``name`` to a level: the laser's power, a boundary heater's
    power, a wall's temperature between the initial (reference) temperature and its value."""
    if name == "laser":
        return lambda level: setattr(laser_level, "value", level)
    thermal = boundaries[name].thermal
    if thermal.type == "temperature":
        t_ref = flow.reference_temperature
        return lambda level: flow.set_wall_temperature(name, t_ref + level * (thermal.value - t_ref))
    return lambda level: flow.set_heater_level(name, level)


def _march(case: Case, domain, liquid: list[str], flow: BuoyantFlowProblem, transport: SoretTransportProblem, T, u,
           switches: list[tuple[Schedule, Callable[[float], None]]], length: float, mass0: float,
           out_dir: Path) -> dict:
    """Flow, heat and solute advanced together: per time step BDF2 + Newton for (u, p, T),
    then the Slotboom solute step in the new T and u (the solute does not act back on the
    flow, so this is the coupled step). Sources follow their schedules (``switches``:
    (schedule, set level)); a step that starts where a source switches restarts BDF2 with
    backward Euler, and every switching time and requested output time is a time level.
    Probes are recorded at every step."""
    t_ref = flow.reference_temperature
    if case.time.end is not None:
        t_end = case.time.end
    else:  # until heat and solute have both relaxed
        D = float(case.solute.diffusivity.diffusivity(t_ref))
        low, high = region_bounds(domain, liquid)
        extent = float(np.max(high - low)) * domain.length_scale  # the solute relaxes over the widest span
        t_end = 5.0 * max(length**2 / flow.kappa, extent**2 / (math.pi**2 * D))
    switch_times = sorted({t for schedule, _ in switches for t in schedule.breakpoints(t_end)})
    outputs = sorted(t for t in case.time.outputs if 0.0 < t < t_end)
    # steps that grow from a fraction of the thermal time after the start and every switch:
    # the temperature jumps within a thermal time, the solute moves over much longer ones
    first_step = case.time.first_step or length**2 / (math.pi**2 * flow.kappa) / 20.0
    times = graded_step_times(step_times(t_end, t_end / case.time.steps, switch_times + outputs),
                              [0.0] + switch_times, first_step, keep=outputs)
    restart_at = set(switch_times)
    bdf2 = case.time.scheme == "bdf2"
    steps = len(times) - 1
    log.info(f"transient flow, heat and solute: {steps} steps to t = {t_end:.4g} s"
             + (f", sources switching at {', '.join(f'{t:.4g}' for t in switch_times)} s" if switch_times else ""))
    for schedule, setter in switches:
        setter(schedule.value(0.0))
    transport.initialise(case.solute.initial_concentration, total_mass=mass0 if transport.closed else None)
    mass_initial = transport.total_mass()
    recorder = _probe_recorder(case, domain, liquid, T, transport, out_dir)
    c_out = dolfinx.fem.Function(T.function_space, name="concentration")
    writer = None
    if case.output.fields:
        writer = FieldWriter(domain, out_dir / "fields" / "transient.pvd")
    snapshot_every = max(1, steps // case.output.snapshots)
    output_times = set(outputs) | {t_end}

    def write(t: float) -> None:
        if writer is not None:
            compat.interpolate(c_out, transport.concentration)
            writer.write([T, c_out, u], t)

    progress = log.Progress("time step", steps)
    speeds, mass_change, newton = [], 0.0, 0
    functions = {**flow.restart_functions(), **{f"solute_{key}": f for key, f in transport.restart_functions().items()}}
    with checkpoint.active().loop("coupled_transient") as loop:
        first = 1
        if loop.restored is not None:
            saved = loop.restored
            checkpoint.restore_functions(functions, saved.arrays)
            last_step = float(times[saved.step] - times[saved.step - 1])
            flow.restore(saved.step, saved.time, last_step)
            transport.restore(saved.step, saved.time, last_step)
            flow.temperature(out=T)
            flow.velocity(out=u)
            speeds, mass_change, newton = saved.values["speeds"], saved.values["mass_change"], saved.values["newton"]
            if recorder is not None:
                recorder.resume(saved.values["probe_times"], saved.values["probe_rows"])
            first = saved.step + 1
        elif recorder is not None:
            recorder.record(0.0)
        write(float(times[first - 1]))  # a resumed run's field files start where it resumed
        for step in range(first, steps + 1):
            t0, t1 = float(times[step - 1]), float(times[step])
            for schedule, setter in switches:
                setter(schedule.value(t1, side="left"))  # the level over (t0, t1]
            restart = not bdf2 or t0 in restart_at
            newton += flow.advance(t1 - t0, max_iterations=case.flow.newton_max_iterations,
                                   restart=restart).iterations
            flow.temperature(out=T)
            flow.velocity(out=u)
            transport.advance(t1 - t0, order=1 if restart else 2)
            if transport.closed:
                mass_change = max(mass_change, abs(transport.total_mass() - mass_initial) / mass_initial)
            local = float(np.max(np.abs(u.x.array))) if u.x.array.size else 0.0
            speeds.append(domain.comm.allreduce(local, op=MPI.MAX))
            if recorder is not None:
                recorder.record(t1)
            if step % snapshot_every == 0 or t1 in output_times:
                write(t1)
            progress.update(step, f"t = {t1:.4g} s, max |u| = {speeds[-1]:.4g} m/s, mass change {mass_change:.1e}")
            keep(time_steps_done=step, time=t1, mass_change_max_rel=mass_change)
            loop.completed(step, t1, lambda: (checkpoint.function_arrays(functions), {
                "speeds": speeds, "mass_change": mass_change, "newton": newton,
                "probe_times": recorder.times if recorder else [], "probe_rows": recorder.rows if recorder else []}))
    if writer is not None:
        writer.close()
    if recorder is not None and case.output.pictures and domain.comm.rank == 0:
        recorder.plot(out_dir / "probes.png")
    tail = speeds[-max(2, steps // 10):]
    results = {"end_time": t_end, "time_steps": steps, "newton_iterations_total": newton,
               "mass_change_max_rel": mass_change if transport.closed else None,
               "flow_speed_change_last_10pct_rel": (max(tail) - min(tail)) / max(max(tail), 1e-300)}
    if recorder is not None:
        results["probes"] = {column: recorder.series(column)[-1] for column in recorder.columns}
    return results


def _probe_recorder(case: Case, domain, liquid: list[str], T, transport: SoretTransportProblem, out_dir: Path):
    """T and c at the case's probes, every time step, into probes.csv (None: no probes;
    an unknown region is reported by the probe that names it)."""
    if not case.probe:
        return None
    probes = {}
    for name, spec in case.probe.items():
        if spec.type == "region":
            region = spec.region or (liquid[0] if len(liquid) == 1 and len(domain.regions) > 1 else None)
            probes[name] = RegionProbe(region)
        elif spec.type == "ball":
            probes[name] = BallProbe(spec.centre, spec.radius, region=spec.region)
        else:
            probes[name] = PointProbe(spec.centre)
    quantities = {"temperature": (T, "K"), "concentration": (transport.concentration, "mol_per_m3")}
    return ProbeRecorder(domain, probes, quantities, out_dir / "probes.csv")


def _track(case: Case, domain, T, u, c, c0: float, length: float, D: float, boundaries: dict,
           fluid_density: float) -> dict:
    """Brownian particles in the computed flow and temperature, checked against the
    Eulerian solution: the fraction of particles inside the region where the steady c
    exceeds twice its mean, next to the fraction of the solute mass there."""
    from ..tracking import grid_fields_from_dolfinx, run_tracking

    spec, solute = case.tracking, case.solute
    # graded meshes (the laser focus): resolve the finest cells, not the median ones, unless
    # tracking.field_tolerance chooses the spacing from the sampling error
    finest = domain.comm.allreduce(float(np.min(compat.cell_diameters(domain.mesh))), op=MPI.MIN)
    fields = grid_fields_from_dolfinx(T, solute.diffusivity, solute.soret_coefficient, velocity=u,
                                      spacing=None if spec.field_tolerance else finest / 2.0,
                                      length_scale=domain.length_scale, field_tolerance=spec.field_tolerance)
    duration = spec.duration or 5.0 * length**2 / (math.pi**2 * D)
    config = tracking_config(case, domain, fields, duration, boundaries, fluid_density)
    log.info(f"tracking {spec.particles} particles for {duration:.4g} s in the flow")
    result = run_tracking(fields, config, comm=MPI.COMM_WORLD)
    positions = np.asarray(result.state.positions).T if MPI.COMM_WORLD.rank == 0 else None  # (3, N) -> (N, 3)
    positions = np.ascontiguousarray(MPI.COMM_WORLD.bcast(positions, root=0)) / domain.length_scale
    if domain.dim == 2:
        positions[:, 2] = 0.0  # the 2D tracking grid has a thin layer around z = 0
    c_at_particles = compat.evaluate(c, positions)
    trapped = float(np.mean(c_at_particles > 2.0 * c0))
    in_trap = ufl.conditional(ufl.gt(c, 2.0 * c0), 1.0, 0.0)
    eulerian = integrate(domain, in_trap * c * domain.dx()) / integrate(domain, c * domain.dx())
    volume_fraction = integrate(domain, in_trap * domain.dx()) / integrate(domain, 1.0 * domain.dx())
    summary = result.summary
    return {
        "msd_diffusivity": summary["msd_diffusivity"], "mean_drift_velocity": summary["mean_drift_velocity"],
        "particle_counts": summary["particle_counts"], "tracking_backend": summary["tracking_backend"],
        "tracking_particle_steps_per_s": summary["tracking_particle_steps_per_s"],
        "tracking_steps": summary["tracking_steps"], "tracking_dt": summary["tracking_dt"],
        "trap_fraction_particles": trapped, "trap_fraction_eulerian": eulerian,
        "trap_fraction_stderr": math.sqrt(max(eulerian * (1 - eulerian), 1e-300) / spec.particles),
        "trap_volume_fraction": volume_fraction,
    }


def _wall_size(domain, wall: str) -> float:
    """Length (2D) or area (3D) of a wall in m^(d-1)."""
    return integrate(domain, 1.0 * domain.ds(wall)) * domain.length_scale ** (domain.dim - 1)


def _column_separation(case, domain, c, lo, hi, fluid, flow, D, S_T, dT, units) -> dict:
    """Top-bottom separation along gravity from the core's width-averaged gradient, and
    the Furry-Jones-Onsager limit ``dc/c0 = 504 D_T nu H / (g beta d^4)``."""
    from scipy.integrate import trapezoid  # here, not at import: ~0.2 s for this one report

    g = np.asarray(case.gravity[: domain.dim], dtype=float)
    if np.linalg.norm(g) == 0 or domain.dim != 2 or abs(g[0]) > 1e-12 * np.linalg.norm(g):
        return {}
    up = 1  # gravity along -y or +y: the column axis is y
    sign = -np.sign(g[1])
    height = (hi[up] - lo[up]) * domain.length_scale
    d = (hi[0] - lo[0]) * domain.length_scale
    xs = np.linspace(lo[0], hi[0], 41)

    def width_average(y_fraction: float) -> float:
        y = lo[up] + y_fraction * (hi[up] - lo[up])
        points = np.column_stack([xs, np.full_like(xs, y), np.zeros_like(xs)])
        values = compat.evaluate(c, points)
        return float(trapezoid(values, xs) / (xs[-1] - xs[0]))

    z1, z2 = 0.3, 0.7
    core_gradient = (width_average(z2) - width_average(z1)) / ((z2 - z1) * height)
    c0 = case.solute.initial_concentration
    nu = flow.mu_ref / fluid.density
    gravity, beta = float(np.linalg.norm(g)), fluid.thermal_expansion
    fjo = 504.0 * S_T * D * nu * height / (gravity * beta * d**4)
    # validity: convective remixing >> diffusion across the gap (K_c/K_d), and a linear
    # conduction profile across the gap (thermal Rayleigh number well below ~1000)
    remixing = (gravity * beta * dT * d**3 / (nu * D)) ** 2 / 362880.0
    units.update({"separation_top_bottom_rel": "1", "separation_fjo_rel": "1"})
    return {"separation_top_bottom_rel": -sign * core_gradient * height / c0,
            "separation_fjo_rel": fjo, "fjo_remixing_parameter": remixing,
            "column_aspect_ratio": height / d}


def _sedimentation(case, fluid, T_mean, D, S_T, gradient, units) -> dict:
    """Gravitational length k_B T/(m_b g) against thermophoretic length 1/(S_T |grad T|)."""
    spec = case.tracking
    g = float(np.linalg.norm(case.gravity))
    if spec.particle_radius is None or g == 0:
        return {}
    buoyant_mass = (spec.particle_density - fluid.density) * 4.0 / 3.0 * math.pi * spec.particle_radius**3
    gravitational = BOLTZMANN * T_mean / (abs(buoyant_mass) * g) if buoyant_mass else math.inf
    thermophoretic = 1.0 / abs(S_T * gradient) if S_T else math.inf
    units.update({"gravitational_length": "m", "thermophoretic_length": "m", "sedimentation_speed": "m/s"})
    return {"gravitational_length": gravitational, "thermophoretic_length": thermophoretic,
            "sedimentation_speed": D / gravitational if gravitational < math.inf else 0.0}


def _log_report(results: dict) -> None:
    log.info("artifact report:")
    log.info(f"  Rayleigh number               {results['rayleigh_number']:.4g}")
    log.info(f"  max flow speed                {results['max_flow_speed']:.4g} m/s")
    log.info(f"  thermophoretic drift speed    {results['thermophoretic_drift_speed']:.4g} m/s"
             f"  (flow/drift = {results['flow_to_drift_ratio']:.3g})")
    log.info(f"  solute Peclet number          {results['peclet_number']:.4g}")
    log.info(f"  apparent S_T                  {results['apparent_soret_coefficient']:.5g} 1/K"
             f"  (true {results['soret_coefficient_true']:.5g}, error "
             f"{100 * results['apparent_soret_rel_error']:.3g} %)")
    if "separation_top_bottom_rel" in results:
        log.info(f"  column separation            {results['separation_top_bottom_rel']:.4g}"
                 f"  (Furry-Jones-Onsager {results['separation_fjo_rel']:.4g})")
    if "c_max_rel" in results:
        log.info(f"  c / c_inlet                   {results['c_min_rel']:.4g} at {results['c_min_position']} m"
                 f" to {results['c_max_rel']:.4g} at {results['c_max_position']} m")
    if "accumulation_factor" in results:
        log.info(f"  temperature rise              {results['temperature_rise_max']:.4g} K")
        log.info(f"  accumulation / depletion      {results['accumulation_factor']:.4g} / "
                 f"{results['depletion_factor']:.4g} (c / c0)")
    if "trap_fraction_particles" in results:
        log.info(f"  particles where c > 2 c0       {results['trap_fraction_particles']:.4f} "
                 f"(Eulerian mass fraction {results['trap_fraction_eulerian']:.4f} "
                 f"± {results['trap_fraction_stderr']:.4f})")
    if results.get("heat_input"):
        out = sum(results["heat_leaving"].values()) + results["heat_advected"]
        log.info(f"  heat put in / leaving          {results['heat_input']:.4g} / {out:.4g} (W, W/m in 2D; "
                 f"balance to {results['power_balance_rel_error']:.1e})")
    if "gravitational_length" in results:
        log.info(f"  gravitational / thermophoretic length  {results['gravitational_length']:.3g} m / "
                 f"{results['thermophoretic_length']:.3g} m")
