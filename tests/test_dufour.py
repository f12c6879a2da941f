"""The Dufour term in the heat equation and the entropy production (dolfinx).

(a) manufactured solution of ``div(k grad T + R T^2 D S_T(T) grad c) + q = 0`` with an
O(1) Dufour term: P1/P2 rates, and no convergence with its sign flipped; (b) magnitudes
from the two-way coupled steady solve: dilute colloids in water (negligible) and a He-Ar
gas cell with a heater (the Dufour rise against the 1D estimate); (c) entropy production
of the Soret cell: steady (analytic value, J -> 0 at rate 2) and transient (J != 0).
"""

import math

import dolfinx.fem
import numpy as np
import pytest
import ufl
from mpi4py import MPI

import mms
from thermocfd.fem import compat
from thermocfd.fem.entropy import entropy_production
from thermocfd.fem.heat import DufourCoupling, FixedTemperature, HeatFlux, HeatProblem
from thermocfd.fem.mesh import structured_domain
from thermocfd.fem.onsager import solve_soret_dufour_steady
from thermocfd.fem.transport import SoretTransportProblem
from thermocfd.physics import ConstantDiffusivity, ConstantSoret, PiazzaSoret, analytic
from thermocfd.physics.onsager import GAS_CONSTANT, BinaryGasMixture, soret_cell_entropy_production_rate

SIDES = {
    "left": lambda x: np.isclose(x[0], 0.0),
    "right": lambda x: np.isclose(x[0], 1.0),
    "bottom": lambda x: np.isclose(x[1], 0.0),
    "top": lambda x: np.isclose(x[1], 1.0),
}
CELL = {  # a 1D-like slab: hot wall at x = 0, cold at x = 1 (scaled), insulated sides
    "hot": lambda x: np.isclose(x[0], 0.0),
    "cold": lambda x: np.isclose(x[0], 1.0),
}


def integrate(domain, expression, degree=8):
    form = dolfinx.fem.form(expression * ufl.dx(domain=domain.mesh, metadata={"quadrature_degree": degree}))
    return domain.comm.allreduce(dolfinx.fem.assemble_scalar(form), op=MPI.SUM)


# --- (a) manufactured solution ------------------------------------------------------------
MMS_DIFFUSIVITY = ConstantDiffusivity(1e-5)
MMS_SORET = PiazzaSoret(s_inf=1.5, t_star=280.0, t0=20.0)  # S_T(300 K) = 0.95/K, T-dependent


def dufour_part(x, soret=MMS_SORET):
    """R T^2 D S_T(T) grad c of the manufactured fields (SI, x in metres)."""
    T = mms.temperature(x)
    return (GAS_CONSTANT * T**2 * MMS_DIFFUSIVITY.diffusivity(T) * soret.soret_coefficient(T)
            * ufl.grad(mms.concentration(x)))


def solve_mms(n, degree, soret=MMS_SORET):
    domain = structured_domain([1.0, 1.0], [n, n], SIDES)

    def total_flux(x):  # k grad T + R T^2 D S_T grad c of the exact solution
        return mms.conductivity(x) * ufl.grad(mms.temperature(x)) + dufour_part(x)

    bcs = [FixedTemperature(name, mms.temperature) for name in ("left", "bottom", "top")]
    bcs.append(HeatFlux("right", lambda x: total_flux(x)[0]))
    x = domain.physical_coordinates()
    coupling = DufourCoupling(mms.concentration(x), MMS_DIFFUSIVITY, soret)
    problem = HeatProblem(domain, mms.conductivity, bcs, source=lambda x: -ufl.div(total_flux(x)),
                          degree=degree, conductivity_scale=1.0, dufour=coupling)
    T_h = problem.solve_steady()
    error = math.sqrt(integrate(domain, (T_h - mms.temperature(x)) ** 2))
    return error, problem.picard_iterations, domain


def test_dufour_term_is_order_one_in_the_manufactured_problem():
    domain = structured_domain([1.0, 1.0], [8, 8], SIDES)
    x = domain.physical_coordinates()
    fourier = mms.conductivity(x) * ufl.grad(mms.temperature(x))
    ratio = math.sqrt(integrate(domain, ufl.inner(dufour_part(x), dufour_part(x)))
                      / integrate(domain, ufl.inner(fourier, fourier)))
    assert 0.3 < ratio < 3.0, ratio


