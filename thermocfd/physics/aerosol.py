"""Aerosol particles in a gas: slip correction, thermophoresis, drag, diffusion, inertia.

Knudsen number ``Kn = 2 lambda / d`` (lambda: the gas's kinetic mean free path,
:meth:`thermocfd.physics.gases.IdealGas.mean_free_path`), particle diameter d.

* Cunningham slip correction ``C_c = 1 + Kn (A1 + A2 exp(-A3 / Kn))`` with A1 = 1.257,
  A2 = 0.4, A3 = 1.1 (Davies 1945, as in Hinds, *Aerosol Technology*, 2nd ed., eq. 3.20).
* Thermophoretic velocity ``v = -K_th nu grad T / T`` (nu: the gas's kinematic viscosity):
  Talbot, Cheng, Schefer & Willis, J. Fluid Mech. 101, 737 (1980), eq. (19),
  ``K_th = 2 Cs C_c (K + Ct Kn) / ((1 + 3 Cm Kn)(1 + 2 K + 2 Ct Kn))``, K = k_gas/k_particle,
  with Cs = 1.17 (thermal creep), Ct = 2.2 (temperature jump) and Cm = 1.146 (momentum
  exchange) as COMSOL and FDS use (Talbot's fit rounds to 2.18 and 1.14).
  Continuum limit (Epstein, Z. Phys. 54, 537, 1929): ``K_th = 2 Cs K / (1 + 2 K)``, i.e.
  ``v = -(3/2) nu k_g / (2 k_g + k_p) grad T / T`` with Maxwell's creep coefficient
  Cs = 3/4 that Epstein used; Talbot's Kn -> 0 limit is this form with Cs = 1.17 (Brock 1962).
  Free-molecular limit (Waldmann, Z. Naturforsch. 14a, 589, 1959):
  ``K_th = (3/4) / (1 + pi alpha / 8)`` (alpha: momentum accommodation), 0.538 for alpha = 1.
  Talbot's formula tends to ``Cs (A1 + A2) / (3 Cm)`` = 0.564 there: Waldmann's value for
  alpha = 0.84, 4.7 % above alpha = 1.
* Stokes drag with slip: friction ``f = 3 pi mu d / C_c``; Brownian diffusivity
  ``D = k_B T / f``; relaxation time ``tau = m / f = rho_p d^2 C_c / (18 mu)``; settling
  velocity ``tau g`` (buoyancy in a gas is below 1e-3 of the weight and left out).

The Hiemenz stagnation-point flow (the downflow of a showerhead onto a wafer) and the 1D
references of the particle-free zone above a heated wafer are at the end.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .constants import BOLTZMANN
from .gases import STANDARD_PRESSURE, IdealGas
from .mathfuncs import exp

PI = 3.141592653589793


# --- laws of Kn ------------------------------------------------------------------------------
def knudsen_number(mean_free_path, diameter):
    """``Kn = 2 lambda / d``."""
    return 2.0 * mean_free_path / diameter


def cunningham_correction(knudsen, a1: float = 1.257, a2: float = 0.4, a3: float = 1.1):
    """``C_c = 1 + Kn (A1 + A2 exp(-A3/Kn))``."""
    return 1.0 + knudsen * (a1 + a2 * exp(-a3 / knudsen))


def talbot_coefficient(knudsen, conductivity_ratio, creep: float = 1.17, temperature_jump: float = 2.2,
                       momentum_exchange: float = 1.146):
    """Talbot's K_th (``v = -K_th nu grad T / T``); ``conductivity_ratio`` K = k_gas/k_particle."""
    K, Kn = conductivity_ratio, knudsen
    return (2.0 * creep * cunningham_correction(Kn) * (K + temperature_jump * Kn)
            / ((1.0 + 3.0 * momentum_exchange * Kn) * (1.0 + 2.0 * K + 2.0 * temperature_jump * Kn)))


def epstein_coefficient(conductivity_ratio, creep: float = 0.75):
    """Epstein's continuum K_th = 2 Cs K / (1 + 2 K) (Cs = 3/4: Epstein's own)."""
    return 2.0 * creep * conductivity_ratio / (1.0 + 2.0 * conductivity_ratio)


def waldmann_coefficient(accommodation: float = 1.0) -> float:
    """Waldmann's free-molecular K_th = (3/4)/(1 + pi alpha/8)."""
    return 0.75 / (1.0 + PI * accommodation / 8.0)


