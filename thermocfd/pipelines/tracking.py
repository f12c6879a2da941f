"""Brownian colloids tracked in the FEM fields of a two-wall (Soret) cell.

The temperature comes from the heat solver; D(T) and D_T(T) = S_T D from the solute's
laws, sampled once onto a structured grid; many point particles then follow the Ito SDE
``dX = [u - D_T grad T + grad D + F/zeta] dt + sqrt(2 D) dW`` on the GPU (CuPy) or the
compiled CPU path. The steady histogram is set against the Eulerian steady state of the
transport solver on the same mesh: ``c_ratio_cold_hot`` from both, and the largest
deviation of the histogram in standard errors.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from mpi4py import MPI

from .. import log
from ..case import Case
from ..fem import compat
from ..fem.mesh import mesh_bounds
from ..physics import analytic
from ..tracking import grid_fields_from_dolfinx, run_tracking
from ..tracking.outputs import concentration_profile, soret_coefficient_from_profile, write_particle_series
from ..tracking.sampling import interpolation_error_estimate
from ..presets import boundary_conditions
from . import keep, pipeline
from .common import PipelineResult, drift_velocity, tracking_config
from .soret_cell import build_domain, cell_temperature, fluid_regions, is_one_dimensional, liquid_volume, wall_average
from .states import cell_transport, fast_switching_results, finite_rate_reference


CLOUD_PARTICLES = 2000
"""Particles in each frame of the particle series (at least tracking.trajectories)."""


@pipeline("tracking")
def run(case: Case, out_dir: Path, timer: log.Timer) -> PipelineResult:
    t, solute, spec = case.temperature, case.solute, case.tracking
    with timer("mesh"):
        domain = build_domain(case)
    with timer("heat"):
        T = cell_temperature(case, domain)

    model = solute.internal_states
    with timer("eulerian"):
        liquid = fluid_regions(case, domain)
        eulerian = cell_transport(case, domain, T, liquid)
        eulerian.solve_steady(total_mass=solute.initial_concentration * liquid_volume(domain, liquid))
        c = eulerian.concentration
        ratio_eulerian = wall_average(domain, c, "cold") / wall_average(domain, c, "hot")
    keep(c_ratio_eulerian=ratio_eulerian)

    with timer("sampling"):
        # with internal states each state's D comes from its own law at the node T, and
        # no state has a thermophoretic drift of its own
        fields = grid_fields_from_dolfinx(T, solute.diffusivity_law, None if model else solute.soret_coefficient,
                                          length_scale=domain.length_scale, field_tolerance=spec.field_tolerance)
    log.info(f"tracking grid: {fields.shape} nodes, spacing {fields.spacing[0]:.3g} m")
    grid = {"tracking_grid_spacing": float(np.max(fields.spacing)),
            "tracking_field_error_estimate": max(interpolation_error_estimate(fields).values(), default=0.0)}

    lo, hi = mesh_bounds(domain.mesh)
    length = (hi[0] - lo[0]) * domain.length_scale
    T_mean = 0.5 * (t.hot + t.cold)
    tau = analytic.soret_cell_relaxation_time(float(solute.diffusivity_law.diffusivity(T_mean)),
                                              float(solute.soret_law.soret_coefficient(T_mean)),
                                              t.hot - t.cold, length)
    duration = spec.duration or 5.0 * tau
    config = tracking_config(case, domain, fields, duration, boundary_conditions(case, domain),
                             case.fluid.at(T_mean).density, cell_axis=0, histogram_bins=spec.bins,
                             record_particles=spec.trajectories, internal_states=model)
    steps = config.n_steps
    if case.output.fields:  # frames of a subsample for the particle series, fields/particles.pvd
        config.record_particles = max(spec.trajectories, min(spec.particles, CLOUD_PARTICLES))
    if spec.trajectories or case.output.fields:
        config.record_every = max(1, steps // (100 if spec.trajectories else 20))
    log.info(f"tracking {spec.particles} particles for {duration:.4g} s "
             f"({duration / tau:.1f} relaxation times)")
    with timer("tracking"):
        result = run_tracking(fields, config, comm=MPI.COMM_WORLD)
    summary = dict(result.summary)
    log.info(f"tracked {summary['tracking_steps']} steps on {summary['tracking_backend']}: "
             f"{summary['tracking_particle_steps_per_s']:.3g} particle-steps/s")

    # histogram against the Eulerian solution averaged over the same bins
    eulerian_bins = _bin_means(c, lo, hi, spec.bins)  # collective
    eulerian_bins /= eulerian_bins.mean()
    temperature_bins = _bin_means(T, lo, hi, spec.bins)
    deviation, fit = np.nan, None
    profile = None
    if MPI.COMM_WORLD.rank == 0:
        centres, histogram, stderr = concentration_profile(result.state, 0, lo[0] * domain.length_scale,
                                                           hi[0] * domain.length_scale, spec.bins)
        deviation = float(np.max(np.abs(histogram - eulerian_bins) / np.maximum(stderr, 1e-300)))
        fit = soret_coefficient_from_profile(temperature_bins, histogram, stderr)
        profile = (centres, histogram, stderr, eulerian_bins)
        if spec.trajectories and result.recorder is not None:
            result.recorder.write_vtp(out_dir / "fields" / "trajectories.vtp", max_paths=spec.trajectories)
        if case.output.fields and result.recorder is not None:
            write_particle_series(result.recorder.cloud_frames(), out_dir / "fields" / "particles.pvd")
    deviation, fit = MPI.COMM_WORLD.bcast((deviation, fit), root=0)
    summary["soret_coefficient_fit"], summary["soret_coefficient_fit_stderr"] = fit

    results = {
        **summary,
        **grid,
        "c_ratio_eulerian": ratio_eulerian,
        "histogram_max_deviation_stderr": deviation,
        "relaxation_time_reference": tau,
    }
    if model is None:
        results["c_ratio_expected"] = analytic.soret_cell_concentration_ratio(solute.soret_coefficient, t.hot, t.cold)
    else:
        results.update(fast_switching_results(case, length))
        results["c_ratio_expected"] = results["c_ratio_fast_switching"]
        if is_one_dimensional(case, domain, liquid):
            with timer("reference_1d"):
                reference = finite_rate_reference(case, length)
            results["c_ratio_finite_rate_1d"] = results["c_ratio_expected"] = reference.c_ratio_cold_hot
            results["soret_coefficient_finite_rate_1d"] = reference.soret_coefficient_fit
    units = {"msd_diffusivity": "m^2/s", "soret_coefficient_fit": "1/K", "mean_drift_velocity": "m/s", "c_ratio_cold_hot": "1",
             "c_ratio_eulerian": "1", "histogram_max_deviation_stderr": "standard errors",
             "tracking_dt": "s", "tracking_particle_steps_per_s": "1/s", "relaxation_time_reference": "s",
             "tracking_grid_spacing": "m", "tracking_field_error_estimate": "1"}
    if profile is not None and case.output.pictures:
        from ..plots import histogram_figure

        histogram_figure(*profile, out_dir / "tracking_histogram.png")
    if case.output.fields:
        from ..fem.io import FieldWriter

        with FieldWriter(domain, out_dir / "fields" / "tracking.pvd") as writer:
            temperature = _on_space(T, c.function_space)
            writer.write([temperature, c, drift_velocity(domain, T, solute, degree=case.mesh.degree)])
    return PipelineResult(results, units, {"temperature": T, "concentration": c}, domain)


def _on_space(function, V):
    import dolfinx.fem

    out = dolfinx.fem.Function(V, name="temperature")
    compat.interpolate(out, function)
    return out


def _bin_means(f, lo, hi, bins: int, samples: int = 40) -> np.ndarray:
    """Mean of a field (c, T) over each histogram bin along x (midpoint rule on the centre
    line: the cell's fields depend on x alone)."""
    centre = 0.5 * (lo + hi)
    edges = np.linspace(lo[0], hi[0], bins + 1)
    xs = (edges[:-1, None] + (np.arange(samples) + 0.5) / samples * np.diff(edges)[:, None]).ravel()
    points = np.tile(centre, (xs.size, 1))
    points[:, 0] = xs
    return compat.evaluate(f, points).reshape(bins, samples).mean(axis=1)
