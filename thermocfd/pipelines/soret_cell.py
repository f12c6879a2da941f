"""Soret cell: solute between a hot and a cold wall, no flow.

Steady conduction gives T(x); the Slotboom transport solver gives c, either the steady
state (mass fixed by the initial concentration) or the transient from a uniform start.
Reported: ``c_ratio_cold_hot`` (wall averages), ``soret_coefficient_fit`` (least-squares
fit of ln c against T over the cell), ``mass_change_rel``, for transients the slowest
``relaxation_time``, each next to its analytic reference; fields for ParaView, the
profile as CSV and PNG.
"""

from __future__ import annotations

import math
from pathlib import Path

import dolfinx.fem
import numpy as np
import ufl
from mpi4py import MPI

from .. import checkpoint, log
from ..case import Case
from ..fem import compat
from ..fem.entropy import entropy_production
from ..fem.heat import DufourCoupling, HeatProblem
from ..fem.onsager import solve_soret_dufour_steady
from ..fem.io import FieldWriter
from ..fem.mesh import Domain, mesh_bounds
from ..fem.quadrature import compile_form
from ..physics import analytic
from ..physics import ConstantSoret
from ..physics.onsager import soret_cell_entropy_production_rate
from ..presets import boundary_conditions, build_domain as preset_domain, region_properties
from . import keep, pipeline
from .common import PipelineResult, drift_velocity, integrate, linear_solver, nodes_per_vertex
from .conditions import conductivities, region_heaters, require_names, thermal_conditions
from .states import (cell_length, cell_transport, fast_switching_results, finite_rate_reference, reference_profile,
                     state_results)


def build_domain(case: Case) -> Domain:
    """The cell's mesh (preset or file); a file must name the hot and the cold wall."""
    domain = preset_domain(case)
    require_names(domain, ("hot", "cold"), f"kind {case.kind!r}")
    return domain


def fluid_regions(case: Case, domain: Domain) -> list[str] | None:
    """The liquid's regions (None: the whole mesh is liquid)."""
    regions = region_properties(case, domain)
    fluid = [name for name, spec in regions.items() if spec.is_fluid]
    return None if len(fluid) == len(domain.regions) else fluid


def cell_conductivity(case: Case, domain: Domain):
    """The liquid's conductivity at the mean wall temperature, or a table per region."""
    t = case.temperature
    regions = region_properties(case, domain)
    k_fluid = case.fluid.at(0.5 * (t.hot + t.cold)).thermal_conductivity
    return conductivities(case, regions, k_fluid) if len(regions) > 1 else k_fluid


def cell_heat_problem(case: Case, domain: Domain, dufour: DufourCoupling | None = None) -> HeatProblem:
    """Conduction with the case's thermal boundary conditions (hot and cold walls, the rest
    insulated, unless the boundary table says otherwise), per-region conductivity; with
    ``dufour`` the solute's Dufour heat flux too."""
    heaters, sources = region_heaters(region_properties(case, domain))
    return HeatProblem(domain, cell_conductivity(case, domain),
                       thermal_conditions(boundary_conditions(case, domain)) + heaters,
                       source=_source_table(sources, domain) if sources else 0.0,
                       degree=case.mesh.degree,
                       linear_solver=linear_solver(case, domain, nodes_per_vertex(case.mesh.degree, domain.dim)),
                       rtol=case.solver.linear_rtol(1e-12), dufour=dufour)


def cell_temperature(case: Case, domain: Domain):
    """Steady conduction in the cell (:func:`cell_heat_problem`)."""
    T = cell_heat_problem(case, domain).solve_steady()
    log.info(f"temperature: {case.temperature.hot:.2f} K (hot) to {case.temperature.cold:.2f} K (cold)")
    return T


def _source_table(sources, domain: Domain) -> dict[str, float]:
    table = {name: 0.0 for name in domain.regions}
    table.update(dict(sources))
    return table


