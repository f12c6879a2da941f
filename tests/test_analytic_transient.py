"""Transient 1D references: heat slab step response, Soret cell series and numerical reference."""

import math

import numpy as np
import pytest

from thermocfd.physics import (ConstantSoret, PiazzaSoret, Schedule, StokesEinsteinDiffusivity, WaterViscosity,
                               analytic)

L = 1e-4  # m
D = 1e-11  # m^2/s
TAU = L**2 / (math.pi**2 * D)  # slowest pure-diffusion time
T_HOT, T_COLD = 310.0, 290.0
XG, WG = np.polynomial.legendre.leggauss(60)
XQ, WQ = 0.5 * L * (XG + 1.0), 0.5 * L * WG  # Gauss points: exact for the degree-48 interpolants


def mass(c: np.ndarray) -> np.ndarray:
    return c @ WQ


def linear_temperature(x, t=0.0):
    return T_HOT + (T_COLD - T_HOT) * np.asarray(x) / L


# --- heat slab --------------------------------------------------------------------------
def test_heat_slab_short_time_is_the_semi_infinite_erfc_solution():
    kappa, t0 = 1.4e-7, 300.0
    t = (0.02 * L) ** 2 / kappa  # diffusion length 2 % of L: the far wall is e^-625 away
    x = np.linspace(0.0, 0.3 * L, 31)
    series = analytic.heat_slab_step_response(kappa, L, t0, T_HOT, T_COLD, x, [t])[0]
    erfc = np.array([math.erfc(xi / (2.0 * math.sqrt(kappa * t))) for xi in x])
    assert np.max(np.abs(series - (t0 + (T_HOT - t0) * erfc))) < 1e-10


def test_heat_slab_solves_the_heat_equation_and_relaxes_to_the_linear_profile():
    kappa, t0 = 1.4e-7, 295.0
    tk = L**2 / kappa
    x = np.linspace(0.0, L, 41)
    at_zero, late = analytic.heat_slab_step_response(kappa, L, t0, T_HOT, T_COLD, x, [0.0, 5.0 * tk])
    assert at_zero[0] == T_HOT and at_zero[-1] == T_COLD and np.all(at_zero[1:-1] == t0)
    # slowest mode: amplitude 2/pi (2 t0 - T_hot - T_cold) = 0, next one decays as e^{-4 pi^2 t}
    assert np.max(np.abs(late - linear_temperature(x))) < 1e-60 + 20 * math.exp(-4 * math.pi**2 * 5)
    # the PDE and the boundary values at an intermediate time, by central differences
    t, h, dt = 0.02 * tk, L / 400, 1e-6 * tk
    xi = np.linspace(0.1 * L, 0.9 * L, 9)
    T = lambda xx, tt: analytic.heat_slab_step_response(kappa, L, t0, T_HOT, T_COLD, xx, [tt])[0]  # noqa: E731
    T_t = (T(xi, t + dt) - T(xi, t - dt)) / (2 * dt)
    T_xx = (T(xi + h, t) - 2 * T(xi, t) + T(xi - h, t)) / h**2
    assert np.max(np.abs(T_t - kappa * T_xx)) < 1e-4 * np.max(np.abs(T_t))
    assert T(np.array([0.0, L]), t) == pytest.approx([T_HOT, T_COLD], abs=1e-12)


# --- Soret cell, linear temperature ------------------------------------------------------
def test_linear_series_conserves_mass_obeys_no_flux_and_reaches_the_steady_profile():
    S = 0.05
    times = np.array([0.0, 1e-3, 0.05, 0.3, 1.0, 30.0]) * TAU
    c = analytic.soret_cell_transient_linear(D, S, T_HOT, T_COLD, L, XQ, times, c0=2.0)
    assert np.allclose(mass(c), 2.0 * L, rtol=1e-12)
    assert np.all(c[0] == 2.0)
    steady = analytic.soret_cell_profile(ConstantSoret(S), linear_temperature, L, XQ, 2.0)
    assert np.max(np.abs(c[-1] / steady - 1)) < 1e-12
    # no-flux walls: D (c_x + a c) = 0, with a one-sided 4th-order difference
    a, h = S * (T_COLD - T_HOT) / L, 1e-4 * L
    xs = np.array([0.0, h, 2 * h, 3 * h, 4 * h])
    stencil = np.array([-25, 48, -36, 16, -3]) / (12 * h)
    for tt in times[2:5]:
        left = analytic.soret_cell_transient_linear(D, S, T_HOT, T_COLD, L, xs, [tt])[0]
        right = analytic.soret_cell_transient_linear(D, S, T_HOT, T_COLD, L, L - xs, [tt])[0]
        assert abs(stencil @ left + a * left[0]) < 1e-6 * abs(a)
        assert abs(-(stencil @ right) + a * right[0]) < 1e-6 * abs(a)
    # the slowest mode decays at the documented relaxation time
    tr = analytic.soret_cell_relaxation_time(D, S, T_HOT - T_COLD, L)
    far = analytic.soret_cell_transient_linear(D, S, T_HOT, T_COLD, L, [0.0], [3 * tr, 4 * tr, 60 * tr])[:, 0]
    assert (far[1] - far[2]) / (far[0] - far[2]) == pytest.approx(math.exp(-1.0), rel=1e-5)


