"""Gas properties and aerosol laws against published values and their limits."""

import numpy as np
import pytest

from thermocfd.physics import aerosol
from thermocfd.physics.aerosol import (AerosolParticle, HiemenzFlow, cunningham_correction, epstein_coefficient,
                                       talbot_coefficient, waldmann_coefficient)
from thermocfd.physics.gases import GASES, STANDARD_PRESSURE

AIR = GASES["air"]


def test_mean_free_path_of_air():
    """Hinds, Aerosol Technology (2nd ed.), sec. 2.5: 0.066 um at 293 K and 1 atm (computed
    with 0.499 for sqrt(2/pi)/... in mu = 0.499 rho cbar lambda; the kinetic definition gives 65.1 nm)."""
    assert AIR.mean_free_path(293.15) == pytest.approx(0.066e-6, rel=0.015)
    assert AIR.mean_free_path(293.15, 0.5 * STANDARD_PRESSURE) == pytest.approx(2 * AIR.mean_free_path(293.15))


@pytest.mark.parametrize("gas, T, mu, k", [
    # Incropera & DeWitt, Fundamentals of Heat and Mass Transfer, Table A.4 (1 atm)
    ("air", 300.0, 184.6e-7, 26.3e-3), ("air", 600.0, 305.8e-7, 46.9e-3), ("nitrogen", 300.0, 178.2e-7, 25.9e-3)])
def test_sutherland_laws_against_tables(gas, T, mu, k):
    assert GASES[gas].viscosity(T) == pytest.approx(mu, rel=0.015)
    assert GASES[gas].thermal_conductivity(T) == pytest.approx(k, rel=0.02)


def test_argon_prandtl_number_is_eucken_two_thirds():
    """A monatomic gas has k = (15/4)(R/M) mu (Chapman-Enskog), so Pr = c_p mu / k = 2/3."""
    for T in (300.0, 400.0):
        assert GASES["argon"].prandtl_number(T) == pytest.approx(2.0 / 3.0, rel=0.02)


def test_gas_laws_compile_in_ufl():
    """The same law as a UFL expression of a dolfinx Function equals the NumPy value."""
    import dolfinx.fem
    import dolfinx.mesh
    from mpi4py import MPI

    from thermocfd.fem import compat

    mesh = dolfinx.mesh.create_unit_interval(MPI.COMM_SELF, 4)
    V = compat.function_space(mesh, "Lagrange", 1)
    T = dolfinx.fem.Function(V)
    T.x.array[:] = np.linspace(280.0, 400.0, T.x.array.size)
    k = dolfinx.fem.Function(V)
    compat.interpolate(k, AIR.thermal_conductivity(T) * AIR.mean_free_path(T) / AIR.viscosity(T))
    np.testing.assert_allclose(k.x.array, AIR.thermal_conductivity(T.x.array) * AIR.mean_free_path(T.x.array)
                               / AIR.viscosity(T.x.array), rtol=1e-12)


@pytest.mark.parametrize("diameter, expected", [(0.01e-6, 22.2), (0.1e-6, 2.85), (1e-6, 1.164), (10e-6, 1.016)])
def test_cunningham_against_hinds_table(diameter, expected):
    """Hinds, Aerosol Technology, Table 3.2 (air, 293 K, 1 atm, lambda = 0.066 um)."""
    assert cunningham_correction(2 * 0.066e-6 / diameter) == pytest.approx(expected, rel=0.015)


def test_cunningham_limits():
    assert cunningham_correction(1e-6) == pytest.approx(1.0 + 1.257e-6, rel=1e-12)
    assert cunningham_correction(1e6) / 1e6 == pytest.approx(1.657, rel=1e-5)  # free molecular: A1 + A2


def test_talbot_at_a_point():
    """Kn = 1, K = 0.1: C_c = 2.257 + 0.4 e^-1.1, K_th = 2 (1.17) C_c (2.3) / ((4.438)(5.6))."""
    cc = 2.257 + 0.4 * np.exp(-1.1)
    assert talbot_coefficient(1.0, 0.1) == pytest.approx(2 * 1.17 * cc * 2.3 / (4.438 * 5.6), rel=1e-14)
    assert talbot_coefficient(1.0, 0.1, 1.17, 2.18, 1.14) == pytest.approx(
        2 * 1.17 * cc * 2.28 / (4.42 * 5.56), rel=1e-14)


@pytest.mark.parametrize("K", [0.01, 0.2, 1.0, 5.0])
def test_talbot_continuum_limit_is_epstein(K):
    """Kn -> 0: Talbot -> 2 Cs K/(1 + 2K), Epstein's form with Talbot's Cs = 1.17; Epstein's
    own Cs = 3/4 is 1.56 times smaller."""
    ratios = [talbot_coefficient(kn, K) / epstein_coefficient(K, creep=1.17) for kn in (1e-2, 1e-4, 1e-9)]
    assert abs(ratios[-1] - 1.0) < 1e-5
    assert abs(ratios[-1] - 1) < abs(ratios[-2] - 1) < abs(ratios[0] - 1)
    assert epstein_coefficient(K, creep=1.17) / epstein_coefficient(K) == pytest.approx(1.56)