def liquid_volume(domain: Domain, liquid: list[str] | None) -> float:
    """Volume of the liquid (m^3; m^2 in 2D)."""
    dx = domain.dx() if liquid is None else sum((domain.dx(name) for name in liquid[1:]), domain.dx(liquid[0]))
    return integrate(domain, 1.0 * dx) * domain.length_scale**domain.dim


def wall_average(domain: Domain, field, wall: str) -> float:
    ds = domain.ds(wall)
    return integrate(domain, field * ds) / integrate(domain, 1.0 * ds)


def fit_soret_coefficient(domain: Domain, c, T) -> float:
    """Volume-weighted least-squares slope of ln c against T, with the sign of S_T."""
    dx = domain.dx()
    ln_c = ufl.ln(ufl.max_value(c, 1e-300))  # P2 may dip below zero between nodes
    s = [integrate(domain, f * dx) for f in (1.0 + 0 * T, T, T * T, ln_c, T * ln_c)]
    volume, sum_T, sum_TT, sum_lnc, sum_T_lnc = s
    slope = (volume * sum_T_lnc - sum_T * sum_lnc) / (volume * sum_TT - sum_T**2)
    return -slope


def decay_rate(distances: np.ndarray, dt: float, order: int) -> tuple[float, int]:
    """Slowest decay rate from the late-time ratios of ||c - c_inf||, inverting the
    BDF amplification factor so that the time step does not bias the estimate."""
    d = np.asarray(distances)
    usable = np.nonzero(d > 1e-9 * d[0])[0]
    last = usable[-1] if usable.size else 1
    first = max(1, int(0.6 * last))
    ratios = d[first + 1:last + 1] / d[first:last]
    if ratios.size == 0:
        return float("nan"), 0
    if order == 1:
        rates = (1.0 / ratios - 1.0) / dt
    else:
        rates = (2.0 / ratios - 0.5 / ratios**2 - 1.5) / dt
    return float(np.median(rates)), int(ratios.size)


