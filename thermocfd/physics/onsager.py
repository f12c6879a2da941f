"""The Onsager view of thermodiffusion: coefficients, the Dufour heat flux and the local
entropy production of a dilute solute (and of a binary ideal gas mixture).

Derivation (de Groot & Mazur, *Non-Equilibrium Thermodynamics*, 1962, ch. XI).
The entropy production per volume of heat conduction and diffusion is
``sigma = J_q . X_q + J . X_c`` with the forces

    X_q = grad(1/T) = -grad T / T^2,      X_c = -(1/T) grad_T mu = -R grad c / c,

the second for an ideal dilute solute, ``mu = mu0(T) + R T ln c`` (c in mol/m^3,
R = k_B N_A; with c a number density, k_B instead of R). Linear laws

    J   = L_cc X_c + L_cq X_q,
    J_q = L_qc X_c + L_qq X_q,

matched to the solute flux of DESIGN.md, ``J = -D grad c - D S_T c grad T``, give

    L_cc = D c / R,     L_cq = D S_T c T^2,

and Onsager reciprocity ``L_qc = L_cq`` the Dufour heat flux

    J_q^Dufour = L_qc X_c = -R T^2 D S_T grad c.

A positive (thermophobic) S_T drives solute to the cold side; the Dufour flux
reciprocally carries heat *down* the concentration gradient, towards the dilute, hot
side. Writing ``L_qq = k T^2``, the heat flux is

    J_q = -k grad T - R T^2 D S_T grad c,

so the heat equation reads ``C dT/dt = div(k grad T + R T^2 D S_T grad c) + q``. Here
k is the Fourier conductivity of the *uniform* mixture (grad c = 0). Eliminating X_c
instead, ``J_q = -k_0 grad T + Q* J`` with the molar heat of transport
``Q* = L_cq / L_cc = R T^2 S_T`` and the conductivity at *zero solute flux*

    k_0 = (L_qq - L_cq^2 / L_cc) / T^2 = k - R D S_T^2 c T^2,

the one a steady measurement (J = 0, composition relaxed) gives. The two differ by a
relative ``R D S_T^2 c T^2 / k``: ~1e-10 for colloids in water, ~1 % for a gas mixture.
The same elimination gives the entropy production as a sum of squares,

    sigma = k_0 |grad T|^2 / T^2 + R |J|^2 / (D c) >= 0,

non-negative for D > 0, c > 0 and k_0 >= 0 (the second law: ``L_cc L_qq >= L_cq^2``).

Binary ideal gas mixture (mole fraction x of species 1, total concentration
``c_t = p / (R T)``, molar flux relative to the molar-average velocity)
``J_1 = -c_t D_12 (grad x + k_T grad ln T)`` with the thermal-diffusion ratio
``k_T = alpha_T x (1 - x)`` (Hirschfelder, Curtiss & Bird, *Molecular Theory of Gases
and Liquids*, 1954, ch. 8; alpha_T > 0: species 1 goes to the cold side). The force is
``X_1 = -(1/T) grad_T (mu_1 - mu_2) = -R grad x / (x (1 - x))`` at uniform pressure, so
``L_11 = c_t D_12 x (1 - x) / R``, ``L_1q = c_t D_12 alpha_T x (1 - x) T`` and

    J_q^Dufour = L_q1 X_1 = -alpha_T p D_12 grad x,

which for x -> 0 is the dilute form above with ``S_T = alpha_T / T``, ``c = c_t x``.
The composition dependence of the force (the ideal mixture's thermodynamic factor
1/(1 - x)) is what the dilute form lacks; :class:`BinaryGasMixture` freezes it at the
mean mole fraction so that the dilute solvers reproduce the mixture to first order in the
composition variation. In a steady closed gas cell the effective conductivity falls by
``p alpha_T^2 D_12 x (1 - x) / T`` (about 1 % for He-Ar; pD_12 does not depend on p),
the Dufour effect that Waldmann measured in the transient interdiffusion of two gases.
(The enthalpy-diffusion term ``(h_1 - h_2) J_1`` of the energy flux vanishes with J_1 in
a steady closed cell and for two monatomic gases; it is left out.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Sequence

import numpy as np

from .constants import GAS_CONSTANT
from .mathfuncs import ln


class OnsagerCoefficients(NamedTuple):
    """Phenomenological coefficients for the forces ``X_c = -R grad c / c`` and
    ``X_q = grad(1/T)``: L_cc in mol^2 K/(J m s), L_cq = L_qc in mol K/(m s),
    L_qq in W K/m."""

    cc: object
    cq: object
    qq: object


def onsager_coefficients(diffusivity, soret_coefficient, concentration, temperature, conductivity,
                         gas_constant: float = GAS_CONSTANT) -> OnsagerCoefficients:
    """L_cc = D c / R, L_cq = D S_T c T^2, L_qq = k T^2 (k: conductivity of the uniform
    mixture). NumPy values or UFL expressions."""
    return OnsagerCoefficients(cc=diffusivity * concentration / gas_constant,
                               cq=diffusivity * soret_coefficient * concentration * temperature**2,
                               qq=conductivity * temperature**2)


def dufour_coefficient(diffusivity, soret_coefficient, temperature, gas_constant: float = GAS_CONSTANT):
    """``R T^2 D S_T``, the coefficient of grad c in minus the heat flux: W m^2/mol
    (``J_q^Dufour = -dufour_coefficient * grad c``)."""
    return gas_constant * temperature**2 * diffusivity * soret_coefficient


def heat_of_transport(soret_coefficient, temperature, gas_constant: float = GAS_CONSTANT):
    """Molar heat of transport ``Q* = L_cq / L_cc = R T^2 S_T`` (J/mol): the heat one
    mole of diffusing solute carries, ``J_q = -k_0 grad T + Q* J``."""
    return gas_constant * temperature**2 * soret_coefficient


def conductivity_at_zero_flux(conductivity, diffusivity, soret_coefficient, concentration, temperature,
                              gas_constant: float = GAS_CONSTANT):
    """``k_0 = k - R D S_T^2 c T^2``: the conductivity of the relaxed (J = 0) mixture from
    the Fourier conductivity k of the uniform one."""
    return conductivity - gas_constant * diffusivity * soret_coefficient**2 * concentration * temperature**2


def solute_flux(grad_c: Sequence, grad_T: Sequence, concentration, diffusivity, soret_coefficient) -> list:
    """``J = -D grad c - D S_T c grad T`` componentwise (sequences of NumPy arrays or a
    UFL vector); without advection, which produces no entropy."""
    return [-diffusivity * (gc + soret_coefficient * concentration * gt) for gc, gt in zip(grad_c, grad_T)]


def _squared_norm(vector: Sequence):
    return sum(component * component for component in vector)


def entropy_production_parts(temperature, concentration, grad_T: Sequence, flux: Sequence, conductivity,
                             diffusivity, soret_coefficient, gas_constant: float = GAS_CONSTANT):
    """(thermal, solute) parts of sigma, W/(K m^3): ``k_0 |grad T|^2 / T^2`` and
    ``R |J|^2 / (D c)``. Vectors as component sequences (NumPy arrays or a UFL vector);
    k is the uniform mixture's conductivity (the one in the heat equation)."""
    k_zero_flux = conductivity_at_zero_flux(conductivity, diffusivity, soret_coefficient, concentration,
                                            temperature, gas_constant)
    thermal = k_zero_flux * _squared_norm(grad_T) / temperature**2
    solute = gas_constant * _squared_norm(flux) / (diffusivity * concentration)
    return thermal, solute


