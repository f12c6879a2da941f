"""Hydrodynamic references for resolved particles: wall corrections and far fields.

NumPy only. Used by the verification tests and benchmarks of the mobility problem, and
by :mod:`thermocfd.fem.mobility` for the far-field (Stokeslet / Blake) outer condition.
"""

from __future__ import annotations

import math

import numpy as np


def brenner_perpendicular_correction(wall_distance: float, radius: float, terms: int = 200) -> float:
    """Brenner (1961): drag on a sphere moving normal to a plane wall over ``6 pi mu a U``.

    ``lambda = 4/3 sinh(alpha) sum_n n(n+1)/((2n-1)(2n+3)) [(2 sinh((2n+1) alpha)
    + (2n+1) sinh(2 alpha)) / (4 sinh^2((n+1/2) alpha) - (2n+1)^2 sinh^2(alpha)) - 1]``
    with ``cosh(alpha) = h/a`` (h: centre-to-wall distance). Exact (series) for a no-slip
    wall; tends to ``1 + 9/8 a/h`` far from the wall.
    """
    if not wall_distance > radius > 0:
        raise ValueError("need wall_distance > radius > 0")
    alpha = math.acosh(wall_distance / radius)
    total = 0.0
    for n in range(1, terms + 1):
        k = 2 * n + 1
        # divide numerator and denominator by exp(k alpha) to avoid overflow
        num = 2.0 * math.sinh(k * alpha) + k * math.sinh(2.0 * alpha)
        den = 4.0 * math.sinh((n + 0.5) * alpha) ** 2 - k * k * math.sinh(alpha) ** 2
        if not math.isfinite(num) or not math.isfinite(den):
            break
        term = n * (n + 1) / ((2 * n - 1) * (2 * n + 3)) * (num / den - 1.0)
        total += term
        if abs(term) < 1e-16 * abs(total):
            break
    return 4.0 / 3.0 * math.sinh(alpha) * total


def faxen_parallel_correction(wall_distance: float, radius: float) -> float:
    """Faxen: drag on a (non-rotating) sphere translating parallel to a wall over ``6 pi mu a U``.

    ``1 / (1 - 9/16 x + 1/8 x^3 - 45/256 x^4 - 1/16 x^5)``, x = a/h; good for h/a >~ 2.
    """
    x = radius / wall_distance
    return 1.0 / (1.0 - 9.0 / 16.0 * x + 1.0 / 8.0 * x**3 - 45.0 / 256.0 * x**4 - 1.0 / 16.0 * x**5)


def stokeslet(x: np.ndarray, x0: np.ndarray, force: np.ndarray, viscosity: float) -> np.ndarray:
    """Velocity (3, N) of a point force at x0 in unbounded fluid (Oseen tensor)."""
    r = np.asarray(x, dtype=float) - np.asarray(x0, dtype=float)[:, None]
    dist = np.sqrt(np.sum(r * r, axis=0))
    f = np.asarray(force, dtype=float)
    rf = np.einsum("i,in->n", f, r)
    return (f[:, None] / dist + r * rf / dist**3) / (8.0 * math.pi * viscosity)


def blake_stokeslet(x: np.ndarray, x0: np.ndarray, force: np.ndarray, viscosity: float) -> np.ndarray:
    """Velocity (3, N) of a point force at x0 = (x0, y0, h) above the no-slip wall z = 0.

    Blake (1971): Stokeslet, image Stokeslet, image source doublet and Stokes doublet;
    vanishes on z = 0.
    """
    x = np.asarray(x, dtype=float)
    x0 = np.asarray(x0, dtype=float)
    f = np.asarray(force, dtype=float)
    h = x0[2]
    image = x0 * np.array([1.0, 1.0, -1.0])
    r = x - x0[:, None]
    R = x - image[:, None]
    rn = np.sqrt(np.sum(r * r, axis=0))
    Rn = np.sqrt(np.sum(R * R, axis=0))
    eye = np.eye(3)
    # S_ij(r) f_j - S_ij(R) f_j
    u = (f[:, None] / rn + r * np.einsum("i,in->n", f, r) / rn**3
         - f[:, None] / Rn - R * np.einsum("i,in->n", f, R) / Rn**3)
    # 2 h M_jj f_j D_ij(R), M = diag(1, 1, -1),
    # D_ik = d/dR_k [h R_i/R^3 - delta_i3/R - R_i R_3/R^3]
    g = f * np.array([1.0, 1.0, -1.0])  # g_k = M_kk f_k
    R3 = R[2]
    Rg = np.einsum("k,kn->n", g, R)
    term = (h * (g[:, None] / Rn**3 - 3.0 * R * Rg / Rn**5)
            + eye[:, 2][:, None] * Rg / Rn**3
            - (g[:, None] * R3 + R * g[2]) / Rn**3
            + 3.0 * R * R3 * Rg / Rn**5)
    u = u + 2.0 * h * term
    return u / (8.0 * math.pi * viscosity)