def thermophoretic_velocity(coefficient, kinematic_viscosity, temperature, grad_temperature):
    """``v = -K_th nu grad T / T`` (grad_temperature: a number or an array of components)."""
    return -coefficient * kinematic_viscosity * np.asarray(grad_temperature) / temperature


# --- a particle in a gas ---------------------------------------------------------------------
@dataclass(frozen=True)
class AerosolParticle:
    """A sphere of ``diameter`` (m), ``density`` (kg/m^3) and ``thermal_conductivity``
    (W/(m K)) in a gas; Talbot's constants as in :func:`talbot_coefficient`."""

    diameter: float
    density: float
    thermal_conductivity: float
    creep: float = 1.17
    temperature_jump: float = 2.2
    momentum_exchange: float = 1.146

    @property
    def mass(self) -> float:
        return self.density * PI * self.diameter ** 3 / 6.0

    def knudsen_number(self, gas: IdealGas, T, pressure: float = STANDARD_PRESSURE):
        return knudsen_number(gas.mean_free_path(T, pressure), self.diameter)

    def cunningham_correction(self, gas: IdealGas, T, pressure: float = STANDARD_PRESSURE):
        return cunningham_correction(self.knudsen_number(gas, T, pressure))

    def thermophoretic_coefficient(self, gas: IdealGas, T, pressure: float = STANDARD_PRESSURE):
        """Talbot's K_th at the local T."""
        return talbot_coefficient(self.knudsen_number(gas, T, pressure),
                                  gas.thermal_conductivity(T) / self.thermal_conductivity,
                                  self.creep, self.temperature_jump, self.momentum_exchange)

    def thermophoretic_mobility(self, gas: IdealGas, T, pressure: float = STANDARD_PRESSURE):
        """``D_T = K_th nu / T`` (m^2/(s K)), so that ``v = -D_T grad T`` (the tracker's form)."""
        return self.thermophoretic_coefficient(gas, T, pressure) * gas.kinematic_viscosity(T, pressure) / T

    def thermophoretic_velocity(self, gas: IdealGas, T, grad_temperature, pressure: float = STANDARD_PRESSURE):
        return -self.thermophoretic_mobility(gas, T, pressure) * np.asarray(grad_temperature)

    def friction(self, gas: IdealGas, T, pressure: float = STANDARD_PRESSURE):
        """Slip-corrected Stokes friction ``3 pi mu d / C_c``, kg/s."""
        return 3.0 * PI * gas.viscosity(T) * self.diameter / self.cunningham_correction(gas, T, pressure)

    def diffusivity(self, gas: IdealGas, T, pressure: float = STANDARD_PRESSURE):
        """Brownian ``D = k_B T C_c / (3 pi mu d)``, m^2/s."""
        return BOLTZMANN * T / self.friction(gas, T, pressure)

    def relaxation_time(self, gas: IdealGas, T, pressure: float = STANDARD_PRESSURE):
        """``tau = rho_p d^2 C_c / (18 mu)``, s."""
        return self.mass / self.friction(gas, T, pressure)

    def settling_velocity(self, gas: IdealGas, T, gravity, pressure: float = STANDARD_PRESSURE):
        """``tau g`` (m/s; gravity a number or a vector)."""
        return self.relaxation_time(gas, T, pressure) * np.asarray(gravity)


# --- the stagnation-point flow onto a wafer -----------------------------------------------------
@lru_cache(maxsize=1)
def _hiemenz_solution(eta_max: float = 12.0):
    """(eta, f, f', F = int f) of ``f''' + f f'' + 1 - f'^2 = 0``, f(0) = f'(0) = 0, f'(inf) = 1."""
    from scipy.integrate import solve_bvp, solve_ivp

    eta = np.linspace(0.0, eta_max, 400)
    guess = np.vstack([eta - 1.0 + np.exp(-eta), 1.0 - np.exp(-eta), np.exp(-eta)])
    bvp = solve_bvp(lambda t, y: np.vstack([y[1], y[2], -y[0] * y[2] - 1.0 + y[1] ** 2]),
                    lambda a, b: np.array([a[0], a[1], b[1] - 1.0]), eta, guess, tol=1e-10, max_nodes=100000)
    if not bvp.success:
        raise RuntimeError(f"Hiemenz equation: {bvp.message}")
    wall_curvature = float(bvp.sol(0.0)[2])
    # integrate once more from the wall with f''(0) from the BVP: F = int f for the heat equation
    grid = np.linspace(0.0, eta_max, 4001)
    ivp = solve_ivp(lambda t, y: [y[1], y[2], -y[0] * y[2] - 1.0 + y[1] ** 2, y[0]], (0.0, eta_max),
                    [0.0, 0.0, wall_curvature, 0.0], t_eval=grid, rtol=1e-12, atol=1e-13, method="DOP853")
    return wall_curvature, bvp.sol, grid, ivp.y[3]