def test_talbot_free_molecular_limit_is_waldmann():
    """Kn -> inf: Talbot -> Cs (A1 + A2)/(3 Cm), independent of the particle's conductivity;
    that is Waldmann's (3/4)/(1 + pi alpha/8) within 4.7 % (alpha = 1; exact for alpha = 0.84)."""
    limit = 1.17 * 1.657 / (3 * 1.146)
    for K in (0.01, 1.0, 100.0):
        ratios = [talbot_coefficient(kn, K) / limit for kn in (10.0, 1e3, 1e6)]
        assert abs(ratios[-1] - 1.0) < 1e-5
        assert abs(ratios[-1] - 1) < abs(ratios[1] - 1) + 1e-12 < abs(ratios[0] - 1) + 1e-12
    assert waldmann_coefficient(1.0) == pytest.approx(0.5385, abs=1e-4)
    assert limit / waldmann_coefficient(1.0) == pytest.approx(1.047, abs=1e-3)
    assert limit / waldmann_coefficient(0.84) == pytest.approx(1.0, abs=2e-3)


def test_particle_against_hinds_table():
    """A unit-density 1 um sphere in air at 293 K (Hinds, Table A.6): tau 3.6e-6 s, settling
    3.5e-5 m/s, D 2.76e-11 m^2/s."""
    particle = AerosolParticle(diameter=1e-6, density=1000.0, thermal_conductivity=0.2)
    assert particle.relaxation_time(AIR, 293.15) == pytest.approx(3.6e-6, rel=0.02)
    assert particle.settling_velocity(AIR, 293.15, 9.81) == pytest.approx(3.5e-5, rel=0.02)
    assert particle.diffusivity(AIR, 293.15) == pytest.approx(2.76e-11, rel=0.02)
    # Stokes-Einstein with slip: D = k_B T tau / m exactly
    assert particle.diffusivity(AIR, 300.0) == pytest.approx(
        1.380649e-23 * 300.0 * particle.relaxation_time(AIR, 300.0) / particle.mass, rel=1e-14)


def test_thermophoretic_velocity_direction_and_size():
    """Away from hot: v = -K_th nu grad T / T, of order 0.5 nu grad T / T for sub-um particles."""
    particle = AerosolParticle(diameter=0.5e-6, density=1050.0, thermal_conductivity=0.12)
    v = particle.thermophoretic_velocity(AIR, 300.0, [0.0, 1e4, 0.0])
    assert v[1] < 0 and v[0] == 0
    assert -v[1] / (AIR.kinematic_viscosity(300.0) * 1e4 / 300.0) == pytest.approx(
        particle.thermophoretic_coefficient(AIR, 300.0), rel=1e-14)
    assert 0.3 < particle.thermophoretic_coefficient(AIR, 300.0) < 0.6


def test_hiemenz_solution():
    """f''(0) = 1.2326 and displacement eta - f -> 0.6479 (White, Viscous Fluid Flow, sec. 3-8);
    the velocity field is divergence-free."""
    assert aerosol.hiemenz_wall_curvature() == pytest.approx(1.2326, abs=1e-4)
    flow = HiemenzFlow(strain_rate=10.0, kinematic_viscosity=1.6e-5)
    far = 10 * flow.length
    assert far / flow.length + flow.normal_velocity(far) / np.sqrt(10.0 * 1.6e-5) == pytest.approx(0.6479, abs=1e-4)
    x, z, h = 2e-3, np.linspace(0.1, 5, 9) * flow.length, 1e-7
    divergence = ((flow.velocity(x + h, z)[0] - flow.velocity(x - h, z)[0])
                  + (flow.velocity(x, z + h)[1] - flow.velocity(x, z - h)[1])) / (2 * h)
    assert np.max(np.abs(divergence)) < 1e-6 * 10.0


def test_hiemenz_temperature_solves_its_ode():
    """T(z) of the stagnation line satisfies k T'' = rho c_p w T' (finite differences)."""
    flow = HiemenzFlow(strain_rate=10.0, kinematic_viscosity=1.6e-5)
    Pr, gap = 0.7, 6 * flow.length
    z = np.linspace(0.05, 0.95, 200) * gap
    h = 1e-2 * flow.length
    T = lambda s: flow.temperature(s, gap, 350.0, 300.0, Pr)
    second = (T(z + h) - 2 * T(z) + T(z - h)) / h ** 2
    first = (T(z + h) - T(z - h)) / (2 * h)
    kappa = 1.6e-5 / Pr
    residual = kappa * second - flow.normal_velocity(z) * first
    assert np.max(np.abs(residual)) < 1e-4 * np.max(np.abs(kappa * second))
    assert T(0.0) == pytest.approx(350.0) and T(gap) == pytest.approx(300.0)