@pipeline("soret_cell")
def run(case: Case, out_dir: Path, timer: log.Timer) -> PipelineResult:
    t, solute = case.temperature, case.solute
    degree = case.mesh.degree
    with timer("mesh"):
        domain = build_domain(case)
    log.info(f"mesh: {domain.num_cells()} cells, {domain.dim}D, P{degree}")

    with timer("heat"):
        T = cell_temperature(case, domain)

    liquid = fluid_regions(case, domain)
    transport = cell_transport(case, domain, T, liquid)
    model = solute.internal_states
    volume = liquid_volume(domain, liquid)
    c0 = solute.initial_concentration
    mass0 = c0 * volume
    with timer("transport_steady"):
        transport.solve_steady(total_mass=mass0)
    c = transport.concentration
    results: dict = {}
    units: dict = {}
    if solute.dufour:
        with timer("dufour"):
            _dufour_steady(case, domain, T, transport, mass0, results, units)
    steady = c.copy()
    mass_change = abs(transport.total_mass() - mass0) / mass0
    keep(c_ratio_cold_hot_steady=wall_average(domain, c, "cold") / wall_average(domain, c, "hot"),
         mass_change_rel_steady=mass_change)

    fields_dir = out_dir / "fields"
    writer = FieldWriter(domain, fields_dir / "soret_cell.pvd") if case.output.fields else None
    T_out = dolfinx.fem.Function(c.function_space, name="temperature")
    compat.interpolate(T_out, T)
    v_out = drift_velocity(domain, T, solute, degree=degree)

    if model is None:
        sigma = entropy_production(domain, T, transport.concentration, cell_conductivity(case, domain),
                                   solute.diffusivity, solute.soret_coefficient)
    else:  # the states have no thermophoresis of their own: their entropy is the cycle's
        sigma = entropy_production(domain, T, transport.concentration, cell_conductivity(case, domain),
                                   solute.diffusivity_law, ConstantSoret(0.0),
                                   flux=ufl.as_vector([0.0] * domain.dim), cycle=transport.entropy_production())

    def snapshot(time: float) -> None:
        if writer is not None:
            extra = [] if model is None else transport.concentrations + list(transport.flux_fields().values())
            writer.write([T_out, transport.concentration, v_out, sigma.field(degree)] + extra, time)

    decay = None
    if case.time.transient:
        mass_change, decay = _transient(case, domain, transport, steady, mass0, snapshot, timer, results, units)
    else:
        snapshot(0.0)
    if writer is not None:
        writer.close()
    results.update(_entropy_results(case, domain, sigma, liquid, volume), num_cells=domain.num_cells())
    units.update({key: "W/K" if domain.dim == 3 else "W/(K m)" for key in results if key.startswith("entropy")})

    c_hot, c_cold = wall_average(domain, c, "hot"), wall_average(domain, c, "cold")
    soret = solute.soret_law
    reference = None
    if model is None:
        expected_ratio = analytic.soret_cell_concentration_ratio(soret, t.hot, t.cold)
    else:
        length = cell_length(domain)
        results.update(fast_switching_results(case, length))
        if is_one_dimensional(case, domain, liquid):
            with timer("reference_1d"):
                reference = finite_rate_reference(case, length)
        results.update(state_results(transport, reference, volume / length))
        if "entropy_production_steady_1d" in results and reference is not None:
            results["entropy_production_steady_1d"] += results["entropy_production_cycle_1d"]
        expected_ratio = reference.c_ratio_cold_hot if reference is not None else results["c_ratio_fast_switching"]
    results.update({
        "c_ratio_cold_hot": c_cold / c_hot,
        "c_ratio_expected": expected_ratio,
        "c_ratio_rel_error": abs(c_cold / c_hot - expected_ratio) / expected_ratio,
        "c_hot": c_hot,
        "c_cold": c_cold,
        "soret_coefficient_fit": fit_soret_coefficient(domain, c, T),
        "soret_coefficient_mean_temperature": float(soret.soret_coefficient(0.5 * (t.hot + t.cold))),
        "mass_change_rel": mass_change,
        "total_mass": transport.total_mass(),
        "temperature_difference": t.hot - t.cold,
        "num_dofs": transport.V.dofmap.index_map.size_global * transport.V.dofmap.index_map_bs,
    })
    units.update({"c_ratio_cold_hot": "1", "c_ratio_expected": "1", "c_hot": "mol/m^3", "c_cold": "mol/m^3",
                  "soret_coefficient_fit": "1/K", "soret_coefficient_mean_temperature": "1/K",
                  "mass_change_rel": "1", "total_mass": "mol" if domain.dim == 3 else "mol/m",
                  "temperature_difference": "K"})

    profile = _profile(case, domain, c, T, reference)
    final_is_steady = not case.time.transient
    if final_is_steady:
        results["profile_max_rel_error"] = float(np.max(np.abs(profile["c"] / profile["c_reference"] - 1)))
        units["profile_max_rel_error"] = "1"
    _write_profile(out_dir, profile, case, final_is_steady, decay, finite_rate=reference is not None)
    return PipelineResult(results, units, {"temperature": T, "concentration": c}, domain)


def _dufour_steady(case: Case, domain: Domain, T, transport, mass0: float, results: dict, units: dict) -> None:
    """Both ways coupled: the solute's Dufour heat flux in the heat equation (a Picard loop
    with the transport solver); T and c are updated in place."""
    solute = case.solute
    uncoupled = T.x.array.copy()
    heat = cell_heat_problem(case, domain, DufourCoupling(transport.concentration, solute.diffusivity,
                                                          solute.soret_coefficient))
    coupled = solve_soret_dufour_steady(heat, transport, total_mass=mass0)
    change = domain.comm.allreduce(float(np.max(np.abs(T.x.array - uncoupled), initial=0.0)), op=MPI.MAX)
    log.info(f"Dufour coupling: {coupled.iterations} sweeps, temperature changed by at most {change:.3g} K")
    results.update(dufour_iterations=coupled.iterations, dufour_temperature_change_max=change)
    units["dufour_temperature_change_max"] = "K"