def entropy_production_density(temperature, concentration, grad_T: Sequence, grad_c: Sequence, conductivity,
                               diffusivity, soret_coefficient, gas_constant: float = GAS_CONSTANT):
    """sigma (W/(K m^3)) from the gradients of T and c, as the Onsager quadratic form
    ``L_qq |X_q|^2 + 2 L_cq X_q.X_c + L_cc |X_c|^2`` (equal to the sum of
    :func:`entropy_production_parts`, written without eliminating a force)."""
    L = onsager_coefficients(diffusivity, soret_coefficient, concentration, temperature, conductivity,
                             gas_constant)
    X_q = [-g / temperature**2 for g in grad_T]
    X_c = [-gas_constant * g / concentration for g in grad_c]
    cross = sum(a * b for a, b in zip(X_q, X_c))
    return L.qq * _squared_norm(X_q) + 2.0 * L.cq * cross + L.cc * _squared_norm(X_c)


# --- the pure-conduction Soret cell -----------------------------------------------------
def soret_cell_entropy_production(x, conductivity: float, t_hot: float, t_cold: float, length: float):
    """sigma(x) = k G^2 / T(x)^2 of steady conduction through a slab (W/(K m^3)), T linear
    from t_hot at x = 0 to t_cold at x = length; with J = 0 there is no solute part."""
    gradient = (t_hot - t_cold) / length
    temperature = t_hot - gradient * np.asarray(x, dtype=float)
    return conductivity * gradient**2 / temperature**2


