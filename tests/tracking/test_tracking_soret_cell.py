"""Closed Soret cell: the steady particle histogram is the Eulerian steady solution.

A 1D-like box (T linear between a hot wall at x = 0 and a cold wall at x = L, uniform in
y and z, reflecting walls). Particles start uniform and run for about six slowest
relaxation times; the histogram along x is compared bin by bin with
``analytic.soret_cell_profile`` (multinomial standard errors: max |z| < 4 and a chi-square
bound). With Stokes-Einstein D(T) the same comparison must fail when the Ito ``grad D``
drift is left out (the density then goes as exp(-Phi)/D).
"""

import math

import numpy as np
import pytest

from thermocfd.physics import (ConstantDiffusivity, ConstantSoret, PiazzaSoret,
                               StokesEinsteinDiffusivity, WaterViscosity, analytic)
from thermocfd.tracking import (GridFields, ParticleState, Tracker, concentration_profile,
                                wall_concentration_ratio)

L = 100e-6  # m
WIDTH = 20e-6  # m, y and z extent (fields uniform there)
BINS = 16


def _cell(t_hot, t_cold, diffusivity, soret):
    T_of_x = lambda x: t_hot + (t_cold - t_hot) * np.asarray(x) / L
    fields = GridFields.from_callables([0, 0, 0], [L, WIDTH, WIDTH], (65, 2, 2),
                                       lambda x, y, z: T_of_x(x), diffusivity, soret)
    return fields, T_of_x


def _run(fields, n, dt, steps, grad_d, seed=21):
    tracker = Tracker(fields, dt=dt, backend="cpu", grad_d=grad_d, seed=seed)
    state = ParticleState.uniform(n, [0, 0, 0], [L, WIDTH, WIDTH], seed=seed)
    report = tracker.advance(state, steps)
    assert report.counts["in_domain"] == n and report.invalid_new == 0
    return state


def _expected_bin_probabilities(soret, T_of_x):
    """Bin averages of the analytic profile (fine midpoint rule), as probabilities."""
    sub = 64
    x = (np.arange(BINS * sub) + 0.5) * L / (BINS * sub)
    c = analytic.soret_cell_profile(soret, T_of_x, L, x)
    p = c.reshape(BINS, sub).mean(axis=1)
    return p / p.sum()


def _z_scores(state, p):
    counts, _ = np.histogram(state.positions[0], bins=BINS, range=(0.0, L))
    n = counts.sum()
    z = (counts - n * p) / np.sqrt(n * p * (1 - p))
    chi2 = np.sum((counts - n * p) ** 2 / (n * p))
    return z, chi2


def _assert_matches(z, chi2):
    dof = BINS - 1
    assert np.max(np.abs(z)) < 4.0, z
    assert chi2 < dof + 4.0 * math.sqrt(2.0 * dof), chi2  # ~4 sigma of chi2(dof)


@pytest.fixture(scope="module")
def constant_cell():
    d, soret = 1.0e-12, ConstantSoret(0.1)  # S_T dT = 2: c_cold/c_hot = e^2
    fields, T_of_x = _cell(310.0, 290.0, ConstantDiffusivity(d), soret)
    dt = (L / 25) ** 2 / (2 * d)  # rms step L/25
    tau = analytic.soret_cell_relaxation_time(d, soret.value, 20.0, L)
    state = _run(fields, 20_000, dt, int(6 * tau / dt) + 1, "trilinear")
    return state, soret, T_of_x


def test_constant_d_histogram_matches_eulerian(constant_cell):
    state, soret, T_of_x = constant_cell
    _assert_matches(*_z_scores(state, _expected_bin_probabilities(soret, T_of_x)))


