"""Exact laminar flows used as inflow profiles and references (NumPy, no dolfinx)."""

from __future__ import annotations

import numpy as np


def duct_flow_profile(s: np.ndarray, t: np.ndarray, aspect: float, terms: int = 40) -> np.ndarray:
    """Fully developed flow in a rectangular duct, ``u / u_mean`` at the relative
    coordinates ``s, t`` in [0, 1] across the width W and the height H, ``aspect = W/H``.

    The Fourier series of the Poisson problem ``-Laplace u = const`` with u = 0 on the
    walls (e.g. White, Viscous Fluid Flow, eq. 3-48), summed over odd n up to ``2*terms``:
    ``u ∝ sum 1/n^3 [1 - cosh(n pi (s - 1/2) W/H) / cosh(n pi W/(2H))] sin(n pi t)``.
    """
    # outside the cross-section (where an interpolation also evaluates it) the flow is zero
    s, t = np.clip(np.asarray(s, dtype=float), 0.0, 1.0), np.clip(np.asarray(t, dtype=float), 0.0, 1.0)
    total = np.zeros(np.broadcast(s, t).shape)
    mean = 0.0
    for n in range(1, 2 * terms, 2):
        k = n * np.pi
        # cosh(a)/cosh(b) for large arguments without overflow
        ratio = np.exp(k * aspect * (np.abs(s - 0.5) - 0.5)) * (1.0 + np.exp(-2.0 * k * aspect * np.abs(s - 0.5))) \
            / (1.0 + np.exp(-k * aspect))
        total += (1.0 - ratio) * np.sin(k * t) / n**3
        # the mean over the cross-section of each term
        mean += (2.0 / k) / n**3 * (1.0 - 2.0 * np.tanh(0.5 * k * aspect) / (k * aspect))
    return total / mean