def is_one_dimensional(case: Case, domain: Domain, liquid) -> bool:
    """A liquid-only preset cell without heaters and with insulated side walls: T and c
    depend on x alone, so the 1D references hold."""
    heaters, sources = region_heaters(region_properties(case, domain))
    side_walls_insulated = all(spec.thermal is None or spec.thermal.type == "insulated"
                               for name, spec in boundary_conditions(case, domain).items() if name not in ("hot", "cold"))
    return liquid is None and case.shape == "two_wall_cell" and not heaters and not sources and side_walls_insulated


def _entropy_results(case: Case, domain: Domain, sigma, liquid, volume: float) -> dict:
    """The entropy production's integrals; in a liquid-only preset cell without heaters next
    to the 1D value of the steady closed cell (k (T_hot - T_cold)^2 / (L T_hot T_cold) per
    wall area, minus the solute's R D S_T^2 c_mean dT^2 / L; side walls insulated)."""
    out = {"entropy_production_total": sigma.rate("total"), "entropy_production_thermal": sigma.rate("thermal"),
           "entropy_production_solute": sigma.rate("solute")}
    if is_one_dimensional(case, domain, liquid):
        t, solute = case.temperature, case.solute
        lo, hi = mesh_bounds(domain.mesh)
        length = (hi[0] - lo[0]) * domain.length_scale
        T_mean = 0.5 * (t.hot + t.cold)
        # internal states have no thermodiffusion of their own: their share is the cycle's
        ordinary = solute.internal_states is None
        per_area = soret_cell_entropy_production_rate(
            cell_conductivity(case, domain), t.hot, t.cold, length,
            diffusivity=float(solute.diffusivity.diffusivity(T_mean)) if ordinary else 0.0,
            soret_coefficient=float(solute.soret_coefficient.soret_coefficient(T_mean)) if ordinary else 0.0,
            mean_concentration=solute.initial_concentration)
        out["entropy_production_steady_1d"] = per_area * volume / length
    return out