@pytest.mark.parametrize("degree", [1, 2])
def test_dufour_manufactured_solution_rate(degree):
    ns = [8, 16, 32] if degree == 1 else [4, 8, 16]
    results = [solve_mms(n, degree) for n in ns]
    errors = [e for e, _, _ in results]
    rates = mms.observed_rates([1.0 / n for n in ns], errors)
    assert min(rates) > degree + 1 - 0.1, (errors, rates)
    assert all(2 <= iterations <= 10 for _, iterations, _ in results), [i for _, i, _ in results]


def test_dufour_transient_steps_reach_the_steady_state():
    """BDF steps (Picard in each) from a uniform start settle on the steady solution."""
    _, _, domain = solve_mms(8, 1)
    x = domain.physical_coordinates()
    coupling = DufourCoupling(mms.concentration(x), MMS_DIFFUSIVITY, MMS_SORET)

    def total_flux(x):
        return mms.conductivity(x) * ufl.grad(mms.temperature(x)) + dufour_part(x)

    bcs = [FixedTemperature(name, mms.temperature) for name in ("left", "bottom", "top")]
    bcs.append(HeatFlux("right", lambda x: total_flux(x)[0]))
    problem = HeatProblem(domain, mms.conductivity, bcs, source=lambda x: -ufl.div(total_flux(x)),
                          heat_capacity=1.0, conductivity_scale=1.0, capacity_scale=1.0, dufour=coupling)
    steady = problem.solve_steady().x.array.copy()
    problem.initialise(300.0)
    iterations = []
    for _ in range(4):
        problem.advance(1e4)  # in units of the thermal time l^2 C / k: steady after one step
        iterations.append(problem.picard_iterations)
    assert np.max(np.abs(problem.temperature.x.array - steady)) < 1e-7
    assert iterations[0] >= 3 and iterations[-1] == 1, iterations  # a lagged coefficient, then settled


def test_dufour_sign_flipped_does_not_converge():
    """The solver with S_T -> -S_T against the source of the right sign: the error stalls."""
    flipped = PiazzaSoret(s_inf=-1.5, t_star=280.0, t0=20.0)
    errors = [solve_mms(n, 1, flipped)[0] for n in (8, 16)]
    correct = solve_mms(16, 1)[0]
    assert errors[1] > 100 * correct, (errors, correct)
    assert mms.observed_rates([1 / 8, 1 / 16], errors)[0] < 0.5, errors


# --- (b) magnitudes, from the coupled steady solve ---------------------------------------------
def coupled_cell(n, length, conductivity, diffusivity, soret, total_mass, hot, t_cold, *, heater=False,
                 gas_constant=GAS_CONSTANT, height=0.1):
    """A closed slab [0, length] x [0, height*length]: hot wall at x = 0 (a temperature, or
    with ``heater`` a heat flux in W/m^2), cold wall at t_cold, both ways coupled."""
    domain = structured_domain([1.0, height], [n, 2], CELL, length_scale=length)
    c = dolfinx.fem.Function(compat.function_space(domain.mesh, "Lagrange", 1))
    hot_condition = HeatFlux("hot", hot) if heater else FixedTemperature("hot", hot)
    heat = HeatProblem(domain, conductivity, [hot_condition, FixedTemperature("cold", t_cold)],
                       dufour=DufourCoupling(c, diffusivity, soret, gas_constant))
    transport = SoretTransportProblem(domain, heat.temperature, diffusivity, soret, reference_temperature=t_cold)
    state = solve_soret_dufour_steady(heat, transport, total_mass, rtol=1e-11)
    return domain, heat, transport, state


def wall_average(domain, field, wall):
    ds = domain.ds(wall)

    def integral(f):
        return domain.comm.allreduce(dolfinx.fem.assemble_scalar(dolfinx.fem.form(f * ds)), op=MPI.SUM)

    return integral(field) / integral(1.0 + 0 * field)


