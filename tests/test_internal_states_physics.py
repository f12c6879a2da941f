"""Internal-state thermophoresis without the FEM: detailed balance, the cycle's entropy
production, and the finite-rate closed 1D cell (its convergence, an independent BVP
solver, the fast-switching limit and the leading-order finite-rate correction)."""

import math

import numpy as np
import pytest
from scipy.integrate import solve_bvp, trapezoid

from thermocfd.physics import BOLTZMANN, ConstantDiffusivity, StokesEinsteinDiffusivity, WaterViscosity
from thermocfd.physics.internal_states import (InternalState, InternalStateModel, Transition,
                                               cycle_entropy_production, damkohler_number,
                                               diffusion_entropy_production, fast_switching_ratio,
                                               finite_rate_correction, solve_cell_reference,
                                               transition_entropy_production, two_state_model)

KT = BOLTZMANN * 300.0
L = 1e-4
T_HOT, T_COLD = 320.0, 280.0


def strong_model(rate_prefactor, diffusivity_ratio=10.0, energy_difference=10.0):
    """Two states half populated at 300 K (g_2/g_1 = exp(dE/kT)), dE = 10 kT, D_2 = 10 D_1:
    S_T = 0.014/K, c_cold/c_hot = 1.73 over 40 K in the fast limit."""
    return two_state_model(energy_difference * KT, [ConstantDiffusivity(1e-11),
                                                    ConstantDiffusivity(diffusivity_ratio * 1e-11)],
                           degeneracy_ratio=math.exp(energy_difference), rate_prefactor=rate_prefactor)


def mean_diffusivity_ratio(model, T_hot, T_cold):
    return float(model.mean_diffusivity(T_hot) / model.mean_diffusivity(T_cold))


def test_rates_obey_detailed_balance_at_every_temperature():
    states = (InternalState("a", 0.0, ConstantDiffusivity(1e-11), 1.0),
              InternalState("b", 3.0 * KT, ConstantDiffusivity(2e-11), 5.0),
              InternalState("c", -2.0 * KT, ConstantDiffusivity(5e-12), 0.5))
    model = InternalStateModel(states, (Transition(0, 1, 6.0 * KT, 1e5), Transition(1, 2, 4.0 * KT, 3e3),
                                        Transition(0, 2, 1.0 * KT, 2e4)))
    g, E = model.degeneracies, model.energies
    for T in (280.0, 300.0, 350.0):
        k = model.rate_matrix(T)
        boltzmann = g * np.exp(-E / (BOLTZMANN * T))
        flux = k * boltzmann[:, None]  # k_ij g_i exp(-E_i/kT)
        assert np.allclose(flux, flux.T, rtol=1e-13, atol=0.0)
        assert k[0, 1] == pytest.approx(1e5 * math.exp(-6.0 * KT / (BOLTZMANN * T)), rel=1e-13)
        # the equilibrium populations are stationary under switching
        p = np.array(model.populations(T))
        assert np.abs(p @ k - p * k.sum(axis=1)).max() < 1e-12 * k.max()


def test_entropy_production_is_nonnegative_term_by_term_and_zero_at_equilibrium():
    model = strong_model(1e3)
    rng = np.random.default_rng(1)
    T = rng.uniform(280.0, 320.0, 200)
    c = rng.uniform(0.01, 2.0, (2, 200))
    gradients = rng.normal(size=(2, 3, 200)) * 1e4  # (state, component, point)
    diffusion = diffusion_entropy_production(model, T, c, gradients)
    switching = transition_entropy_production(model, T, c)
    assert np.all(diffusion >= 0.0) and np.all(switching >= 0.0)
    assert np.allclose(cycle_entropy_production(model, T, c, gradients), diffusion + switching, rtol=1e-14)
    # by hand at one point: R D |g|^2 / c per state, R r ln(k12 c1 / (k21 c2)) per transition
    R = BOLTZMANN * 6.02214076e23
    k = model.rate_matrix(T[0])
    r = k[0, 1] * c[0, 0] - k[1, 0] * c[1, 0]
    by_hand = (R * 1e-11 * np.sum(gradients[0, :, 0] ** 2) / c[0, 0] + R * 1e-10 * np.sum(gradients[1, :, 0] ** 2)
               / c[1, 0] + R * r * math.log(k[0, 1] * c[0, 0] / (k[1, 0] * c[1, 0])))
    assert cycle_entropy_production(model, T[:1], c[:, :1], gradients[:, :, :1])[0] == pytest.approx(by_hand, rel=1e-13)
    p = np.array(model.populations(T))
    assert np.abs(transition_entropy_production(model, T, p)).max() < 1e-20


