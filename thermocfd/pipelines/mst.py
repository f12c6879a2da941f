"""Microscale thermophoresis (MST): the capillary heated by the IR laser, the fluorescence
traces it gives, and a ligand titration with its K_d fit.

One glass capillary (the quarter tube of :mod:`thermocfd.fem.capillary_mesh`) is heated by
the laser on its schedule (off, on, off); heat, buoyant flow and the labelled target are
advanced together. The detected signal of each capillary is

    ``F(t) = int w(x) sum_s b_s phi_s(T) c_s(x, t) dV``

over the buffer (w: the detection profile around the focus; s: free and bound target,
each with its brightness b_s and the dye's temperature dependence phi_s, the T-jump),
optionally photobleached. ``F_norm = F_hot / F_cold`` (per mille) from the windows of the
analysis tools, then K_d from F_norm against the ligand with the quadratic
(ligand-depletion) model.

Why one heat and flow solve serves the whole titration: the target is dilute (nM), so it
does not act back on T or u; all capillaries share T(t) and u(t), and each adds only its
own transport (two interconverting states: free and bound, the internal-state solver,
with the binding equilibrium's van 't Hoff temperature dependence). Without gravity the
flow vanishes identically (no buoyancy, no slip), and the heat equation alone is solved.

Counts: 1000 is the signal of the free target at rest (cold, no ligand), so F_norm and
the export carry the instrument's scale of ~1e3 counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import dolfinx.fem
import numpy as np
import ufl
from mpi4py import MPI

from .. import checkpoint, log
from ..case import Case
from ..fem import compat
from ..fem.convection import BuoyantFlowProblem
from ..fem.heat import HeatProblem
from ..fem.internal_states import InternalStateTransportProblem
from ..fem.io import FieldWriter
from ..fem.quadrature import compile_form
from ..physics.binding import BindingEquilibrium, BindingPartner, binding_state_model
from ..physics.fluorescence import DetectionProfile, LinearFluorophore, Photobleaching
from ..physics.heating import CapillaryBeam
from ..physics.internal_states import InternalState, InternalStateModel
from ..physics.schedule import Schedule, graded_step_times, step_times
from ..post import mst as analysis
from ..presets import boundary_conditions, build_domain, region_properties
from . import keep, pipeline
from .common import PipelineResult, integrate, linear_solver, liquid_indicator, max_of, taylor_hood_unknowns_per_vertex
from .conditions import conductivities, flow_conditions, heat_capacities, thermal_conditions

BUFFER = "buffer"
COUNTS_AT_REST = 1000.0  # the free target's signal, cold, before the laser


@dataclass
class Capillary:
    """One titration point: its ligand, the target's states and their transport."""

    index: int
    ligand: float  # mol/m^3
    fraction_bound: float  # at the ambient temperature, before heating
    partners: list[BindingPartner]  # one per state, in the model's order
    transport: InternalStateTransportProblem
    signal: object = None  # the compiled readout form
    counts: list[float] = field(default_factory=list)  # the detected signal at every time level


def _partners(case: Case, T_ref: float) -> tuple[BindingPartner, BindingPartner | None, BindingEquilibrium | None]:
    """The free target, the complex and the binding equilibrium (None without [binding])."""
    m, solute = case.mst, case.solute
    free = BindingPartner(solute.diffusivity, solute.soret_coefficient, 1.0,
                          LinearFluorophore(m.temperature_coefficient, T_ref))
    b = case.binding
    if b is None:
        return free, None, None
    slope = m.temperature_coefficient if b.bound.temperature_coefficient is None else b.bound.temperature_coefficient
    bound = BindingPartner(b.bound.diffusivity, b.bound.soret_coefficient, b.bound.brightness,
                           LinearFluorophore(slope, T_ref))
    return free, bound, BindingEquilibrium(b.dissociation_constant, b.reference_temperature or T_ref, b.enthalpy)


