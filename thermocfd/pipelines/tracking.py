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
from ..fem.transport import SoretTransportProblem
from ..physics import analytic
from ..tracking import grid_fields_from_dolfinx, run_tracking
from ..tracking.outputs import concentration_profile, write_particle_cloud
from ..presets import boundary_conditions
from . import keep, pipeline
from .common import PipelineResult, drift_velocity, linear_solver, nodes_per_vertex, tracking_config
from .soret_cell import build_domain, cell_temperature, fluid_regions, liquid_volume, wall_average


@pipeline("tracking")
def run(case: Case, out_dir: Path, timer: log.Timer) -> PipelineResult:
    t, solute, spec = case.temperature, case.solute, case.tracking
    with timer("mesh"):
        domain = build_domain(case)
    with timer("heat"):
        T = cell_temperature(case, domain)

    with timer("eulerian"):
        liquid = fluid_regions(case, domain)
        eulerian = SoretTransportProblem(domain, T, solute.diffusivity, solute.soret_coefficient,
                                         degree=case.mesh.degree, reference_temperature=t.hot,
                                         linear_solver=linear_solver(case, domain,
                                                                     nodes_per_vertex(case.mesh.degree, domain.dim)),
                                         rtol=case.solver.linear_rtol(1e-12),
                                         **({"regions": liquid} if liquid else {}))
        c = eulerian.solve_steady(total_mass=solute.initial_concentration * liquid_volume(domain, liquid))
        ratio_eulerian = wall_average(domain, c, "cold") / wall_average(domain, c, "hot")
    keep(c_ratio_eulerian=ratio_eulerian)

    with timer("sampling"):
        fields = grid_fields_from_dolfinx(T, solute.diffusivity, solute.soret_coefficient,
                                          length_scale=domain.length_scale)
    log.info(f"tracking grid: {fields.shape} nodes, spacing {fields.spacing[0]:.3g} m")

    lo, hi = mesh_bounds(domain.mesh)
    length = (hi[0] - lo[0]) * domain.length_scale
    T_mean = 0.5 * (t.hot + t.cold)
    tau = analytic.soret_cell_relaxation_time(float(solute.diffusivity.diffusivity(T_mean)),
                                              float(solute.soret_coefficient.soret_coefficient(T_mean)),
                                              t.hot - t.cold, length)
    duration = spec.duration or 5.0 * tau
    config = tracking_config(case, domain, fields, duration, boundary_conditions(case, domain),
                             case.fluid.at(T_mean).density, cell_axis=0, histogram_bins=spec.bins,
                             record_particles=spec.trajectories)
    steps = config.n_steps
    if spec.trajectories:
        config.record_every = max(1, steps // 100)
    log.info(f"tracking {spec.particles} particles for {duration:.4g} s "
             f"({duration / tau:.1f} relaxation times)")
    with timer("tracking"):
        result = run_tracking(fields, config, comm=MPI.COMM_WORLD)
    summary = dict(result.summary)
    log.info(f"tracked {summary['tracking_steps']} steps on {summary['tracking_backend']}: "
             f"{summary['tracking_particle_steps_per_s']:.3g} particle-steps/s")

    # histogram against the Eulerian solution averaged over the same bins
    eulerian_bins = _bin_averages(c, lo, hi, spec.bins)  # collective
    deviation = np.nan
    profile = None
    if MPI.COMM_WORLD.rank == 0:
        centres, histogram, stderr = concentration_profile(result.state, 0, lo[0] * domain.length_scale,
                                                           hi[0] * domain.length_scale, spec.bins)
        deviation = float(np.max(np.abs(histogram - eulerian_bins) / np.maximum(stderr, 1e-300)))
        profile = (centres, histogram, stderr, eulerian_bins)
        if spec.trajectories and result.recorder is not None:
            result.recorder.write_vtp(out_dir / "fields" / "trajectories.vtp")
        if case.output.fields:
            write_particle_cloud(result.state, result.initial_positions, out_dir / "fields" / "particles.vtp")
    deviation = MPI.COMM_WORLD.bcast(deviation, root=0)

    results = {
        **summary,
        "c_ratio_eulerian": ratio_eulerian,
        "c_ratio_expected": analytic.soret_cell_concentration_ratio(solute.soret_coefficient, t.hot, t.cold),
        "histogram_max_deviation_stderr": deviation,
        "relaxation_time_reference": tau,
    }
    units = {"msd_diffusivity": "m^2/s", "mean_drift_velocity": "m/s", "c_ratio_cold_hot": "1",
             "c_ratio_eulerian": "1", "histogram_max_deviation_stderr": "standard errors",
             "tracking_dt": "s", "tracking_particle_steps_per_s": "1/s", "relaxation_time_reference": "s"}
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


def _bin_averages(c, lo, hi, bins: int, samples: int = 40) -> np.ndarray:
    """Mean of the Eulerian c over each histogram bin along x (midpoint rule on the
    centre line: the cell's c depends on x alone), normalised to mean 1 like the histogram."""
    centre = 0.5 * (lo + hi)
    edges = np.linspace(lo[0], hi[0], bins + 1)
    xs = (edges[:-1, None] + (np.arange(samples) + 0.5) / samples * np.diff(edges)[:, None]).ravel()
    points = np.tile(centre, (xs.size, 1))
    points[:, 0] = xs
    values = compat.evaluate(c, points).reshape(bins, samples).mean(axis=1)
    return values / values.mean()
