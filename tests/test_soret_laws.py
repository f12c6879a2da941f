"""The Soret-law library and the slip laws chi(T): values at hand-computed points, the
potential's derivative against the coefficient, the power-law exponents, the tabulated
law on UFL expressions, and the input checks."""

import math
import re

import numpy as np
import pytest

from thermocfd.physics import (BOLTZMANN, ConstantDiffusivity, ConstantSlip, ConstantSoret, HeatOfTransportSoret,
                               LinearSlip, MolarMassScalingSoret, PiazzaSoret, SizeScalingSoret, SoretLaw,
                               TabulatedSlip, TabulatedSoret)
from thermocfd.physics.internal_states import two_state_model
from thermocfd.physics.soret import GOOD_SOLVENT_EXPONENT, THETA_SOLVENT_EXPONENT

TABLE = TabulatedSoret((280.0, 290.0, 300.0), (0.0, 0.1, 0.05))
ENERGY_GAP = 10.0 * BOLTZMANN * 300.0
TWO_STATES = two_state_model(ENERGY_GAP, [ConstantDiffusivity(1e-11), ConstantDiffusivity(3e-11)],
                             degeneracy_ratio=math.exp(10.0))

LAWS = {
    "constant": ConstantSoret(0.03),
    "piazza": PiazzaSoret(s_inf=0.1, t_star=300.0, t0=10.0),
    "heat_of_transport": HeatOfTransportSoret(BOLTZMANN * 300.0**2 * 0.02),
    "bead_size": SizeScalingSoret(0.01, reference_radius=100e-9, radius=300e-9, exponent=2.0),
    "polymer": MolarMassScalingSoret(0.01, reference_molar_mass=10.0, molar_mass=40.0, exponent=0.5),
    "tabulated": TABLE,
    "internal_states": TWO_STATES,
}


# --- values at known points ------------------------------------------------------------------
def test_constant_and_temperature_laws_at_known_points():
    assert LAWS["constant"].soret_coefficient(np.array([280.0, 350.0])) == pytest.approx([0.03, 0.03])
    piazza = LAWS["piazza"]
    # S_T = 0 at T*, and S_inf/2 where exp((T* - T)/T0) = 1/2
    assert piazza.soret_coefficient(300.0) == pytest.approx(0.0, abs=1e-15)
    assert piazza.soret_coefficient(300.0 + 10.0 * math.log(2.0)) == pytest.approx(0.05, rel=1e-12)
    heat = LAWS["heat_of_transport"]
    assert heat.soret_coefficient(np.array([300.0, 600.0])) == pytest.approx([0.02, 0.005], rel=1e-12)


def test_size_and_molar_mass_scaling_at_known_points():
    assert LAWS["bead_size"].soret_coefficient(300.0) == pytest.approx(0.09, rel=1e-12)  # 0.01 x 3^2
    assert LAWS["polymer"].soret_coefficient(300.0) == pytest.approx(0.02, rel=1e-12)  # 0.01 x 4^0.5
    linear = SizeScalingSoret.linear_in_radius(0.01, reference_radius=100e-9, radius=300e-9)
    area = SizeScalingSoret.surface_area(0.01, reference_radius=100e-9, radius=300e-9)
    assert (linear.exponent, area.exponent) == (1.0, 2.0)
    assert linear.soret_coefficient(np.array([280.0, 330.0])) == pytest.approx([0.03, 0.03], rel=1e-12)
    assert area.coefficient == pytest.approx(0.09, rel=1e-12)


def test_tabulated_law_at_nodes_between_and_outside():
    T = np.array([270.0, 280.0, 285.0, 290.0, 295.0, 300.0, 310.0])
    assert TABLE.soret_coefficient(T) == pytest.approx([0.0, 0.0, 0.05, 0.1, 0.075, 0.05, 0.05], abs=1e-15)
    # hand integrals of the interpolant from 280 K: 5*0.05/2, 10*0.1/2, + 5*(0.1+0.075)/2, + 10*0.075,
    # then the constant end value 0.05 over 10 K (below 280 K the constant 0 adds nothing)
    expected = [0.0, 0.0, 0.125, 0.5, 0.9375, 1.25, 1.75]
    phi = TABLE.soret_potential(T)
    assert phi - phi[1] == pytest.approx(expected, abs=1e-13)
    assert TABLE.soret_coefficient(295.0) == pytest.approx(0.075, abs=1e-15)  # a Python float works too