def _state_model(free: BindingPartner, bound: BindingPartner | None, binding: BindingEquilibrium | None,
                 target: float, ligand: float, binding_rate: float | None, T_ref: float):
    """The target's states in one capillary and the bound fraction at T_ref. The ligand
    is uniform at its bulk free concentration (the quadratic at T_ref): a small molecule in
    excess whose own thermophoresis and local depletion by the moving complex are
    neglected (they change [L] by at most the target's share, A_t/L_t x the depletion)."""
    if binding is None or ligand <= 0.0:
        state = InternalState("free", 0.0, free.diffusivity, soret=free.soret)
        return InternalStateModel((state,)), [free], 0.0
    free_ligand = float(binding.free_ligand(target, ligand, T_ref))
    model = binding_state_model(binding, free_ligand, free, bound, binding_rate)
    return model, [free, bound], float(binding.fraction_bound(target, ligand, T_ref))


class _HeatOnly:
    """Without gravity the buffer stays at rest: the conjugate heat equation alone, with
    the interface of the flow solver that the time loop uses."""

    def __init__(self, heat: HeatProblem, T_ref: float):
        self.heat = heat
        heat.initialise(T_ref)

    def advance(self, dt: float, restart: bool, max_iterations: int = 0) -> None:
        self.heat.advance(dt, order=1 if restart else 2)

    def temperature(self, out: dolfinx.fem.Function) -> None:
        """The transport reads the heat solver's own Function: nothing to copy."""

    def restart_functions(self) -> dict:
        return self.heat.restart_functions()

    def restore(self, steps: int, time: float, last_step: float | None) -> None:
        self.heat.restore(steps, time, last_step)


