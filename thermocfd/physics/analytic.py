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


# --- transient references (issue 11) ---------------------------------------------------
def _series_terms(rate: float, t: np.ndarray, length: float, terms: int | None) -> int:
    """Terms n = 1..N of a diffusion series ``sum exp(-rate (n pi/L)^2 t)`` so that the
    first one left out is below 1e-17 at the earliest positive time (capped at 100000)."""
    if terms is not None:
        return int(terms)
    positive = t[t > 0]
    if positive.size == 0:
        return 1
    n = length / math.pi * math.sqrt(40.0 / (rate * positive.min()))
    return int(min(100000, math.ceil(n) + 1))


def heat_slab_step_response(kappa: float, length: float, t_initial: float, t_hot: float, t_cold: float,
                            x: np.ndarray, t: np.ndarray, terms: int | None = None) -> np.ndarray:
    """T(t, x) in a slab 0 <= x <= L at ``t_initial`` whose walls are switched at t = 0 to
    ``t_hot`` (x = 0) and ``t_cold`` (x = L); kappa = k / (rho cp) in m^2/s.

    Exact Fourier series (Carslaw & Jaeger 3.4): ``T = T_s(x) + sum_n B_n sin(n pi x/L)
    exp(-kappa n^2 pi^2 t / L^2)`` with the linear steady profile T_s and
    ``B_n = 2/(n pi) [(T0 - T_hot) - (-1)^n (T0 - T_cold)]``. Returns shape (len(t), len(x));
    t = 0 gives the initial state inside and the wall values on the walls.
    """
    x = np.atleast_1d(np.asarray(x, dtype=float))
    t = np.atleast_1d(np.asarray(t, dtype=float))
    steady = t_hot + (t_cold - t_hot) * x / length
    result = np.empty((t.size, x.size))
    count = _series_terms(kappa, t, length, terms)
    n = np.arange(1, count + 1, dtype=float)
    b = 2.0 / (n * math.pi) * ((t_initial - t_hot) - (-1.0) ** n * (t_initial - t_cold))
    modes = np.sin(np.outer(n, x) * math.pi / length)
    for i, ti in enumerate(t):
        if ti <= 0.0:  # the series converges slowly at t = 0; the state is known exactly
            result[i] = np.where((x > 0) & (x < length), t_initial, steady)
            continue
        result[i] = steady + (b * np.exp(-kappa * (n * math.pi / length) ** 2 * ti)) @ modes
    return result


def soret_cell_transient_linear(diffusivity: float, soret_coefficient: float, t_hot: float, t_cold: float,
                                length: float, x: np.ndarray, t: np.ndarray, c0: float = 1.0,
                                terms: int | None = None) -> np.ndarray:
    """c(t, x) in a closed Soret cell (no-flux walls) with constant D and S_T in the
    linear profile T = T_hot + (T_cold - T_hot) x / L, from uniform c0 at t = 0.

    ``c_t = D (c_x + a c)_x`` with ``a = S_T dT/dx``. With ``c = exp(-a x/2) u`` the
    operator is self-adjoint and the no-flux eigenfunctions are
    ``exp(-a x/2) (cos k_n x - a/(2 k_n) sin k_n x)``, ``k_n = n pi / L``, with rates
    ``D (k_n^2 + a^2/4)`` (de Groot 1942; Bierlein 1955), plus the steady ``exp(-a x)``:
    ``c = c0 a L e^{-a x}/(1 - e^{-a L}) + sum_n b_n e^{-D(k_n^2 + a^2/4) t} e^{-a x/2}
    (cos k_n x - a/(2 k_n) sin k_n x)``, ``b_n = 2 c0 a k_n^2 ((-1)^n e^{a L/2} - 1) /
    (L (k_n^2 + a^2/4)^2)``. Returns shape (len(t), len(x)).
    """
    x = np.atleast_1d(np.asarray(x, dtype=float))
    t = np.atleast_1d(np.asarray(t, dtype=float))
    a = soret_coefficient * (t_cold - t_hot) / length
    result = np.full((t.size, x.size), float(c0))
    if a == 0.0:
        return result
    beta = 0.5 * a
    steady = c0 * a * length * np.exp(-a * x) / -math.expm1(-a * length)
    count = _series_terms(diffusivity, t, length, terms)
    k = np.arange(1, count + 1, dtype=float) * math.pi / length
    sign = (-1.0) ** np.arange(1, count + 1)
    weight = 4.0 * beta * k * k / (length * (k * k + beta * beta) ** 2)
    # b_n e^{-beta x} written with one exponent, so that e^{beta L} never overflows alone
    shape = (sign[:, None] * np.exp(beta * (length - x))[None, :] - np.exp(-beta * x)[None, :]) \
        * (np.cos(np.outer(k, x)) - (beta / k)[:, None] * np.sin(np.outer(k, x)))
    rates = diffusivity * (k * k + beta * beta)
    for i, ti in enumerate(t):
        if ti > 0.0:  # t = 0: uniform c0 exactly (the series converges slowly there)
            result[i] = steady + (c0 * weight * np.exp(-rates * ti)) @ shape
    return result