def test_internal_state_law_matches_two_state_formulas():
    """Two states (E = 0, g = 1, D1) and (dE, g2, D2): ``S_T = p1 p2 (D2 - D1) dE / (k T^2 <D>)``,
    ``Phi = ln <D> + const``."""
    T = np.array([280.0, 300.0, 330.0])
    boltzmann_factor = math.exp(10.0) * np.exp(-ENERGY_GAP / (BOLTZMANN * T))
    p2 = boltzmann_factor / (1.0 + boltzmann_factor)
    p1 = 1.0 - p2
    mean_d = 1e-11 * p1 + 3e-11 * p2
    expected = p1 * p2 * 2e-11 * ENERGY_GAP / (BOLTZMANN * T**2 * mean_d)
    assert TWO_STATES.soret_coefficient(T) == pytest.approx(expected, rel=1e-12)
    phi = TWO_STATES.soret_potential(T)
    assert phi - phi[0] == pytest.approx(np.log(mean_d / mean_d[0]), abs=1e-13)
    assert p2[1] == pytest.approx(0.5)  # the populations cross in the range tested
    assert isinstance(TWO_STATES, SoretLaw)


def test_slip_laws_at_known_points():
    T = np.array([280.0, 300.0, 320.0])
    assert ConstantSlip(2e-10).slip_coefficient(T) == pytest.approx([2e-10] * 3)
    linear = LinearSlip(value=2e-10, reference_temperature=300.0, slope=-1e-12)
    assert linear.slip_coefficient(T) == pytest.approx([2.2e-10, 2e-10, 1.8e-10], rel=1e-12)
    table = TabulatedSlip((290.0, 310.0), (1e-10, 3e-10))
    assert table.slip_coefficient(np.array([250.0, 290.0, 295.0, 310.0, 400.0])) == pytest.approx(
        [1e-10, 1e-10, 1.5e-10, 3e-10, 3e-10], rel=1e-12)


# --- the potential is the integral of the coefficient ----------------------------------------
@pytest.mark.parametrize("name", LAWS)
def test_potential_derivative_is_the_coefficient(name):
    """Central differences of Phi against S_T from 260 K to 340 K, through the tabulated
    law's nodes (Phi is C^1 there: the difference is off by |slope jump| h / 4 <= 4e-8)."""
    law, h = LAWS[name], 1e-5
    T = np.concatenate([np.linspace(260.0, 340.0, 33), [280.0, 290.0, 300.0, 287.3]])
    derivative = (law.soret_potential(T + h) - law.soret_potential(T - h)) / (2.0 * h)
    assert np.abs(derivative - law.soret_coefficient(T)).max() < 1e-7


def test_scaling_laws_give_their_exponent_back():
    radii, masses = np.array([50e-9, 2e-6]), np.array([5.0, 2000.0])
    for exponent in (1.0, 2.0):
        beads = [SizeScalingSoret(0.02, 100e-9, a, exponent).soret_coefficient(300.0) for a in radii]
        assert math.log(beads[1] / beads[0]) / math.log(radii[1] / radii[0]) == pytest.approx(exponent, rel=1e-12)
    for exponent in (THETA_SOLVENT_EXPONENT, GOOD_SOLVENT_EXPONENT):
        chains = [MolarMassScalingSoret(0.01, 100.0, m, exponent).soret_coefficient(300.0) for m in masses]
        assert math.log(chains[1] / chains[0]) / math.log(masses[1] / masses[0]) == pytest.approx(exponent,
                                                                                                 rel=1e-12)
    assert (THETA_SOLVENT_EXPONENT, GOOD_SOLVENT_EXPONENT) == (0.5, 0.588)


# --- UFL ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", LAWS)
def test_laws_on_ufl_match_numpy_quadrature(name):
    """A mesh of the temperature axis 265..335 K (5 K cells, vertices at the table's nodes):
    int S_T dT and int Phi dT assembled from UFL, with T the coordinate and with T a P1
    Function, against scipy's adaptive quadrature of the NumPy evaluation."""
    dolfinx = pytest.importorskip("dolfinx")
    import dolfinx.fem
    import dolfinx.mesh
    import ufl
    from mpi4py import MPI
    from scipy.integrate import quad

    from thermocfd.fem import compat

    law = LAWS[name]
    mesh = dolfinx.mesh.create_interval(MPI.COMM_WORLD, 14, [265.0, 335.0])
    coordinate = ufl.SpatialCoordinate(mesh)[0]
    T_function = dolfinx.fem.Function(compat.function_space(mesh, "Lagrange", 1))
    compat.interpolate(T_function, coordinate)
    dx = ufl.dx(domain=mesh, metadata={"quadrature_degree": 10})
    for method in ("soret_coefficient", "soret_potential"):
        function = getattr(law, method)
        expected = quad(function, 265.0, 335.0, points=[280.0, 290.0, 300.0], epsabs=0.0, epsrel=1e-13)[0]
        for T in (coordinate, T_function):
            local = dolfinx.fem.assemble_scalar(dolfinx.fem.form(function(T) * dx))
            assert mesh.comm.allreduce(local, op=MPI.SUM) == pytest.approx(expected, rel=1e-11), (method, T)