@pipeline("mst")
def run(case: Case, out_dir: Path, timer: log.Timer) -> PipelineResult:
    m, g = case.mst, case.geometry
    T_ref = case.temperature.ambient
    with timer("mesh"):
        domain = build_domain(case)
    log.info(f"mesh: {domain.num_cells()} cells of the quarter capillary")
    mirror = domain.metadata.get("mirror_copies", 1)
    boundaries = boundary_conditions(case, domain)
    regions = region_properties(case, domain)
    fluid = case.fluid.at(T_ref)
    r_in = 0.5 * g.inner_diameter
    glass = regions["glass"].solid()
    beam = CapillaryBeam(m.power * m.max_power, m.waist, r_in, r_in + g.wall_thickness, m.water_absorption,
                         glass.absorption_coefficient or 0.0, wavelength=m.wavelength)
    x = domain.physical_coordinates()
    laser_level = compat.constant(domain.mesh, 0.0)
    absorbed = _absorbed_power_density(domain, beam)
    sources = [(None, laser_level * absorbed)]
    k = conductivities(case, regions, fluid.thermal_conductivity)
    capacity = heat_capacities(case, regions, fluid.density * fluid.heat_capacity)
    kappa = fluid.thermal_diffusivity
    buoyant = any(case.gravity)

    with timer("set-up"):
        if buoyant:
            solver = linear_solver(case, domain, taylor_hood_unknowns_per_vertex(3, scalar_p2_fields=1))
            engine = BuoyantFlowProblem(domain, fluid, case.gravity, thermal_conditions(boundaries),
                                        reference_temperature=T_ref, inertia=case.flow.inertia, heat_sources=sources,
                                        flow_conditions=flow_conditions(boundaries, domain), linear_solver=solver,
                                        linear_rtol=case.solver.linear_rtol(1e-8), fluid_regions=[BUFFER],
                                        conductivity=k, heat_capacity=capacity)
            engine.initial_conduction_guess(T_ref + 0.0 * x[0])
            T, u = engine.temperature(), engine.velocity()
        else:
            solver = linear_solver(case, domain, 8.0)  # P2 nodes per vertex in 3D
            heat = HeatProblem(domain, k, thermal_conditions(boundaries), source=lambda x: sources[0][1],
                               heat_capacity=capacity, degree=2, linear_solver=solver,
                               rtol=case.solver.linear_rtol(1e-10))
            engine = _HeatOnly(heat, T_ref)
            T, u = heat.temperature, None

        free, bound, binding = _partners(case, T_ref)
        target = case.solute.initial_concentration
        ligands = case.binding.ligand if case.binding is not None else [0.0]
        rate = case.binding.association_rate if case.binding is not None else None
        capillaries = []
        for index, ligand in enumerate(ligands, start=1):
            model, partners, fraction = _state_model(free, bound, binding, target, ligand, rate, T_ref)
            transport = InternalStateTransportProblem(domain, T, model, velocity=u, degree=1, reference_temperature=T_ref,
                                                      regions=[BUFFER], moving=True,
                                                      linear_solver="direct" if solver == "direct" else "iterative",
                                                      rtol=case.solver.linear_rtol(1e-10))
            capillaries.append(Capillary(index, ligand, fraction, partners, transport))
        detection = DetectionProfile((0.0, 0.0, 0.0), m.detection_radius, m.depth_of_field, optical_axis=2)
        weight = detection.weight(x)
        # the weight is a Gaussian: a fixed rule instead of the degree UFL estimates for exp
        in_buffer = domain.dx(BUFFER, metadata={"quadrature_degree": 4})
        for capillary in capillaries:
            states = capillary.transport.states()
            emitted = sum(p.brightness_at(T) * c for p, c in zip(capillary.partners, states))
            capillary.signal = compile_form(weight * emitted * in_buffer)
        # the free target at rest: the counts scale
        rest = integrate(domain, weight * target * in_buffer)
        detected_rise = compile_form(weight * (T - T_ref) * in_buffer)
        # what the first capillary's trace would show if no molecule moved: the T-jump alone
        # (populations in local equilibrium at T, total density uniform)
        first = capillaries[0]
        at_rest = sum(p.brightness_at(T) * n for p, n in zip(first.partners, first.transport.model.populations(T)))
        detected_brightness = compile_form(weight * at_rest * in_buffer)
        detected_volume = integrate(domain, weight * in_buffer)

    on, off = m.laser_on, m.laser_on + m.on_duration
    t_end = off + m.off_duration
    schedule = Schedule.from_entries(([[0.0, "off"]] if on > 0 else []) + [[on, "on"], [off, "off"]])
    switches = [t for t in schedule.breakpoints(t_end) if t > 0.0]
    heat_time = m.waist**2 / (4.0 * kappa)  # the focus heats within this
    first_step = case.time.first_step or heat_time / 4.0
    times = graded_step_times(step_times(t_end, t_end / case.time.steps, switches), [0.0] + switches, first_step)
    restart_at = set(switches) | {0.0}
    bdf2 = case.time.scheme == "bdf2"
    steps = len(times) - 1
    log.info(f"MST trace: {len(capillaries)} capillar{'ies' if len(capillaries) > 1 else 'y'}, laser "
             f"{1e3 * beam.power:.3g} mW on {on:g}-{off:g} s, {steps} steps to {t_end:g} s"
             + ("" if buoyant else " (no gravity: no flow)"))

    for capillary in capillaries:
        capillary.transport.initialise(target)
    # the focus, and the axis where the modelled tube ends (at ambient temperature)
    points = np.array([[0.0, 0.0, 0.0], [0.5 * g.length / domain.length_scale, 0.0, 0.0]])
    tree = compat.bounding_box_tree(domain.mesh)
    record = {"time": [], "temperature_focus": [], "temperature_rise_detected": [], "max_flow_speed": [],
              "concentration_focus": [], "concentration_far": [], "brightness_at_rest": []}

    def sample(t: float) -> None:
        record["time"].append(t)
        record["temperature_focus"].append(float(compat.evaluate(T, points[:1], tree)[0]))
        record["temperature_rise_detected"].append(_assemble(detected_rise, domain) / detected_volume)
        record["brightness_at_rest"].append(_assemble(detected_brightness, domain) / detected_volume)
        c_focus, c_far = compat.evaluate(capillaries[0].transport.total_density, points, tree)
        record["concentration_focus"].append(float(c_focus))
        record["concentration_far"].append(float(c_far))
        speed = 0.0
        if u is not None:
            local = float(np.max(np.abs(u.x.array))) if u.x.array.size else 0.0
            speed = domain.comm.allreduce(local, op=MPI.MAX)
        record["max_flow_speed"].append(speed)
        for capillary in capillaries:
            capillary.counts.append(COUNTS_AT_REST * _assemble(capillary.signal, domain) / rest)

    writer = FieldWriter(domain, out_dir / "fields" / "mst.pvd") if case.output.fields else None
    field_times = {off, t_end}
    functions = dict(_prefixed("heat_", engine.restart_functions()))
    for capillary in capillaries:
        functions.update(_prefixed(f"capillary{capillary.index}_", capillary.transport.restart_functions()))
    progress = log.Progress("time step", steps)
    with timer("transient"), checkpoint.active().loop("mst_trace") as loop:
        first_step_index = 1
        if loop.restored is not None:
            saved = loop.restored
            checkpoint.restore_functions(functions, saved.arrays)
            last = float(times[saved.step] - times[saved.step - 1])
            engine.restore(saved.step, saved.time, last)
            for capillary, counts in zip(capillaries, saved.values["counts"]):
                capillary.transport.restore(saved.step, saved.time, last)
                capillary.counts = counts
            record = saved.values["record"]
            _update(engine, T, u)
            first_step_index = saved.step + 1
        else:
            sample(0.0)
        for step in range(first_step_index, steps + 1):
            t0, t1 = float(times[step - 1]), float(times[step])
            laser_level.value = schedule.value(t1, side="left")
            restart = not bdf2 or t0 in restart_at
            engine.advance(t1 - t0, restart=restart, max_iterations=case.flow.newton_max_iterations)
            _update(engine, T, u)
            for capillary in capillaries:
                capillary.transport.advance(t1 - t0, order=1 if restart else 2)
            sample(t1)
            if t1 == off:
                record["at_laser_off"] = _artifact_fields(domain, T, u, free)
            if writer is not None and t1 in field_times:
                writer.write([T, *(c.transport.total_density for c in capillaries[:1]),
                              *([u] if u is not None else [])], t1)
            progress.update(step, f"t = {t1:.4g} s, dT(focus) = {record['temperature_focus'][-1] - T_ref:.3g} K")
            keep(time_steps_done=step, time=t1)
            loop.completed(step, t1, lambda: (checkpoint.function_arrays(functions), {
                "counts": [c.counts for c in capillaries], "record": record}))
    if writer is not None:
        writer.close()

    with timer("analysis"):
        results, units = _analyse(case, capillaries, record, times, on, off, T_ref, heat_time, kappa, beam,
                                  absorbed, mirror, binding, out_dir, domain, free)
    fields = {"temperature": T, "concentration": capillaries[0].transport.total_density}
    if u is not None:
        fields["velocity"] = u
    return PipelineResult(results, units, fields, domain)