@pytest.mark.parametrize("rate_prefactor", [1e2, 1e5, 1e10], ids=["Da1.7", "Da1.7e3", "Da1.7e8"])
def test_reference_converges_two_resolutions_agree(rate_prefactor):
    model = strong_model(rate_prefactor)
    coarse = solve_cell_reference(model, L, T_HOT, T_COLD, cells=500)
    fine = solve_cell_reference(model, L, T_HOT, T_COLD, cells=1000)
    for key in ("c_ratio_cold_hot", "soret_coefficient_fit", "entropy_production_total"):
        a, b = getattr(coarse, key), getattr(fine, key)
        assert abs(a - b) < 1e-8 * abs(b), (key, a, b)
        assert coarse.error_estimate[key] < 1e-5 * abs(b)  # the unextrapolated grid is already good
    # the amount is the given one and the states' fluxes add up to zero at every node
    assert trapezoid(fine.total_density, fine.x) == pytest.approx(L * 1.0, rel=1e-12)
    # (to round-off: fluxes are differences of nearly equal concentrations)
    assert np.abs(fine.state_fluxes.sum(axis=0)).max() < 1e-6 * np.abs(fine.state_fluxes).max()


def test_reference_agrees_with_an_independent_collocation_solver():
    """scipy's solve_bvp (collocation with its own adaptive mesh) on the same two-point
    problem, in xi = x / L: D_i c_i'' = -/+ L^2 r_12."""
    model = strong_model(1e3)  # Da = 16.5: c_ratio 15 % below the fast limit
    reference = solve_cell_reference(model, L, T_HOT, T_COLD)
    D = np.array([1e-11, 1e-10])

    def rhs(xi, y):  # y = (c1, c2, c1', c2')
        T = T_HOT + (T_COLD - T_HOT) * xi
        r = (model.rate(0, 1, T) * y[0] - model.rate(1, 0, T) * y[1]) * L**2
        return np.vstack([y[2], y[3], r / D[0], -r / D[1]])

    def boundary(ya, yb):  # c_2'(1) = 0 follows from the others (conservation); pin c_1(0)
        return np.array([ya[0] - 1.0, ya[2], ya[3], yb[2]])

    xi = np.linspace(0.0, 1.0, 101)
    guess = np.vstack([np.ones_like(xi), np.ones_like(xi), np.zeros_like(xi), np.zeros_like(xi)])
    bvp = solve_bvp(rhs, boundary, xi, guess, tol=1e-9, max_nodes=100000)
    assert bvp.success, bvp.message
    rho = bvp.sol(np.array([0.0, 1.0]))[:2].sum(axis=0)
    assert rho[1] / rho[0] == pytest.approx(reference.c_ratio_cold_hot, rel=1e-8)