@pytest.mark.parametrize("soret_coefficient", [0.05, 0.3])
def test_numerical_reference_matches_the_exact_series(soret_coefficient):
    times = np.array([0.0, 0.01, 0.1, 0.5, 1.0, 3.0]) * TAU
    x = np.linspace(0.0, L, 21)
    exact = analytic.soret_cell_transient_linear(D, soret_coefficient, T_HOT, T_COLD, L, x, times)
    numeric = analytic.soret_cell_transient(D, soret_coefficient, lambda xx, t: linear_temperature(xx), L, times, x)
    error = np.max(np.abs(numeric - exact) / exact.max())
    print("S_T dT =", soret_coefficient * (T_HOT - T_COLD), "max relative error", error)
    assert error < 2e-9


# --- Soret cell, general laws ------------------------------------------------------------
def curved_temperature(x, t=0.0):
    return 300.0 + 15.0 * np.cos(np.pi * np.asarray(x) / L) + 5.0 * np.sin(2 * np.pi * np.asarray(x) / L)


def test_numerical_reference_reaches_the_exact_steady_state_with_temperature_laws():
    soret = PiazzaSoret(0.1, 295.0, 20.0)
    diffusivity = StokesEinsteinDiffusivity(50e-9, WaterViscosity())
    d_min = diffusivity.diffusivity(curved_temperature(np.linspace(0, L, 101))).min()
    t_end = 40.0 * L**2 / (math.pi**2 * d_min)
    c = analytic.soret_cell_transient(diffusivity, soret, curved_temperature, L, [t_end], XQ, c0=1.5,
                                      max_step=t_end / 400)[0]
    steady = analytic.soret_cell_profile(soret, curved_temperature, L, XQ, 1.5)
    error = np.max(np.abs(c / steady - 1))
    print("steady-state relative error", error)
    assert error < 1e-8
    assert mass(c) == pytest.approx(1.5 * L, rel=1e-12)


def test_switched_temperature_conserves_mass_and_converges():
    """T = T0 + dT(x) * s(t) with a laser-like schedule (on with a ramp, then off)."""
    schedule = Schedule.from_entries([[0.0, "off"], [0.2 * TAU, "on", {"ramp": 0.01 * TAU}], [1.2 * TAU, "off"]])

    def temperature(x, t):
        return 300.0 + 20.0 * schedule.value(t) * np.exp(-((np.asarray(x) / (0.4 * L)) ** 2))

    times = np.array([0.1, 0.2, 0.205, 0.5, 1.2, 1.5, 4.5]) * TAU
    kwargs = dict(breakpoints=schedule.breakpoints(times[-1]))
    c = analytic.soret_cell_transient(D, 0.05, temperature, L, times, XQ, **kwargs)
    assert np.allclose(mass(c), L, rtol=1e-11, atol=0)  # round-off over ~1500 implicit steps
    assert np.max(np.abs(c[:2] - 1.0)) < 1e-12  # nothing moves while the laser is off
    finer = analytic.soret_cell_transient(D, 0.05, temperature, L, times, XQ, nodes=56, growth=1.06, **kwargs)
    print("self-convergence", np.max(np.abs(c - finer)))
    assert np.max(np.abs(c - finer)) < 1e-9
    assert c[3, 0] < 0.99 < 1.01 < c[3, -1]  # thermophobic: depleted at the hot spot (x = 0)
    assert np.max(np.abs(c[-1] - 1.0)) < 0.1 * np.max(np.abs(c[4] - 1.0))  # relaxes once off
    # without the breakpoints the steps straddle the kinks: a visibly worse answer
    blind = analytic.soret_cell_transient(D, 0.05, temperature, L, times, XQ)
    assert np.max(np.abs(blind - finer)) > 10 * np.max(np.abs(c - finer))


def test_bad_arguments():
    with pytest.raises(ValueError, match="times"):
        analytic.soret_cell_transient(D, 0.05, lambda x, t: linear_temperature(x), L, [-1.0], [0.0])
    with pytest.raises(ValueError, match="cell"):
        analytic.soret_cell_transient(D, 0.05, lambda x, t: linear_temperature(x), L, [1.0], [2 * L])