def _transient(case, domain, transport, steady, mass0, snapshot, timer, results, units):
    """Uniform start -> time steps; returns (max mass change, decay data)."""
    g, t, solute = case.geometry, case.temperature, case.solute
    T_mean = 0.5 * (t.hot + t.cold)
    D_mean = float(solute.diffusivity_law.diffusivity(T_mean))
    S_mean = float(solute.soret_law.soret_coefficient(T_mean))
    tau_reference = analytic.soret_cell_relaxation_time(D_mean, S_mean, t.hot - t.cold, g.length)
    t_end = case.time.end if case.time.end is not None else 4.0 * tau_reference
    steps = case.time.steps
    dt = t_end / steps
    order = 2 if case.time.scheme == "bdf2" else 1
    transport.initialise(solute.initial_concentration, total_mass=mass0)
    mass_initial = transport.total_mass()
    difference = transport.concentration - steady
    distance_form = compile_form(difference * difference * transport.dx)

    def distance() -> float:
        local = dolfinx.fem.assemble_scalar(distance_form)
        return math.sqrt(domain.comm.allreduce(local, op=MPI.SUM))

    distances = [distance()]
    max_change = 0.0
    snapshot_every = max(1, steps // case.output.snapshots)
    progress = log.Progress("time step", steps)
    log.info(f"transient: {steps} steps of {dt:.4g} s to t = {t_end:.4g} s "
             f"(relaxation time estimate {tau_reference:.4g} s)")
    with timer("transport_transient"), checkpoint.active().loop("transport_transient") as loop:
        first = 1
        if loop.restored is not None:
            first = _restore_transport(transport, loop.restored) + 1
            distances, max_change = loop.restored.values["distances"], loop.restored.values["max_change"]
        # a resumed run's field files start at the step it resumed from
        snapshot(transport.time)
        for step in range(first, steps + 1):
            transport.advance(dt, order=order)
            distances.append(distance())
            max_change = max(max_change, abs(transport.total_mass() - mass_initial) / mass_initial)
            if step % snapshot_every == 0 or step == steps:
                snapshot(transport.time)
            progress.update(step, f"t = {transport.time:.4g} s, |c - c_steady| = {distances[-1]:.3e}, "
                                  f"mass change {max_change:.1e}")
            keep(time_steps_done=step, time=transport.time, distance_to_steady_rel=distances[-1] / distances[0],
                 mass_change_rel=max_change)
            loop.completed(step, transport.time, lambda: (_transport_arrays(transport),
                                                          {"distances": distances, "max_change": max_change}))
    rate, used = decay_rate(np.array(distances), dt, order)
    results.update({
        "relaxation_time": 1.0 / rate if rate > 0 else float("nan"),
        "relaxation_time_reference": tau_reference,
        "relaxation_time_rel_error": abs(1.0 / rate - tau_reference) / tau_reference if rate > 0 else float("nan"),
        "relaxation_fit_steps": used,
        "end_time": t_end,
        "time_steps": steps,
        "distance_to_steady_final_rel": distances[-1] / distances[0],
    })
    units.update({"relaxation_time": "s", "relaxation_time_reference": "s", "end_time": "s"})
    return max_change, (np.arange(len(distances)) * dt, np.array(distances))


def _transport_arrays(transport) -> dict[str, np.ndarray]:
    """The transport solver's restart state on this rank (its step and time are the loop's)."""
    return checkpoint.function_arrays(transport.restart_functions())


def _restore_transport(transport, saved: checkpoint.Checkpoint) -> int:
    """Put a checkpointed state back into the solver; returns the step it was taken at."""
    checkpoint.restore_functions(transport.restart_functions(), saved.arrays)
    transport.restore(saved.step, saved.time)
    return saved.step


def _profile(case: Case, domain: Domain, c, T, reference=None) -> dict[str, np.ndarray]:
    """c and T along the cell's centre line, next to the analytic steady profile (with
    internal states: the finite-rate 1D reference, or the fast-switching limit)."""
    t = case.temperature
    lo, hi = mesh_bounds(domain.mesh)
    centre = 0.5 * (lo + hi)
    xs = np.linspace(lo[0], hi[0], 101)
    points = np.tile(centre, (xs.size, 1))
    points[:, 0] = xs
    x_phys = (xs - lo[0]) * domain.length_scale
    c_values = compat.evaluate(c, points)
    T_values = compat.evaluate(T, points)
    length = (hi[0] - lo[0]) * domain.length_scale

    def temperature_of_x(x):
        return t.hot + (t.cold - t.hot) * np.asarray(x) / length

    if reference is not None:
        expected = reference_profile(reference, x_phys)
    else:
        expected = analytic.soret_cell_profile(case.solute.soret_law, temperature_of_x, length, x_phys,
                                               case.solute.initial_concentration)
    return {"x": x_phys, "T": T_values, "c": c_values, "c_reference": expected}


def _write_profile(out_dir: Path, profile: dict, case: Case, steady: bool, decay, finite_rate: bool = False) -> None:
    if MPI.COMM_WORLD.rank != 0:
        return
    from ..output import write_atomic

    header = "x_m,temperature_K,concentration,concentration_steady_analytic"
    rows = np.column_stack([profile["x"], profile["T"], profile["c"], profile["c_reference"]])
    lines = [header] + [",".join(f"{v:.10g}" for v in row) for row in rows]
    write_atomic(out_dir / "profile.csv", "\n".join(lines) + "\n")
    if case.output.pictures:
        from ..plots import soret_profile_figure

        options = {"reference_label": "steady, finite-rate 1D reference"} if finite_rate else {}
        soret_profile_figure(profile, out_dir / "soret_profile.png", steady=steady, decay=decay, **options)