def _chebyshev(nodes: int, length: float) -> tuple[np.ndarray, np.ndarray]:
    """Chebyshev-Lobatto points on [0, L] (increasing) and the differentiation matrix
    (Trefethen, Spectral Methods in MATLAB, cheb.m)."""
    xi = np.cos(math.pi * np.arange(nodes + 1) / nodes)
    c = np.ones(nodes + 1)
    c[0] = c[-1] = 2.0
    c *= (-1.0) ** np.arange(nodes + 1)
    d = np.outer(c, 1.0 / c) / (xi[:, None] - xi[None, :] + np.eye(nodes + 1))
    d -= np.diag(d.sum(axis=1))  # negative-sum trick: rows of a derivative sum to zero
    # x = L (1 - xi) / 2 runs from 0 to L as j increases; d/dx = -(2/L) d/dxi
    return 0.5 * length * (1.0 - xi), -2.0 / length * d


def _barycentric(nodes_x: np.ndarray, values: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Interpolate values (..., n+1) at Chebyshev-Lobatto nodes to the points x."""
    n = nodes_x.size - 1
    w = (-1.0) ** np.arange(n + 1)
    w[0] *= 0.5
    w[-1] *= 0.5
    difference = x[:, None] - nodes_x[None, :]
    exact = difference == 0.0
    difference[exact] = 1.0
    kernel = w[None, :] / difference
    result = (values @ kernel.T) / kernel.sum(axis=1)
    rows, cols = np.nonzero(exact)
    result[..., rows] = values[..., cols]
    return result


# Radau IIA, 3 stages (order 5, L-stable, stiffly accurate: the last stage is the step)
_SQ6 = math.sqrt(6.0)
_RADAU_C = np.array([(4.0 - _SQ6) / 10.0, (4.0 + _SQ6) / 10.0, 1.0])
_RADAU_A = np.array([[(88.0 - 7.0 * _SQ6) / 360.0, (296.0 - 169.0 * _SQ6) / 1800.0, (-2.0 + 3.0 * _SQ6) / 225.0],
                     [(296.0 + 169.0 * _SQ6) / 1800.0, (88.0 + 7.0 * _SQ6) / 360.0, (-2.0 - 3.0 * _SQ6) / 225.0],
                     [(16.0 - _SQ6) / 36.0, (16.0 + _SQ6) / 36.0, 1.0 / 9.0]])


def soret_cell_transient(diffusivity, soret, temperature_of_x_t, length: float, times: np.ndarray,
                         x: np.ndarray, c0: float = 1.0, breakpoints=(), nodes: int = 48,
                         max_step: float | None = None, first_step: float = 1e-9,
                         growth: float = 1.1) -> np.ndarray:
    """Reference c(t, x) of a closed 1D Soret cell (no-flux walls at x = 0 and L) from
    uniform c0 at t = 0 in a given temperature T(x, t):
    ``c_t = (D(T) (c_x + c S_T(T) T_x))_x`` (DESIGN.md flux, no flow).

    ``diffusivity``/``soret``: laws with ``.diffusivity(T)`` / ``.soret_potential(T)`` (or
    plain numbers for constants). ``temperature_of_x_t(x, t)`` takes an array of x (m) and
    a time (s) and must be smooth in x; ``breakpoints`` are times where it jumps or kinks
    in time (e.g. :meth:`Schedule.breakpoints`): the integration restarts there.

    Method: Chebyshev collocation on ``nodes`` + 1 Lobatto points in flux form
    ``c_t = d/dx F``, ``F = D (c_x + c dPhi(T)/dx)`` with F = 0 imposed at both walls, so the
    mass of the interpolant (Clenshaw-Curtis, exact for it) is conserved to round-off;
    Radau IIA (order 5) steps graded geometrically (``first_step`` x the diffusion time
    L^2/(pi^2 D), ratio ``growth``) from t = 0 and every breakpoint up to ``max_step``
    (default 1/100 of the diffusion time); a step ending at a breakpoint sees T from just
    before it. Against the exact series for a linear profile (S_T dT = 1) it agrees to
    1e-10 relative for t >= 0.01 L^2/(pi^2 D); earlier, the wall layers left by the
    uniform start need more nodes (1e-7 at 1e-3 L^2/(pi^2 D) with 48).
    Returns shape (len(times), len(x)); needs times >= 0 and 0 <= x <= L.
    """
    from .diffusivity import ConstantDiffusivity
    from .soret import ConstantSoret

    if isinstance(diffusivity, (int, float)):
        diffusivity = ConstantDiffusivity(float(diffusivity))
    if isinstance(soret, (int, float)):
        soret = ConstantSoret(float(soret))
    times = np.atleast_1d(np.asarray(times, dtype=float))
    x = np.atleast_1d(np.asarray(x, dtype=float))
    if times.size and times.min() < 0.0:
        raise ValueError("times must be >= 0 (the cell is uniform at t = 0)")
    if x.size and (x.min() < 0.0 or x.max() > length):
        raise ValueError(f"x must lie in the cell [0, {length}]")
    grid, dx = _chebyshev(nodes, length)
    size = grid.size

    cache: dict[str, np.ndarray] = {}  # the last T and its operator: T is often steady for a while

    def operator(t: float) -> np.ndarray:
        T = np.asarray(temperature_of_x_t(grid, t), dtype=float) * np.ones(size)
        if "T" in cache and np.array_equal(T, cache["T"]):
            return cache["A"]
        d = np.asarray(diffusivity.diffusivity(T), dtype=float) * np.ones(size)
        drift = dx @ np.asarray(soret.soret_potential(T), dtype=float)  # S_T T_x = dPhi(T(x))/dx
        flux = d[:, None] * (dx + np.diag(drift))
        flux[0] = flux[-1] = 0.0  # no-flux walls
        cache.update(T=T, A=dx @ flux)
        return cache["A"]

    t_end = float(times.max()) if times.size else 0.0
    restarts = sorted({0.0, *(float(b) for b in breakpoints if 0.0 < b < t_end)})
    ends = [*restarts[1:], t_end]
    step_ends: list[float] = []
    for start, end in zip(restarts, ends):
        temperature = np.asarray(temperature_of_x_t(grid, start), dtype=float) * np.ones(size)
        scale = length**2 / (math.pi**2 * float(np.max(diffusivity.diffusivity(temperature))))
        h_max = max_step if max_step is not None else 0.01 * scale
        h, t = first_step * scale, start
        while t < end:
            t = min(end, t + min(h, h_max))
            step_ends.append(t)
            h *= growth
    grid_times = np.union1d(step_ends, times[times > 0.0])  # land on every output time

    c = np.full(size, float(c0))
    out = np.empty((times.size, size))
    out[times == 0.0] = c
    system = np.empty((3 * size, 3 * size))
    t = 0.0
    for t_next in grid_times:
        h = t_next - t
        # the last stage is the step's end approached from inside (one ulp), so a step that
        # ends where a schedule jumps sees the level before the jump
        stages = [operator(t + ci * h) for ci in _RADAU_C[:2]] + [operator(np.nextafter(t_next, t))]
        # stage values Y_i = c + h sum_j a_ij A_j Y_j, solved as one (3n x 3n) linear system
        for i in range(3):
            for j in range(3):
                system[i * size:(i + 1) * size, j * size:(j + 1) * size] = -h * _RADAU_A[i, j] * stages[j]
        system[np.diag_indices(3 * size)] += 1.0
        c = np.linalg.solve(system, np.tile(c, 3))[2 * size:]
        t = t_next
        out[times == t] = c
    return _barycentric(grid, out, x)
