"""Every Soret law through the Slotboom transport solver in a closed Soret cell.

Steady, no flow, T linear from the hot wall (x = 0) to the cold one (x = L): the exact
state is ``c(x) ∝ exp(-int_{T_hot}^{T(x)} S_T dT)``, normalised by the mass. The
reference integrates each law's ``soret_coefficient`` with scipy's quadrature, not its
``soret_potential`` (which the solver uses), so a wrong potential fails here. The
Slotboom scheme is exact at the nodes for the potential it is given, so the ratio and
the profile agree to near round-off; every law moves c by at least a factor 2 across
the cell, so a sign error could not pass either.
"""

import math

import dolfinx.fem
import numpy as np
import pytest
from scipy.integrate import quad

from thermocfd.fem import compat
from thermocfd.fem.mesh import structured_domain
from thermocfd.fem.transport import SoretTransportProblem
from thermocfd.physics import (BOLTZMANN, ConstantDiffusivity, ConstantSoret, HeatOfTransportSoret,
                               MolarMassScalingSoret, PiazzaSoret, SizeScalingSoret, TabulatedSoret)
from thermocfd.physics.internal_states import two_state_model
from thermocfd.physics.soret import GOOD_SOLVENT_EXPONENT

T_HOT, T_COLD = 320.0, 290.0
LENGTH = 1e-4  # m
TABLE_NODES = (295.0, 300.0, 305.0, 315.0)  # the cell's range also samples both constant ends
ENERGY_GAP = 40.0 * BOLTZMANN * 300.0  # both states equally populated at 305 K
LAWS = {
    "constant": ConstantSoret(0.05),
    "piazza": PiazzaSoret(s_inf=0.1, t_star=295.0, t0=10.0),  # sign change inside the cell
    "heat_of_transport": HeatOfTransportSoret(6.2e-20),
    "bead_radius": SizeScalingSoret.linear_in_radius(0.02, reference_radius=100e-9, radius=250e-9),
    "bead_area": SizeScalingSoret.surface_area(0.01, reference_radius=100e-9, radius=200e-9),
    "polymer": MolarMassScalingSoret(0.01, reference_molar_mass=100.0, molar_mass=1000.0,
                                     exponent=GOOD_SOLVENT_EXPONENT),
    "tabulated": TabulatedSoret(TABLE_NODES, (-0.02, 0.03, 0.08, 0.12)),
    "internal_states": two_state_model(ENERGY_GAP, [ConstantDiffusivity(1e-11), ConstantDiffusivity(1e-10)],
                                       degeneracy_ratio=math.exp(40.0 * 300.0 / 305.0)),
}


def exponent(law, T: float) -> float:
    """int_{T_hot}^{T} S_T dT by adaptive quadrature of the coefficient."""
    kinks = [t for t in TABLE_NODES if min(T, T_HOT) < t < max(T, T_HOT)]
    return quad(law.soret_coefficient, T_HOT, T, points=kinks or None, epsabs=0.0, epsrel=1e-13)[0]


def reference_profile(law, T: np.ndarray, mean_concentration: float) -> np.ndarray:
    """c(T(x)) for a linear T: the mean over x is the mean over T."""
    mean_shape = quad(lambda t: math.exp(-exponent(law, t)), T_COLD, T_HOT, points=TABLE_NODES,
                      epsabs=0.0, epsrel=1e-12)[0] / (T_HOT - T_COLD)
    return mean_concentration * np.exp(-np.array([exponent(law, t) for t in T])) / mean_shape


def steady_cell(law):
    domain = structured_domain([1.0, 0.1], [40, 4], {"hot": lambda x: np.isclose(x[0], 0.0),
                                                    "cold": lambda x: np.isclose(x[0], 1.0),
                                                    "walls": lambda x: np.full(x.shape[1], True)},
                               length_scale=LENGTH)
    T = dolfinx.fem.Function(compat.function_space(domain.mesh, "Lagrange", 1))
    compat.interpolate(T, T_HOT + (T_COLD - T_HOT) * domain.physical_coordinates()[0] / LENGTH)
    problem = SoretTransportProblem(domain, T, ConstantDiffusivity(1e-11), law, reference_temperature=T_HOT)
    volume = LENGTH * 0.1 * LENGTH
    c = problem.solve_steady(total_mass=1.0 * volume)
    x = problem.V.tabulate_dof_coordinates()[:, 0]
    return x, T.x.array.copy(), c.x.array.copy()


@pytest.mark.parametrize("name", LAWS)
def test_soret_cell_with_each_law(name):
    law = LAWS[name]
    x, T, c = steady_cell(law)
    expected_ratio = math.exp(-exponent(law, T_COLD))
    assert expected_ratio >= 2.0  # the test is sharp: a flipped sign gives <= 1/2
    ratio = c[np.isclose(x, 1.0)].mean() / c[np.isclose(x, 0.0)].mean()
    assert ratio == pytest.approx(expected_ratio, rel=1e-12)
    profile_error = np.abs(c / reference_profile(law, T, 1.0) - 1.0).max()
    assert profile_error < 1e-6  # measured 2e-14 (smooth laws) to 6e-8 (the table: its kinks lie inside cells)
