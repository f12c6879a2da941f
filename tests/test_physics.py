"""Physics laws and analytic references (NumPy only, no dolfinx)."""

import math

import numpy as np
import pytest
from scipy.integrate import trapezoid

from thermocfd.physics import (BOLTZMANN, ConstantSoret, HeatOfTransportSoret, PiazzaSoret,
                               StokesEinsteinDiffusivity, WaterViscosity, analytic)

SORET_LAWS = [ConstantSoret(0.05), PiazzaSoret(0.1, 295.0, 20.0), HeatOfTransportSoret(2e-19)]


@pytest.mark.parametrize("law", SORET_LAWS, ids=lambda law: type(law).__name__)
def test_soret_potential_is_the_integral_of_the_coefficient(law):
    T = np.linspace(280.0, 350.0, 50)
    h = 1e-3
    derivative = (law.soret_potential(T + h) - law.soret_potential(T - h)) / (2 * h)
    assert np.allclose(derivative, law.soret_coefficient(T), rtol=1e-6, atol=1e-10)


def test_piazza_changes_sign_at_t_star():
    law = PiazzaSoret(0.1, 295.0, 20.0)
    assert law.soret_coefficient(295.0) == pytest.approx(0.0, abs=1e-15)
    assert law.soret_coefficient(280.0) < 0 < law.soret_coefficient(310.0)
    assert law.soret_coefficient(1e4) == pytest.approx(0.1)


def test_heat_of_transport_law():
    law = HeatOfTransportSoret(2e-19)
    assert law.soret_coefficient(300.0) == pytest.approx(2e-19 / (BOLTZMANN * 300.0**2))


@pytest.mark.parametrize("T, mu_iapws", [(273.16, 1.7914e-3), (293.15, 1.0016e-3),
                                          (323.15, 0.5465e-3), (363.15, 0.3145e-3)])
def test_water_viscosity_against_iapws(T, mu_iapws):
    """IAPWS 2008 values at 0.1 MPa; the Vogel fit is good to about 2.5 %."""
    assert WaterViscosity().viscosity(T) == pytest.approx(mu_iapws, rel=0.025)


def test_stokes_einstein():
    law = StokesEinsteinDiffusivity(radius=1e-6, viscosity=WaterViscosity())
    T = 298.15
    expected = BOLTZMANN * T / (6 * math.pi * WaterViscosity().viscosity(T) * 1e-6)
    assert law.diffusivity(T) == pytest.approx(expected)
    assert 2.0e-13 < law.diffusivity(T) < 2.6e-13  # 1 um bead in water: ~0.22 um^2/s


def test_soret_profile_is_normalised_and_exponential():
    law, L = ConstantSoret(0.3), 1e-4

    def T_of_x(x):
        return 310.0 - 10.0 * np.asarray(x) / L

    x = np.linspace(0, L, 2001)
    c = analytic.soret_cell_profile(law, T_of_x, L, x, mean_concentration=2.0)
    assert trapezoid(c, x) / L == pytest.approx(2.0, rel=1e-6)
    assert c[-1] / c[0] == pytest.approx(math.exp(3.0), rel=1e-12)
    assert analytic.soret_cell_concentration_ratio(law, 310.0, 300.0) == pytest.approx(math.exp(3.0))


def test_relaxation_time_limits():
    assert analytic.soret_cell_relaxation_time(1e-11, 0.0, 10.0, 1e-4) == pytest.approx(1e-8 / (1e-11 * math.pi**2))
    fast = analytic.soret_cell_relaxation_time(1e-11, 1.0, 10.0, 1e-4)
    assert fast < analytic.soret_cell_relaxation_time(1e-11, 0.1, 10.0, 1e-4)


def test_anderson_direction():
    """chi > 0 (fluid creeps to hot) -> the particle moves to cold, -grad T."""
    U = analytic.anderson_phoretic_velocity(1e-10, 0.6, 0.3, np.array([1e4, 0, 0]))
    assert U[0] < 0 and U[0] == pytest.approx(-2 * 1e-10 * 0.6 / 1.5 * 1e4)


@pytest.mark.parametrize("T, rho, beta, k, cp", [
    # IAPWS-95 / IAPWS 2011 reference values at 0.1 MPa
    (277.13, 999.97, 0.0, 0.5705, 4204.8),
    (293.15, 998.21, 2.068e-4, 0.5984, 4184.1),
    (323.15, 988.03, 4.57e-4, 0.6435, 4180.8),
    (353.15, 971.79, 6.43e-4, 0.6701, 4196.6),
])
def test_water_properties_against_iapws(T, rho, beta, k, cp):
    from thermocfd.physics import water

    assert water.WaterDensity().at(T) == pytest.approx(rho, rel=1e-4)
    assert water.WaterThermalExpansion().at(T) == pytest.approx(beta, rel=0.02, abs=2e-6)
    assert water.WaterThermalConductivity().at(T) == pytest.approx(k, rel=0.02)
    assert water.WaterHeatCapacity().at(T) == pytest.approx(cp, rel=2e-3)