def test_fast_switching_limit_and_soret_fit():
    model = strong_model(1e10)  # Da = 1.7e8
    reference = solve_cell_reference(model, L, T_HOT, T_COLD)
    expected = mean_diffusivity_ratio(model, T_HOT, T_COLD)
    assert fast_switching_ratio(model, T_HOT, T_COLD) == pytest.approx(expected, rel=1e-12)
    deviation = reference.c_ratio_cold_hot / expected - 1.0
    assert abs(deviation) < 1e-4  # the boundary layers: eps = -5.9e-5 at Da = 1.7e8
    assert abs(deviation - finite_rate_correction(model, L, T_HOT, T_COLD)) < 1e-7
    # local equilibrium in the bulk
    p = np.array(model.populations(reference.temperature))
    bulk = slice(reference.x.size // 4, 3 * reference.x.size // 4)
    assert np.allclose(reference.concentrations[:, bulk], (p * reference.total_density)[:, bulk], rtol=1e-6)
    # small dT: the fitted S_T is Cov(D, E) / (k_B T^2 <D>) at the mean temperature
    small = solve_cell_reference(model, L, 301.0, 299.0)
    assert small.soret_coefficient_fit == pytest.approx(float(model.soret_coefficient(300.0)), rel=1e-2)
    assert small.soret_coefficient_fit == pytest.approx(0.25 * 9 / 5.5 * 10 / 300.0, rel=1e-2)


def test_fast_switching_limit_with_temperature_dependent_diffusivities():
    """D_i = r_i kT/(6 pi mu(T) a): no longer rho <D> = const but rho <r>_p = const."""
    law = StokesEinsteinDiffusivity(radius=5e-9, viscosity=WaterViscosity())
    small, large = law, StokesEinsteinDiffusivity(radius=2.5e-9, viscosity=WaterViscosity())
    model = two_state_model(4.0 * KT, [small, large], degeneracy_ratio=math.exp(4.0), rate_prefactor=1e12)
    reference = solve_cell_reference(model, L, T_HOT, T_COLD)
    potential = model.soret_potential(T_HOT) - model.soret_potential(T_COLD)
    assert reference.c_ratio_cold_hot == pytest.approx(math.exp(potential), rel=1e-5)
    assert abs(reference.c_ratio_cold_hot - mean_diffusivity_ratio(model, T_HOT, T_COLD)) > 0.1


def test_equal_diffusivities_give_no_thermophoresis_at_any_rate():
    model = strong_model(1e3, diffusivity_ratio=1.0)
    reference = solve_cell_reference(model, L, T_HOT, T_COLD, cells=500)
    assert np.ptp(reference.total_density) < 1e-10 * reference.total_density.mean()
    assert np.abs(reference.state_fluxes).max() > 0.0  # the states still circulate


def test_steady_cycle_state_fluxes_balance_the_transitions():
    """dJ_1/dx = -r_12: what state 1 carries to the cold side returns as state 2."""
    model = strong_model(1e3)
    reference = solve_cell_reference(model, L, T_HOT, T_COLD)
    J1, r = reference.state_fluxes[0], reference.transition_fluxes[(0, 1)]
    x = reference.x
    integral = np.concatenate([[0.0], np.cumsum(0.5 * (r[1:] + r[:-1]) * np.diff(x))])
    assert np.abs(J1 + integral).max() < 1e-4 * np.abs(J1).max()
    assert np.abs(J1).max() > 0.0 and np.abs(r).max() > 0.0
    assert np.all(reference.entropy_production >= 0.0) and reference.entropy_production_total > 0.0


def test_finite_rate_deviation_falls_like_inverse_square_root_of_damkohler():
    """dev = c_ratio / fast - 1 = eps(Da) + O(1/Da) with eps = finite_rate_correction ~ Da^-1/2."""
    fast = mean_diffusivity_ratio(strong_model(1.0), T_HOT, T_COLD)
    rows = []
    for rate_prefactor in (1e3, 1e4, 1e5, 1e6, 1e7):  # Da = 16.5 ... 1.65e5
        model = strong_model(rate_prefactor)
        reference = solve_cell_reference(model, L, T_HOT, T_COLD)
        rows.append((damkohler_number(model, L, 300.0), reference.c_ratio_cold_hot / fast - 1.0,
                     finite_rate_correction(model, L, T_HOT, T_COLD)))
    Da, dev, eps = (np.array(column) for column in zip(*rows))
    print("\n   Da        dev          eps      (dev-eps) Da")
    for row in rows:
        print(f"{row[0]:9.3g} {row[1]:+.4e} {row[2]:+.4e} {(row[1] - row[2]) * row[0]:+.4f}")
    slopes = np.diff(np.log(-dev)) / np.diff(np.log(Da))
    assert np.all(np.diff(slopes) < 0.0) and np.all(np.abs(slopes[-2:] + 0.5) < 0.01), slopes
    assert np.allclose(eps * np.sqrt(Da), eps[0] * np.sqrt(Da[0]), rtol=1e-10)  # exactly Da^-1/2
    remainder = (dev - eps) * Da  # the next order is 1/Da: bounded, settling to a constant
    assert np.all(np.abs(remainder) < 1.0) and abs(remainder[-1] / remainder[-2] - 1.0) < 0.02, remainder
    assert abs(dev[-1] / eps[-1] - 1.0) < 5e-3