def _absorbed_power_density(domain, beam: CapillaryBeam) -> dolfinx.fem.Function:
    """The laser's absorbed power density (W/m^3), interpolated cell by cell (DG2: it
    jumps at the glass), so the heat forms integrate a polynomial, not exponentials."""
    x = domain.physical_coordinates()
    q = liquid_indicator(domain, [BUFFER]) * beam.power_density(x, in_glass=False)
    if beam.alpha_glass > 0.0:
        q += liquid_indicator(domain, ["glass"]) * beam.power_density(x, in_glass=True)
    density = dolfinx.fem.Function(compat.function_space(domain.mesh, "DG", 2), name="laser_power_density")
    compat.interpolate(density, q)
    return density


def _assemble(form, domain) -> float:
    return domain.comm.allreduce(dolfinx.fem.assemble_scalar(form), op=MPI.SUM)


def _prefixed(prefix: str, functions: dict) -> dict:
    return {prefix + key: f for key, f in functions.items()}


def _update(engine, T, u) -> None:
    engine.temperature(out=T)
    if u is not None:
        engine.velocity(out=u)


def _artifact_fields(domain, T, u, free: BindingPartner) -> dict:
    """At laser-off: the largest thermophoretic drift D S_T |grad T| and flow speed."""
    grad_T = ufl.grad(T) / domain.length_scale
    drift = abs(free.diffusivity.diffusivity(T) * free.soret.soret_coefficient(T)) * ufl.sqrt(ufl.dot(grad_T, grad_T))
    # cell by cell (a discontinuous space): grad T jumps between cells
    V = compat.function_space(domain.mesh, "DG", 2)
    in_buffer = liquid_indicator(domain, [BUFFER])
    speed = 0.0 if u is None else max_of(V, in_buffer * ufl.sqrt(ufl.dot(u, u)))
    return {"drift": max_of(V, in_buffer * drift), "speed": speed}


