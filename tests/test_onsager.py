"""Onsager coefficients, the Dufour flux and the entropy production (NumPy): the linear
laws reproduce the solute flux of DESIGN.md, reciprocity gives the Dufour flux, the two
forms of sigma agree and are >= 0, the Soret cell's closed forms against quadrature, the
dilute-colloid magnitude, and the gas-mixture estimate against an exact 1D solution."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.optimize import brentq

from thermocfd.physics import analytic
from thermocfd.physics.constants import AVOGADRO, BOLTZMANN
from thermocfd.physics.onsager import (
    GAS_CONSTANT, BinaryGasMixture, ThermalDiffusionFactorSoret, conductivity_at_zero_flux,
    dufour_coefficient, entropy_production_density, entropy_production_parts, heat_of_transport,
    onsager_coefficients, soret_cell_entropy_production, soret_cell_entropy_production_rate, solute_flux)
from thermocfd.physics.soret import ConstantSoret

RNG = np.random.default_rng(7)
N = 1000


def random_state():
    """Random positive states and gradients, components along the first axis."""
    T = RNG.uniform(250.0, 400.0, N)
    c = RNG.uniform(1e-3, 10.0, N)
    D = 10 ** RNG.uniform(-12, -8, N)
    S_T = RNG.uniform(-0.2, 0.2, N)
    k = RNG.uniform(0.1, 1.0, N)
    grad_T = RNG.normal(0.0, 1e4, (3, N))
    grad_c = RNG.normal(0.0, 1e3, (3, N))
    return T, c, D, S_T, k, grad_T, grad_c


def test_gas_constant_is_avogadro_times_boltzmann():
    assert GAS_CONSTANT == pytest.approx(8.314462618, rel=1e-9)
    assert GAS_CONSTANT == AVOGADRO * BOLTZMANN


def test_linear_laws_reproduce_the_solute_flux_and_reciprocity_the_dufour_flux():
    T, c, D, S_T, k, grad_T, grad_c = random_state()
    L = onsager_coefficients(D, S_T, c, T, k)
    X_q = -grad_T / T**2
    X_c = -GAS_CONSTANT * grad_c / c
    J = L.cc * X_c + L.cq * X_q
    assert np.allclose(J, -D * grad_c - D * S_T * c * grad_T, rtol=1e-12, atol=0)
    assert np.allclose(solute_flux(grad_c, grad_T, c, D, S_T), J, rtol=1e-12, atol=0)
    # heat flux with L_qc = L_cq: Fourier part -k grad T, Dufour part -R T^2 D S_T grad c
    J_q = L.cq * X_c + L.qq * X_q
    assert np.allclose(J_q, -k * grad_T - dufour_coefficient(D, S_T, T) * grad_c, rtol=1e-9, atol=1e-9)
    assert np.allclose(dufour_coefficient(D, S_T, T), GAS_CONSTANT * T**2 * D * S_T, rtol=1e-14)
    # ... and, with the solute force eliminated, -k_0 grad T + Q* J
    k_0 = conductivity_at_zero_flux(k, D, S_T, c, T)
    assert np.allclose(k_0 * T**2, L.qq - L.cq**2 / L.cc, rtol=1e-12)
    assert np.allclose(J_q, -k_0 * grad_T + heat_of_transport(S_T, T) * J, rtol=1e-9, atol=1e-9)


def test_entropy_production_quadratic_form_equals_sum_of_squares_and_is_non_negative():
    T, c, D, S_T, k, grad_T, grad_c = random_state()
    J = solute_flux(grad_c, grad_T, c, D, S_T)
    thermal, solute = entropy_production_parts(T, c, grad_T, J, k, D, S_T)
    sigma = entropy_production_density(T, c, grad_T, grad_c, k, D, S_T)
    # sigma = J_q . X_q + J . X_c, written out independently
    J_q = -k * grad_T - GAS_CONSTANT * T**2 * D * S_T * grad_c
    direct = np.sum(J_q * (-grad_T / T**2) + np.asarray(J) * (-GAS_CONSTANT * grad_c / c), axis=0)
    assert np.allclose(sigma, direct, rtol=1e-9, atol=0)
    assert np.allclose(thermal + solute, direct, rtol=1e-9, atol=0)
    assert np.all(thermal >= 0) and np.all(solute >= 0) and np.all(sigma >= 0)
    # the solute part vanishes exactly when J does: grad c = -S_T c grad T
    _, relaxed = entropy_production_parts(T, c, grad_T, solute_flux(-S_T * c * grad_T, grad_T, c, D, S_T),
                                          k, D, S_T)
    assert np.max(relaxed / thermal) < 1e-20


def test_soret_cell_closed_form_against_quadrature_and_the_heat_flow():
    k, t_hot, t_cold, length = 0.6, 310.0, 290.0, 1e-4
    xi, wi = np.polynomial.legendre.leggauss(60)
    x = 0.5 * length * (xi + 1.0)
    quadrature = 0.5 * length * np.sum(wi * soret_cell_entropy_production(x, k, t_hot, t_cold, length))
    closed = soret_cell_entropy_production_rate(k, t_hot, t_cold, length)
    assert quadrature == pytest.approx(closed, rel=1e-13)
    # second law for the slab: heat flow k dT/L enters at T_hot and leaves at T_cold
    heat_flow = k * (t_hot - t_cold) / length
    assert closed == pytest.approx(heat_flow * (1 / t_cold - 1 / t_hot), rel=1e-13)
    assert closed == pytest.approx(k * 20.0**2 / (length * t_hot * t_cold), rel=1e-14)

    # with a (strong, concentrated) solute: k_0 = k - R D S_T^2 c T^2 on the exponential profile
    D, S_T, c_mean = 1e-9, 0.05, 3000.0
    c = analytic.soret_cell_profile(ConstantSoret(S_T), lambda s: t_hot + (t_cold - t_hot) * s / length, length,
                                    x, c_mean)
    T = t_hot + (t_cold - t_hot) * x / length
    G = (t_hot - t_cold) / length
    k_0 = conductivity_at_zero_flux(k, D, S_T, c, T)
    quadrature = 0.5 * length * np.sum(wi * k_0 * G**2 / T**2)
    with_solute = soret_cell_entropy_production_rate(k, t_hot, t_cold, length, diffusivity=D,
                                                     soret_coefficient=S_T, mean_concentration=c_mean)
    assert quadrature == pytest.approx(with_solute, rel=1e-12)
    assert 1e-3 < 1 - with_solute / closed < 0.1  # the solute term is visible here


def test_dufour_flux_of_dilute_colloids_in_water_is_negligible():
    """c = 1 uM, D = 4e-12 m^2/s, S_T = 0.1/K, 10 K over 100 um: in the relaxed state
    grad c = -S_T c grad T, so |J_q^D| / |k grad T| = R T^2 D S_T^2 c / k (~5e-11)."""
    k, c, D, S_T, T = 0.6, 1e-3, 4e-12, 0.1, 300.0
    grad_T = np.array([10.0 / 1e-4])
    grad_c = -S_T * c * grad_T
    dufour = np.abs(dufour_coefficient(D, S_T, T) * grad_c)
    ratio = float(dufour[0] / (k * abs(grad_T[0])))
    assert ratio == pytest.approx(GAS_CONSTANT * T**2 * D * S_T**2 * c / k, rel=1e-14)
    assert ratio < 1e-9, ratio
    assert ratio > 1e-11  # and not zero: 5.0e-11
    # the zero-flux and the uniform conductivity are the same to that accuracy
    assert 1 - conductivity_at_zero_flux(k, D, S_T, c, T) / k == pytest.approx(ratio, rel=1e-6)


HE_AR = BinaryGasMixture(pressure=1e5, interdiffusion=7.3e-5, thermal_diffusion_factor=0.3, mole_fraction=0.5)
K_HE_AR = 0.06  # W/(m K), equimolar He-Ar near 300 K (about)


def test_binary_gas_dilute_equivalent_matches_the_mixture_at_the_reference_temperature():
    gas, T_ref = HE_AR, 305.0
    x = gas.mole_fraction
    soret = gas.soret_law()
    grad_T = 1e4
    # relaxed composition gradient of the mixture: grad x = -alpha_T x (1 - x) grad T / T
    grad_x = -gas.thermal_diffusion_factor * x * (1 - x) * grad_T / T_ref
    # ... of the dilute form for c = c_t x: grad c / c = -S_T grad T
    c_scale = gas.concentration_scale(T_ref)
    assert -soret.soret_coefficient(T_ref) * x * grad_T == pytest.approx(grad_x, rel=1e-14)
    # Dufour flux -alpha_T p D grad x, and the dilute form's -R' T^2 D S_T grad c
    exact = gas.dufour_heat_flux(grad_x)
    dilute = -dufour_coefficient(gas.interdiffusion, soret.soret_coefficient(T_ref), T_ref,
                                 gas.gas_constant) * c_scale * grad_x
    assert dilute == pytest.approx(float(exact), rel=1e-13)
    # zero-flux conductivity, both ways
    k_0 = gas.conductivity_at_zero_flux(K_HE_AR, T_ref)
    assert k_0 == pytest.approx(conductivity_at_zero_flux(K_HE_AR, gas.interdiffusion, soret.soret_coefficient(T_ref),
                                                          c_scale * x, T_ref, gas.gas_constant), rel=1e-13)
    assert 0.005 < 1 - k_0 / K_HE_AR < 0.02  # about 1 %: measurable
    assert isinstance(soret, ThermalDiffusionFactorSoret)
    T = np.array([280.0, 320.0])
    assert soret.soret_potential(T[1]) - soret.soret_potential(T[0]) == pytest.approx(
        soret.alpha * np.log(320 / 280), rel=1e-14)


def exact_gas_slab(gas: BinaryGasMixture, k: float, q: float, length: float, t_cold: float) -> float:
    """Hot-wall temperature of the steady closed slab of the *non-dilute* mixture: heat
    flux q in at x = 0, T_cold at x = L, J_1 = 0 and the mole-weighted mean composition
    gas.mole_fraction; by shooting on x(L)."""
    a, p, D = gas.thermal_diffusion_factor, gas.pressure, gas.interdiffusion

    def rhs(_, y):
        T, x = y
        dT = -q / (k - p * a * a * D * x * (1 - x) / T)
        return [dT, -a * x * (1 - x) * dT / T]

    def solve(x_cold):
        return solve_ivp(rhs, (length, 0.0), [t_cold, x_cold], rtol=1e-12, atol=1e-14, dense_output=True)

    def mean_excess(x_cold):
        sol = solve(x_cold)
        s, w = np.polynomial.legendre.leggauss(40)
        T, x = sol.sol(0.5 * length * (s + 1))
        return np.sum(w * x / T) / np.sum(w / T) - gas.mole_fraction

    x_cold = brentq(mean_excess, 0.3, 0.7, xtol=1e-14)
    return float(solve(x_cold).y[0, -1])


def test_gas_heater_dufour_rise_against_the_exact_slab():
    """He-Ar, 1 mm slab, 10 K: the Dufour effect raises the heated wall by ~90 mK."""
    gas, length, t_cold = HE_AR, 1e-3, 300.0
    q = K_HE_AR * 10.0 / length
    rise_exact = exact_gas_slab(gas, K_HE_AR, q, length, t_cold) - (t_cold + q * length / K_HE_AR)
    estimate = gas.heater_temperature_rise(q, length, K_HE_AR, t_cold + 5.0)
    assert 0.05 < rise_exact < 0.15, rise_exact
    assert estimate == pytest.approx(rise_exact, rel=1e-3), (estimate, rise_exact)