def test_tabulated_laws_on_ufl_are_exact_and_differentiable():
    """On cells whose vertices hold the table's nodes S_T is linear and Phi quadratic, so a
    degree-2 rule is exact; UFL's derivative of Phi is S_T (what a Newton solver differentiates)."""
    dolfinx = pytest.importorskip("dolfinx")
    import dolfinx.fem
    import dolfinx.mesh
    import ufl
    from mpi4py import MPI

    mesh = dolfinx.mesh.create_interval(MPI.COMM_WORLD, 14, [265.0, 335.0])
    T = ufl.variable(ufl.SpatialCoordinate(mesh)[0])
    dx = ufl.dx(domain=mesh, metadata={"quadrature_degree": 2})

    def integral(expression):
        return mesh.comm.allreduce(dolfinx.fem.assemble_scalar(dolfinx.fem.form(expression * dx)), op=MPI.SUM)

    # 0.5 + 0.75 from the trapezoids, 0.05 x 35 K above the table, zero below it
    assert integral(TABLE.soret_coefficient(T)) == pytest.approx(0.5 + 0.75 + 1.75, rel=1e-13)
    mismatch = ufl.diff(TABLE.soret_potential(T), T) - TABLE.soret_coefficient(T)
    assert integral(mismatch**2) < 1e-28
    slip = TabulatedSlip((290.0, 310.0), (1e-10, 3e-10))
    # 25 K at 1e-10, the 20 K ramp (mean 2e-10), 25 K at 3e-10
    assert integral(slip.slip_coefficient(T)) == pytest.approx(25e-10 + 40e-10 + 75e-10, rel=1e-13)
    linear = LinearSlip(value=2e-10, reference_temperature=300.0, slope=-1e-12)
    assert integral(linear.slip_coefficient(T)) == pytest.approx(70.0 * 2e-10, rel=1e-12)


# --- bad input -------------------------------------------------------------------------------
@pytest.mark.parametrize("make, message", [
    (lambda: TabulatedSoret((300.0, 290.0), (0.1, 0.2)), "strictly increasing; 290.0 K follows 300.0 K"),
    (lambda: TabulatedSoret((290.0, 290.0, 300.0), (0.1, 0.2, 0.3)), "strictly increasing"),
    (lambda: TabulatedSoret((290.0, 300.0, 310.0), (0.1, 0.2)), "3 temperatures but 2 values"),
    (lambda: TabulatedSoret((290.0,), (0.1,)), "at least two points"),
    (lambda: TabulatedSoret((-10.0, 300.0), (0.1, 0.2)), "temperatures must be positive"),
    (lambda: TabulatedSoret((290.0, 300.0), (0.1, math.nan)), "values must be finite"),
    (lambda: TabulatedSlip((300.0, 290.0), (1e-10, 2e-10)), "tabulated slip coefficient: temperatures must be "
                                                            "strictly increasing"),
    (lambda: TabulatedSlip((290.0, 300.0), (1e-10,)), "2 temperatures but 1 values"),
    (lambda: SizeScalingSoret(0.01, 100e-9, 0.0, 1.0), "radius must be positive"),
    (lambda: SizeScalingSoret(0.01, -1e-7, 1e-7, 1.0), "reference_radius must be positive"),
    (lambda: MolarMassScalingSoret(0.01, 10.0, -5.0, 0.5), "molar_mass must be positive"),
    (lambda: MolarMassScalingSoret(0.01, 0.0, 5.0, 0.5), "reference_molar_mass must be positive"),
    (lambda: LinearSlip(1e-10, 0.0, 1e-12), "reference_temperature must be positive"),
])
def test_bad_input_is_a_value_error_saying_why(make, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        make()


def test_tabulated_law_is_a_frozen_table_of_floats():
    law = TabulatedSoret([280, 290], [0, 1])
    assert law.temperatures == (280.0, 290.0) and law.values == (0.0, 1.0)
    assert law == TabulatedSoret((280.0, 290.0), (0.0, 1.0)) and hash(law) == hash(TabulatedSoret((280, 290), (0, 1)))
    with pytest.raises(AttributeError):
        law.values = (1.0, 2.0)