def _time_to_fraction(times: np.ndarray, values: np.ndarray, start: float, end: float, fraction: float) -> float:
    """First time after ``start`` (s from start) at which ``values`` has covered ``fraction``
    of its change from ``start`` to ``end`` (linear interpolation between samples)."""
    inside = (times >= start) & (times <= end)
    t, v = times[inside], values[inside]
    target = v[0] + fraction * (v[-1] - v[0])
    covered = (v - target) * np.sign(v[-1] - v[0]) >= 0.0
    i = int(np.argmax(covered))
    if i == 0:
        return 0.0
    w = (target - v[i - 1]) / (v[i] - v[i - 1])
    return float(t[i - 1] + w * (t[i] - t[i - 1]) - start)


def _analyse(case, capillaries, record, times, on, off, T_ref, heat_time, kappa, beam, absorbed, mirror,
             binding, out_dir, domain, free) -> tuple[dict, dict]:
    """Traces, F_norm, the K_d fit, the time scales and the artifact report; the files."""
    m = case.mst
    t = np.asarray(record["time"])
    target = case.solute.initial_concentration
    # the camera: frames every sampling_interval, photobleaching, noise per frame
    frames = np.arange(0.0, t[-1] * (1.0 + 1e-12), m.sampling_interval)
    bleaching = Photobleaching(m.bleaching_rate).factor(frames)
    noise = np.random.default_rng(m.seed)
    traces = []
    for c in capillaries:
        counts = np.interp(frames, t, c.counts) * bleaching
        counts *= 1.0 + m.noise * noise.standard_normal(frames.size)
        traces.append(analysis.CapillaryTrace(c.index, c.ligand, target, frames, counts, laser_on=on,
                                              mst_power=100.0 * m.power, temperature=T_ref))
    defaults = analysis.MSTWindows()
    windows = analysis.MSTWindows(cold=tuple(m.cold_window), hot=tuple(m.hot_window or defaults.hot),
                                  temperature_jump=tuple(m.t_jump_window or defaults.temperature_jump))
    normalised = analysis.normalise_traces(traces, windows)
    i_off = int(np.argmin(np.abs(t - off)))
    rise_focus = np.asarray(record["temperature_focus"]) - T_ref
    rise_detected = np.asarray(record["temperature_rise_detected"])
    c_focus, c_far = np.asarray(record["concentration_focus"]), np.asarray(record["concentration_far"])
    D = float(free.diffusivity.diffusivity(T_ref))
    # the Soret coefficient an experimenter infers from the first trace, with the dye's
    # T-jump and the detected temperature rise calibrated exactly: the depletion seen in the
    # hot window over that rise (in a cell at rest and steady state: the true S_T, up to the
    # averaging over the detection volume)
    first = capillaries[0]
    brightness_at_rest = np.interp(frames, t, record["brightness_at_rest"])
    depletion_seen = traces[0].fluorescence / (COUNTS_AT_REST * brightness_at_rest)
    rise_detected_frames = np.interp(frames, t, rise_detected)
    seen = float(analysis.window_mean(frames - on, depletion_seen, *windows.hot))
    rise_hot = float(analysis.window_mean(frames - on, rise_detected_frames, *windows.hot))
    S_true = float(first.transport.model.soret_coefficient(T_ref))
    S_apparent = -math.log(seen) / rise_hot if rise_hot > 0 else math.nan
    artifact = record.get("at_laser_off", {"drift": math.nan, "speed": math.nan})
    results = {
        "laser_power": beam.power, "laser_power_absorbed": mirror * integrate(domain, absorbed * domain.dx())
        * domain.length_scale**3, "laser_power_absorbed_on_axis": beam.power * beam.absorbed_fraction_on_axis(),
        "temperature_rise_focus": float(rise_focus[i_off]),
        "temperature_rise_detected": float(rise_detected[i_off]),
        "temperature_jump_time_50": _time_to_fraction(t, rise_focus, on, off, 0.5),
        "temperature_jump_time_90": _time_to_fraction(t, rise_focus, on, off, 0.9),
        "heat_time_focus": heat_time, "heat_time_capillary": (0.5 * case.geometry.inner_diameter) ** 2 / kappa,
        "thermophoresis_half_time": _time_to_fraction(t, c_focus, on, off, 0.5),
        "diffusion_time_focus": m.waist**2 / D,
        "ligand_concentration": [c.ligand for c in capillaries],
        "fraction_bound": [c.fraction_bound for c in capillaries],
        "f_norm": np.atleast_1d(normalised.f_norm).tolist(),
        "f_norm_t_jump": np.atleast_1d(normalised.f_norm_temperature_jump).tolist(),
        "f_cold": np.atleast_1d(normalised.cold).tolist(),
        "apparent_soret_coefficient": S_apparent, "soret_coefficient_true": S_true,
        "apparent_soret_rel_error": abs(S_apparent - S_true) / abs(S_true) if S_true else math.nan,
        "max_flow_speed": artifact["speed"], "thermophoretic_drift_speed": artifact["drift"],
        "flow_to_drift_ratio": artifact["speed"] / artifact["drift"] if artifact["drift"] > 0 else math.nan,
        "time_steps": len(times) - 1,
    }
    units = {"laser_power": "W", "laser_power_absorbed": "W", "temperature_rise_focus": "K",
             "temperature_rise_detected": "K", "temperature_jump_time_50": "s", "temperature_jump_time_90": "s",
             "heat_time_focus": "s", "heat_time_capillary": "s", "laser_power_absorbed_on_axis": "W",
             "thermophoresis_half_time": "s", "diffusion_time_focus": "s", "ligand_concentration": "mol/m^3",
             "f_norm": "per mille", "f_norm_t_jump": "per mille", "f_cold": "counts",
             "apparent_soret_coefficient": "1/K", "soret_coefficient_true": "1/K", "max_flow_speed": "m/s",
             "thermophoretic_drift_speed": "m/s"}
    if binding is None:  # the free target alone: its depletion at the focus against Slotboom's steady law
        soret = free.soret
        results["depletion_focus"] = float(c_focus[i_off] / c_far[i_off])
        T_focus, T_far = record["temperature_focus"][i_off], T_ref
        results["depletion_expected"] = math.exp(-(float(soret.soret_potential(T_focus))
                                                   - float(soret.soret_potential(T_far))))
    fit = None
    if binding is not None and len(capillaries) >= 4:
        ligand = np.array([c.ligand for c in capillaries])
        positive = ligand > 0
        fit = analysis.fit_dissociation_constant(ligand[positive], np.atleast_1d(normalised.f_norm)[positive], target)
        results.update({"dissociation_constant_fit": fit.dissociation_constant,
                        # an end the data do not bound: null (JSON has no infinity)
                        "dissociation_constant_ci": [v if 0.0 < v < math.inf else None for v in fit.confidence_interval],
                        "dissociation_constant_true": binding.dissociation_constant,
                        "dissociation_constant_hot": float(binding.dissociation_constant_at(
                            T_ref + results["temperature_rise_detected"])),
                        "f_norm_unbound_fit": fit.unbound, "f_norm_bound_fit": fit.bound,
                        "f_norm_amplitude": fit.amplitude, "fit_residual_rms": fit.residual_rms})
        units.update({key: "mol/m^3" for key in ("dissociation_constant_fit", "dissociation_constant_ci",
                                                  "dissociation_constant_true", "dissociation_constant_hot")})
    if domain.comm.rank == 0:
        analysis.write_traces_csv(out_dir / "traces.csv", traces)
        analysis.write_traces_xlsx(out_dir / "traces.xlsx", traces)
        analysis.write_dose_response_csv(out_dir / "dose_response.csv", traces, np.atleast_1d(normalised.f_norm))
        if case.output.pictures:
            analysis.plot_traces(out_dir / "traces.png", traces, windows)
            if fit is not None:
                analysis.plot_dose_response(out_dir / "dose_response.png", ligand[positive],
                                            np.atleast_1d(normalised.f_norm)[positive], fit)
    log.info(f"MST: dT focus {results['temperature_rise_focus']:.3g} K (detected {results['temperature_rise_detected']:.3g} K), "
             f"F_norm {results['f_norm'][0]:.1f} permille, apparent S_T {S_apparent:.4g} 1/K (true {S_true:.4g})"
             + (f", K_d {fit.dissociation_constant:.4g} mol/m^3 (true {binding.dissociation_constant:.4g})"
                if fit is not None else ""))
    return results, units