def test_dufour_flux_of_colloids_in_water_is_below_1e_9_of_fourier():
    """c = 1 uM, D = 4e-12 m^2/s, S_T = 0.1/K, 10 K over 100 um: in the steady state
    grad c = -S_T c grad T, so |J_q^D| / |k grad T| = R T^2 D S_T^2 c / k ~ 5e-11; the
    L2 ratio over the cell against the analytic profile."""
    length, t_hot, t_cold, k, D, S_T, c_mean = 1e-4, 305.0, 295.0, 0.6, 4e-12, 0.1, 1e-3
    area = 0.1 * length**2
    domain, heat, transport, state = coupled_cell(64, length, k, ConstantDiffusivity(D), ConstantSoret(S_T),
                                                  c_mean * area, t_hot, t_cold)
    T, c = state.temperature, state.concentration
    dufour = GAS_CONSTANT * T**2 * D * S_T * ufl.grad(c)
    fourier = k * ufl.grad(T)
    ratio = math.sqrt(integrate(domain, ufl.inner(dufour, dufour)) / integrate(domain, ufl.inner(fourier, fourier)))
    # analytic: R D S_T^2 sqrt(<T^4 c^2>) / k on the exponential profile
    s, w = np.polynomial.legendre.leggauss(40)
    x = 0.5 * length * (s + 1)
    T_x = t_hot + (t_cold - t_hot) * x / length
    c_x = analytic.soret_cell_profile(ConstantSoret(S_T), lambda y: t_hot + (t_cold - t_hot) * y / length, length,
                                      x, c_mean)
    expected = GAS_CONSTANT * D * S_T**2 * math.sqrt(0.5 * np.sum(w * T_x**4 * c_x**2)) / k
    assert ratio < 1e-9, ratio
    assert ratio == pytest.approx(expected, rel=2e-3), (ratio, expected)
    assert state.iterations <= 3


def test_gas_mixture_dufour_rise_of_a_heated_wall_against_the_1d_estimate():
    """Equimolar He-Ar, 1 mm, heater flux for ~10 K, cold wall 300 K: the Dufour effect
    lowers the steady conductivity by ~1 % and raises the heated wall by ~90 mK."""
    gas = BinaryGasMixture(pressure=1e5, interdiffusion=7.3e-5, thermal_diffusion_factor=0.3, mole_fraction=0.5)
    length, k, t_cold, rise = 1e-3, 0.06, 300.0, 10.0
    q = k * rise / length
    T_mean = t_cold + 0.5 * rise
    c_scale = gas.concentration_scale(T_mean)
    area = 0.1 * length**2
    domain, heat, transport, state = coupled_cell(
        40, length, k, ConstantDiffusivity(gas.interdiffusion), gas.soret_law(),
        c_scale * gas.mole_fraction * area, q, t_cold, heater=True, gas_constant=gas.gas_constant)
    dufour_rise = wall_average(domain, state.temperature, "hot") - (t_cold + q * length / k)
    estimate = gas.heater_temperature_rise(q, length, k, T_mean)
    assert 0.05 < dufour_rise < 0.15, dufour_rise
    assert dufour_rise == pytest.approx(estimate, rel=1e-3), (dufour_rise, estimate)
    # the reaction at the cold wall carries the Dufour part too: all the heater's power
    assert heat.boundary_heat_flow("cold") == pytest.approx(q * 0.1 * length, rel=1e-9)
    assert state.iterations <= 6, state.changes


# --- (c) entropy production of the Soret cell ---------------------------------------------------
CELL_LENGTH, T_HOT, T_COLD, K_CELL = 1e-4, 310.0, 290.0, 0.6
D_CELL, S_CELL, C_MEAN = ConstantDiffusivity(1e-9), ConstantSoret(0.05), 3000.0  # S_T dT = 1
HEIGHT = 0.1  # of the slab, in units of its length