def hiemenz_wall_curvature() -> float:
    """f''(0) of the Hiemenz solution (1.2326 in White, *Viscous Fluid Flow*, sec. 3-8)."""
    return _hiemenz_solution()[0]


@dataclass(frozen=True)
class HiemenzFlow:
    """Planar viscous stagnation-point flow onto the wall z = 0 (Hiemenz 1911):
    ``u = a x f'(eta)``, ``w = -sqrt(a nu) f(eta)``, ``eta = z sqrt(a/nu)``; strain rate a (1/s),
    kinematic viscosity nu (m^2/s). Beyond eta = 12 f is continued by its asymptote."""

    strain_rate: float
    kinematic_viscosity: float

    @property
    def length(self) -> float:
        """sqrt(nu/a), the boundary-layer length unit."""
        return float(np.sqrt(self.kinematic_viscosity / self.strain_rate))

    def _f(self, z):
        eta = np.asarray(z, dtype=np.float64) / self.length
        _, sol, grid, _ = _hiemenz_solution()
        end = grid[-1]
        f_end, fp_end, _ = sol(end)
        inside = np.clip(eta, 0.0, end)
        f, fp, _ = sol(inside.ravel())
        beyond = eta.ravel() > end
        f = np.where(beyond, f_end + (eta.ravel() - end) * fp_end, f)
        fp = np.where(beyond, fp_end, fp)
        return f.reshape(eta.shape), fp.reshape(eta.shape)

    def velocity(self, x, z):
        """(u, w) in m/s at (x, z)."""
        f, fp = self._f(z)
        return self.strain_rate * np.asarray(x) * fp, -np.sqrt(self.strain_rate * self.kinematic_viscosity) * f

    def normal_velocity(self, z):
        """w(z), the same at every x (m/s, negative: towards the wall)."""
        return self.velocity(0.0, z)[1]

    def temperature(self, z, gap: float, T_wall: float, T_inlet: float, prandtl: float):
        """The exact steady T(z) of ``rho c_p w T' = k T''`` with T(0) = T_wall, T(gap) =
        T_inlet (constant properties): ``T_wall + (T_inlet - T_wall) I(eta)/I(eta_gap)``,
        ``I = int_0^eta exp(-Pr F) d eta'``, F = int f (trapezoidal rule on 20000 intervals:
        relative error below 1e-8)."""
        from scipy.integrate import cumulative_trapezoid
        from scipy.interpolate import CubicSpline

        _, _, grid, F = _hiemenz_solution()
        eta_gap = gap / self.length
        eta = np.linspace(0.0, eta_gap, 20001)
        F_on = np.interp(eta, grid, F, right=np.nan)
        beyond = eta > grid[-1]
        if beyond.any():  # F grows as eta^2/2 - 0.648 eta + ... on the asymptote of f
            f_end, fp_end, _ = _hiemenz_solution()[1](grid[-1])
            s = eta[beyond] - grid[-1]
            F_on[beyond] = F[-1] + f_end * s + 0.5 * fp_end * s ** 2
        integral = cumulative_trapezoid(np.exp(-prandtl * F_on), x=eta, initial=0.0)
        fraction = CubicSpline(eta, integral / integral[-1])(np.asarray(z, dtype=np.float64) / self.length)
        return T_wall + (T_inlet - T_wall) * fraction


def particle_free_zone_1d(z: np.ndarray, net_velocity: np.ndarray) -> float:
    """The height where the particles' net velocity normal to the wafer (gas + settling +
    thermophoresis, sampled at increasing heights z) changes sign from positive (away from
    the wafer) below to negative above: the particles' stagnation height. Linear
    interpolation between samples; 0 when the particles reach the wafer everywhere."""
    z = np.asarray(z, dtype=np.float64)
    v = np.asarray(net_velocity, dtype=np.float64)
    downward = np.nonzero(v < 0.0)[0]
    if downward.size == 0:
        raise ValueError("the particles never move towards the wafer in this range")
    first = downward[0]
    if first == 0:
        return 0.0
    return float(z[first - 1] - v[first - 1] * (z[first] - z[first - 1]) / (v[first] - v[first - 1]))