def test_constant_d_cold_hot_ratio(constant_cell):
    state, soret, _ = constant_cell
    ratio, se = wall_concentration_ratio(state, axis=0, lower=0.0, upper=L, bins=BINS)
    exact = analytic.soret_cell_concentration_ratio(soret, 310.0, 290.0)
    assert abs(ratio - exact) < 4 * se
    x, c, c_se = concentration_profile(state, 0, 0.0, L, BINS)
    assert np.all(np.diff(c) > -4 * c_se[1:])  # accumulates on the cold side


SE_CASE = dict(t_hot=340.0, t_cold=290.0,
               diffusivity=StokesEinsteinDiffusivity(0.2e-6, WaterViscosity()),
               soret=PiazzaSoret(s_inf=0.05, t_star=280.0, t0=30.0))


def _stokes_einstein_run(grad_d, n):
    fields, T_of_x = _cell(SE_CASE["t_hot"], SE_CASE["t_cold"], SE_CASE["diffusivity"],
                           SE_CASE["soret"])
    d_max, d_min = fields.diffusivity.max(), fields.diffusivity.min()
    assert d_max / d_min > 2.5  # D(T) varies strongly over the cell
    dt = (L / 25) ** 2 / (2 * d_max)
    tau = 1.0 / (d_min * math.pi**2 / L**2)  # slowest region sets the relaxation
    state = _run(fields, n, dt, int(5 * tau / dt) + 1, grad_d)
    return state, _expected_bin_probabilities(SE_CASE["soret"], T_of_x)


@pytest.mark.parametrize("grad_d, n", [("trilinear", 20_000), ("grid", 10_000)])
def test_stokes_einstein_histogram_matches_eulerian(grad_d, n):
    state, p = _stokes_einstein_run(grad_d, n)
    _assert_matches(*_z_scores(state, p))


def test_stokes_einstein_without_grad_d_fails():
    """Dropping grad D leaves the density ∝ exp(-Phi)/D: the mismatch must be detected."""
    state, p = _stokes_einstein_run("none", 5_000)
    z, chi2 = _z_scores(state, p)
    assert np.max(np.abs(z)) > 10.0
    with pytest.raises(AssertionError):
        _assert_matches(z, chi2)


def test_summary_quantities_of_the_cell(constant_cell):
    from thermocfd.tracking import summary_quantities

    state, soret, _ = constant_cell
    start = ParticleState.uniform(state.n, [0, 0, 0], [L, WIDTH, WIDTH], seed=21)
    summary = summary_quantities(start, state, state.time, cell_axis=0, cell_lower=0.0,
                                 cell_upper=L, bins=BINS)
    exact = analytic.soret_cell_concentration_ratio(soret, 310.0, 290.0)
    assert abs(summary["c_ratio_cold_hot"] - exact) < 4 * summary["c_ratio_cold_hot_stderr"]
    assert summary["particle_counts"]["in_domain"] == state.n
    assert len(summary["mean_drift_velocity"]) == 3 and summary["msd_diffusivity"] > 0


def test_run_tracking_driver_reports_the_cell():
    """The pipeline entry point on a small, short cell (the physics is tested above)."""
    from thermocfd.tracking import TrackingConfig, run_tracking

    soret = ConstantSoret(0.1)
    fields, _ = _cell(310.0, 290.0, ConstantDiffusivity(1e-12), soret)
    config = TrackingConfig(n_particles=10_000, backend="cpu", seed=5, cell_axis=0,
                            histogram_bins=BINS, dt=(L / 25) ** 2 / 2e-12,
                            duration=6 * analytic.soret_cell_relaxation_time(1e-12, 0.1, 20.0, L))
    result = run_tracking(fields, config)
    s = result.summary
    exact = analytic.soret_cell_concentration_ratio(soret, 310.0, 290.0)
    assert abs(s["c_ratio_cold_hot"] - exact) < 4 * s["c_ratio_cold_hot_stderr"]
    assert s["particle_counts"]["in_domain"] == 10_000 and s["tracking_backend"] == "cpu"
    assert s["tracking_steps"] * s["tracking_dt"] >= config.duration
    assert result.density.shape == fields.shape
