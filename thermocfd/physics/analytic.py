"""Analytic reference results from the literature (DESIGN.md), in SI units.

Used by the verification tests, by the summaries (as "expected" values next to the
computed ones) and by the particle tracker's tests. NumPy only.
"""

from __future__ import annotations

import math

import numpy as np

from .soret import SoretLaw


def soret_cell_concentration_ratio(soret: SoretLaw, t_hot: float, t_cold: float) -> float:
    """Steady, no-flow ``c_cold / c_hot = exp(Phi(T_hot) - Phi(T_cold))``."""
    return float(np.exp(soret.soret_potential(t_hot) - soret.soret_potential(t_cold)))


def soret_cell_profile(soret: SoretLaw, temperature_of_x, length: float, x: np.ndarray,
                       mean_concentration: float = 1.0, quadrature_points: int = 200) -> np.ndarray:
    """Steady no-flow concentration c(x) in a cell 0 <= x <= length with T = T(x).

    ``c ∝ exp(-Phi(T(x)))``, normalised so that its mean over the cell is
    ``mean_concentration`` (the mass of a closed cell is what the initial state fixes).
    """
    xi, wi = np.polynomial.legendre.leggauss(quadrature_points)
    xq = 0.5 * length * (xi + 1.0)
    phi_ref = soret.soret_potential(temperature_of_x(np.array([0.0])))[0]
    integral = 0.5 * np.sum(wi * np.exp(-(soret.soret_potential(temperature_of_x(xq)) - phi_ref)))
    shape = np.exp(-(soret.soret_potential(temperature_of_x(np.asarray(x, dtype=float))) - phi_ref))
    return mean_concentration * shape / integral


def soret_cell_relaxation_time(diffusivity: float, soret_coefficient: float,
                               temperature_difference: float, length: float) -> float:
    """Slowest relaxation time of a closed Soret cell with constant D and S_T.

    The no-flux Sturm-Liouville problem ``c_t = D (c_xx + v c_x)``, ``v = S_T dT / L``
    has eigenvalues ``D (n^2 pi^2 / L^2 + v^2 / 4)``; n = 1 is the slowest.
    """
    v = soret_coefficient * temperature_difference / length
    return 1.0 / (diffusivity * (math.pi**2 / length**2 + 0.25 * v * v))


def anderson_phoretic_velocity(slip_coefficient: float, k_fluid: float, k_particle: float,
                               gradient: np.ndarray) -> np.ndarray:
    """Force-free sphere in unbounded fluid: ``U = -2 chi k_f / (2 k_f + k_p) grad T``."""
    return -2.0 * slip_coefficient * k_fluid / (2.0 * k_fluid + k_particle) * np.asarray(gradient)