def soret_cell_entropy_production_rate(conductivity: float, t_hot: float, t_cold: float, length: float, *,
                                       diffusivity: float = 0.0, soret_coefficient: float = 0.0,
                                       mean_concentration: float = 0.0,
                                       gas_constant: float = GAS_CONSTANT) -> float:
    """Entropy production per unit wall area (W/(K m^2)) of the steady closed Soret cell:
    ``int_0^L k G^2/T^2 dx = k (T_hot - T_cold)^2 / (L T_hot T_cold)``, i.e. the heat flow
    ``k dT/L`` times ``1/T_cold - 1/T_hot``.

    With the solute (constant D, S_T; k the uniform mixture's conductivity) the zero-flux
    conductivity ``k - R D S_T^2 c T^2`` replaces k; its c T^2 / T^2 = c integrates to the
    mean concentration for any profile: minus ``R D S_T^2 c_mean dT^2 / L``.
    """
    difference = t_hot - t_cold
    solute = gas_constant * diffusivity * soret_coefficient**2 * mean_concentration
    return (conductivity / (t_hot * t_cold) - solute) * difference**2 / length


# --- gases ------------------------------------------------------------------------------
@dataclass(frozen=True)
class ThermalDiffusionFactorSoret:
    """``S_T = alpha / T`` (1/K): a gas component's thermal-diffusion factor alpha as a
    Soret law, ``Phi = alpha ln T`` (steady closed cell: ``c ∝ T^-alpha``)."""

    alpha: float

    def soret_coefficient(self, T):
        return self.alpha / T

    def soret_potential(self, T):
        return self.alpha * ln(T)


@dataclass(frozen=True)
class BinaryGasMixture:
    """A binary ideal gas mixture at uniform pressure: mole fraction x of species 1
    (which goes to the cold side for alpha_T > 0), interdiffusion coefficient D_12 and
    thermal-diffusion factor alpha_T, both taken constant.

    Typical values (make them parameters): He-Ar and H2-N2 near equimolar at room
    temperature, alpha_T ~ 0.3-0.4 (Grew & Ibbs, *Thermal Diffusion in Gases*, 1952);
    D_12(He-Ar, 300 K, 1 atm) ~ 7e-5 m^2/s (Marrero & Mason, J. Phys. Chem. Ref. Data 1,
    3, 1972).
    """

    pressure: float  # Pa
    interdiffusion: float  # m^2/s
    thermal_diffusion_factor: float  # alpha_T
    mole_fraction: float  # x of species 1, the mean composition

    def total_concentration(self, T):
        """``c_t = p / (R T)`` (mol/m^3)."""
        return self.pressure / (GAS_CONSTANT * T)

    def thermal_diffusion_ratio(self, x=None):
        """``k_T = alpha_T x (1 - x)`` (at the mean composition unless x is given)."""
        x = self.mole_fraction if x is None else x
        return self.thermal_diffusion_factor * x * (1.0 - x)

    def dufour_heat_flux(self, grad_x):
        """``J_q^Dufour = -alpha_T p D_12 grad x`` (W/m^2)."""
        return -self.thermal_diffusion_factor * self.pressure * self.interdiffusion * np.asarray(grad_x)

    def conductivity_at_zero_flux(self, conductivity: float, T) -> float:
        """``k_0 = k - p alpha_T^2 D_12 x (1 - x) / T``: with J_1 = 0,
        ``grad x = -k_T grad T / T`` turns the Dufour flux into a conduction term."""
        return conductivity - (self.thermal_diffusion_factor * self.pressure * self.interdiffusion
                               * self.thermal_diffusion_ratio() / T)

    def heater_temperature_rise(self, heat_flux: float, length: float, conductivity: float, T: float) -> float:
        """Dufour rise of a heated wall's temperature in a steady closed slab (one wall
        at fixed temperature, a heat flux q through it): ``q L (1/k_0 - 1/k)``, with k_0
        at the mean temperature T -- exact to first order in the variations of T and x."""
        return heat_flux * length * (1.0 / self.conductivity_at_zero_flux(conductivity, T) - 1.0 / conductivity)

    # the dilute-solute form that the FEM solvers take, exact at the mean composition
    def concentration_scale(self, T_reference: float) -> float:
        """``c = c_t(T_ref) x``: the solvers' concentration is the mole fraction times this."""
        return self.total_concentration(T_reference)

    def soret_law(self) -> ThermalDiffusionFactorSoret:
        """``S_T = alpha_T (1 - x) / T``: the steady grad x = -k_T grad T / T at x."""
        return ThermalDiffusionFactorSoret(self.thermal_diffusion_factor * (1.0 - self.mole_fraction))

    @property
    def gas_constant(self) -> float:
        """``R / (1 - x)``: the force ``-R grad x / (x (1 - x))`` in the dilute form
        ``-R' grad c / c``; with :meth:`soret_law` it makes the dilute Dufour coefficient
        ``R' T^2 D S_T c_t`` equal to ``alpha_T p D_12`` at T_ref."""
        return GAS_CONSTANT / (1.0 - self.mole_fraction)