def conduction_cell(n, degree=1):
    """Pure conduction between the walls (linear T) and the solute in it, closed."""
    domain = structured_domain([1.0, HEIGHT], [n, 1], CELL, length_scale=CELL_LENGTH)
    heat = HeatProblem(domain, K_CELL, [FixedTemperature("hot", T_HOT), FixedTemperature("cold", T_COLD)],
                       degree=degree)
    T = heat.solve_steady()
    transport = SoretTransportProblem(domain, T, D_CELL, S_CELL, reference_temperature=T_HOT, degree=degree)
    return domain, T, transport


def cell_mass():
    return C_MEAN * HEIGHT * CELL_LENGTH**2


def min_point_value(sigma):
    return sigma.function_space.mesh.comm.allreduce(float(np.min(sigma.x.array)), op=MPI.MIN)


def test_entropy_production_of_the_steady_soret_cell():
    """Closed, relaxed (J = 0): int sigma = (k/(T_h T_c) - R D S_T^2 c_mean) dT^2 / L
    per wall area; sigma >= 0 at every point; the discrete flux J_h = O(h) (P1), so the
    solute part, ~|J_h|^2, vanishes at rate 2."""
    expected = soret_cell_entropy_production_rate(K_CELL, T_HOT, T_COLD, CELL_LENGTH,
                                                  diffusivity=D_CELL.value, soret_coefficient=S_CELL.value,
                                                  mean_concentration=C_MEAN) * HEIGHT * CELL_LENGTH
    pure_conduction = soret_cell_entropy_production_rate(K_CELL, T_HOT, T_COLD, CELL_LENGTH) * HEIGHT * CELL_LENGTH
    ns, errors, solute = [8, 16, 32], [], []
    for n in ns:
        domain, T, transport = conduction_cell(n)
        c = transport.solve_steady(total_mass=cell_mass())
        sigma = entropy_production(domain, T, c, K_CELL, D_CELL, S_CELL)
        errors.append(abs(sigma.rate() - expected) / expected)
        solute.append(sigma.rate("solute") / sigma.rate("thermal"))
        assert min_point_value(sigma.field(degree=3)) >= 0.0
    rates = mms.observed_rates([1.0 / n for n in ns], solute)
    # the total is exact to quadrature: the Slotboom state has nodal c ∝ exp(-S_T T), so
    # per cell int c_h'^2 / c_h = c_h' ln(c_1/c_0) = -S_T G c_h' and everything telescopes
    # to the wall values -- as in the continuum
    assert max(errors) < 1e-10, errors
    assert 1.5e-3 < 1 - expected / pure_conduction  # the solute's k_0 correction is resolved
    assert min(rates) > 1.9, (solute, rates)
    assert max(solute) < 1e-4, solute


def test_entropy_production_of_the_relaxing_soret_cell():
    """From a uniform start (J = -D S_T c0 grad T): the solute part equals
    R D S_T^2 c0 G^2 V, stays >= 0 at every point, decays like exp(-2 t / tau) (|J|^2)
    and vanishes at the steady state."""
    domain, T, transport = conduction_cell(64)
    transport.initialise(C_MEAN, total_mass=cell_mass())
    sigma = entropy_production(domain, T, transport.concentration, K_CELL, D_CELL, S_CELL)
    G = (T_HOT - T_COLD) / CELL_LENGTH
    volume = HEIGHT * CELL_LENGTH**2
    initial = sigma.rate("solute")
    expected = GAS_CONSTANT * D_CELL.value * S_CELL.value**2 * C_MEAN * G**2 * volume
    assert initial == pytest.approx(expected, rel=1e-4)

    tau = analytic.soret_cell_relaxation_time(D_CELL.value, S_CELL.value, T_HOT - T_COLD, CELL_LENGTH)
    steps_per_tau, history = 20, [initial]
    for _ in range(2 * steps_per_tau):
        transport.advance(tau / steps_per_tau)
        history.append(sigma.rate("solute"))
    assert min_point_value(sigma.field(degree=3, part="solute")) >= 0.0
    assert np.all(np.diff(history) < 0), history
    decay = -math.log(history[-1] / history[steps_per_tau]) / tau
    assert decay * tau == pytest.approx(2.0, rel=0.03), decay * tau
    transport.solve_steady(total_mass=cell_mass())
    assert sigma.rate("solute") < 1e-4 * initial
