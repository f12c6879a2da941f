"""1:1 binding of a labelled target A to a ligand L (an MST titration), and its mapping
onto the internal-state machinery of :mod:`.internal_states`.

Chemistry (SI: concentrations in mol/m^3, 1 nM = 1e-6 mol/m^3)::

    A + L <-> AL,   K_d = [A][L] / [AL],   K_a = 1 / K_d,
    d ln K_a / dT = dH / (R T^2)   (van 't Hoff, dH constant),

so ``K_d(T) = K_d,ref exp((dH / R) (1/T - 1/T_ref))``; dH < 0 (exothermic) makes binding
weaker when hot. Mass balance with total target A_t and total ligand L_t gives the
quadratic (ligand-depletion) model for the complex C = [AL]::

    C^2 - (A_t + L_t + K_d) C + A_t L_t = 0.

Both roots are evaluated in forms without cancellation (see :meth:`BindingEquilibrium.
fraction_bound` and :meth:`BindingEquilibrium.free_ligand`), so ligand >> target and
target >> ligand are both exact to round-off.

Bound and free target as two internal states (:func:`binding_state_model`): the ratio of
bound to free target at the local temperature is ``[L]_free / K_d(T)``. Modelling
assumption: the ligand (a small molecule) is uniform at its bulk free concentration,
the root of the quadratic at the cold temperature of the capillary (before the laser
heats it). Its own thermophoresis and the local depletion or release of ligand by the
moving complex are neglected: a local change of the bound target dC changes the local
free ligand by -dC, and ``|dC| <= A_t``, so the neglected term is at most
``A_t / [L]_free`` relative to the free ligand — negligible in the upper part of a
titration, where ``[L]_free >> A_t``, and of order one only where ligand and target
amounts are comparable and most ligand is bound (``L_t ~ A_t >> K_d``); there the model
is not exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .constants import AVOGADRO, GAS_CONSTANT
from .diffusivity import DiffusivityLaw
from .fluorescence import FluorophoreLaw, LinearFluorophore
from .internal_states import InternalState, InternalStateModel, Transition, soret_exponent
from .mathfuncs import exp, sqrt
from .soret import SoretLaw

FAST_RELAXATION_RATE = 1.0e4
"""1/s: the relaxation rate ``k_on [L]_free + k_off`` that :func:`binding_state_model`
uses when no binding rate is given (fast binding). A relaxation time of 0.1 ms is below
the heat time of an MST focus (w^2 / (4 alpha) ~ 1 ms for w = 25 um in water) and far
below its diffusion time (w^2 / D ~ 6 s for D = 1e-10 m^2/s; Damkoehler number 6e4), so
bound and free target stay in local equilibrium with the local temperature."""


def _require_positive(name: str, value: float) -> float:
    value = float(value)
    if not (math.isfinite(value) and value > 0.0):
        raise ValueError(f"{name} must be positive and finite, got {value!r}")
    return value


def quadratic_fraction_bound(target_total, ligand_total, dissociation_constant):
    """Fraction bound ``C / A_t`` of the quadratic (ligand-depletion) model.

    Written as ``2 L_t / (s + sqrt((A_t - L_t)^2 + K_d (K_d + 2 (A_t + L_t))))`` with
    ``s = A_t + L_t + K_d``: the small root of the quadratic with its numerator
    rationalised, and the discriminant as a sum of non-negative terms, so it has no
    cancellation for any ratio of the concentrations (and equals ``L_t / (L_t + K_d)``
    at A_t = 0). NumPy (broadcasting) or UFL."""
    A, L, K = target_total, ligand_total, dissociation_constant
    discriminant = (A - L) * (A - L) + K * (K + 2.0 * (A + L))
    return 2.0 * L / (A + L + K + sqrt(discriminant))


@dataclass(frozen=True)
class BindingEquilibrium:
    """K_d (mol/m^3) at ``reference_temperature`` (K) and the binding enthalpy dH (J/mol,
    negative = exothermic); van 't Hoff for other temperatures."""

    dissociation_constant: float  # mol/m^3
    reference_temperature: float = 298.15  # K
    binding_enthalpy: float = 0.0  # J/mol

    def __post_init__(self) -> None:
        _require_positive("dissociation_constant", self.dissociation_constant)
        _require_positive("reference_temperature", self.reference_temperature)
        if not math.isfinite(self.binding_enthalpy):
            raise ValueError(f"binding_enthalpy must be finite, got {self.binding_enthalpy!r}")

    def dissociation_constant_at(self, T):
        """K_d(T) in mol/m^3 (NumPy or UFL T)."""
        return self.dissociation_constant * exp(
            self.binding_enthalpy / GAS_CONSTANT * (1.0 / T - 1.0 / self.reference_temperature))

    def _kd(self, T):
        return self.dissociation_constant if T is None else self.dissociation_constant_at(T)

    def fraction_bound(self, target_total, ligand_total, T=None):
        """Fraction of the target in the complex, ``C / A_t`` (:func:`quadratic_fraction_bound`
        with K_d(T); ``T`` None: at the reference temperature). NumPy or UFL."""
        return quadratic_fraction_bound(target_total, ligand_total, self._kd(T))

    def free_ligand(self, target_total, ligand_total, T=None):
        """Free ligand ``[L] = L_t - C`` (mol/m^3), NumPy.

        [L] is the positive root of ``x^2 + b x - K_d L_t = 0`` with ``b = A_t - L_t + K_d``,
        taken as ``2 K_d L_t / (b + q)`` for b >= 0 and ``(q - b) / 2`` for b < 0
        (``q = sqrt(b^2 + 4 K_d L_t)``): both forms add terms of one sign, so a ligand
        depleted by excess target (A_t >> L_t) keeps its full relative accuracy."""
        K = np.asarray(self._kd(T), dtype=float)
        A, L = np.asarray(target_total, dtype=float), np.asarray(ligand_total, dtype=float)
        b = A - L + K
        q = np.sqrt(b * b + 4.0 * K * L)
        with np.errstate(divide="ignore", invalid="ignore"):
            positive_b = np.where(b + q > 0.0, 2.0 * K * L / (b + q), 0.0)
        result = np.where(b >= 0.0, positive_b, 0.5 * (q - b))
        return result[()] if result.ndim == 0 else result

    def bound_to_free_ratio(self, T, free_ligand):
        """[AL] / [A] = [L]_free / K_d(T) (NumPy or UFL T)."""
        return free_ligand / self.dissociation_constant_at(T)


@dataclass(frozen=True)
class BindingPartner:
    """What the microscope and the transport see of one form (free or bound) of the
    labelled target: its diffusivity law, its own Soret law (None: no thermophoresis of
    its own), its brightness relative to the free target at the fluorophore's reference
    temperature, and the fluorophore's temperature dependence (the T-jump)."""

    diffusivity: DiffusivityLaw
    soret: SoretLaw | None = None
    brightness: float = 1.0
    fluorophore: FluorophoreLaw = LinearFluorophore(0.0)

    def __post_init__(self) -> None:
        _require_positive("brightness", self.brightness)

    def brightness_at(self, T):
        """Relative brightness ``brightness * phi(T)`` (NumPy or UFL T)."""
        return self.brightness * self.fluorophore.brightness(T)


def binding_state_model(binding: BindingEquilibrium, free_ligand: float, free: BindingPartner,
                        bound: BindingPartner, binding_rate: float | None = None) -> InternalStateModel:
    """Free (state 0) and bound (state 1) target as an internal-state model.

    Local equilibrium must give ``p_bound / p_free = (g_b / g_f) exp(-(E_b - E_f) / (k_B T))
    = [L]_free / K_d(T)``; with ``E_f = 0``, ``g_f = 1`` this holds at every T exactly when

        ``E_b = dH / N_A``  and  ``g_b = ([L]_free / K_d,ref) exp(dH / (R T_ref))``.

    Kinetics: free -> bound is pseudo-first order, ``k_fb = k_on [L]_free``. The barrier is
    put at the free state's energy (B = E_f = 0), so ``k_fb = nu exp(-(B - E_f)/(k_B T))
    = nu`` does not depend on T: ``nu = k_on [L]_free`` (k_on temperature-independent, the
    choice made here). Detailed balance then gives ``k_bf(T) = k_on K_d(T)``, i.e. k_off
    carries all of the van 't Hoff temperature dependence. ``binding_rate`` is k_on in
    m^3/(mol s); None means fast binding: k_on is chosen so that the relaxation rate
    ``k_on ([L]_free + K_d,ref)`` is :data:`FAST_RELAXATION_RATE` (1e4 1/s) at T_ref.

    ``free_ligand`` (mol/m^3): the bulk free ligand, uniform in the capillary (module doc),
    e.g. ``binding.free_ligand(A_t, L_t, T_cold)``; it must be positive (with no ligand
    there is no bound state: use a one-state model). Each state carries its partner's
    diffusivity and Soret law.
    """
    free_ligand = _require_positive("free_ligand", free_ligand)
    K_ref, T_ref = binding.dissociation_constant, binding.reference_temperature
    if binding_rate is None:
        binding_rate = FAST_RELAXATION_RATE / (free_ligand + K_ref)
    binding_rate = _require_positive("binding_rate", binding_rate)
    bound_energy = binding.binding_enthalpy / AVOGADRO
    bound_degeneracy = free_ligand / K_ref * math.exp(binding.binding_enthalpy / (GAS_CONSTANT * T_ref))
    states = (InternalState("free", 0.0, free.diffusivity, 1.0, soret=free.soret),
              InternalState("bound", bound_energy, bound.diffusivity, bound_degeneracy, soret=bound.soret))
    return InternalStateModel(states, (Transition(0, 1, 0.0, binding_rate * free_ligand),))


def local_equilibrium_f_norm(model: InternalStateModel, partners: Sequence[BindingPartner], T_cold: float,
                             T_hot: float) -> float:
    """F_hot / F_cold in per mille of a point detector at the focus, in the steady state
    without flow, the states in local equilibrium (fast switching): the reference for an
    MST trace's thermophoretic plateau.

    Zero total flux gives ``rho(T_hot) / rho(T_cold) = exp(-int_cold^hot S_T dT)`` with the
    model's S_T (switching plus each state's own Soret law), and the detected brightness
    per molecule is ``sum_i b_i phi_i(T) p_i(T)``; so
    ``F_norm = 1000 [sum_i b_i phi_i p_i]_hot / [sum_i b_i phi_i p_i]_cold
    exp(-int S_T dT)``. One state without binding: ``1000 phi(T_hot)/phi(T_cold)
    exp(-S_T dT)``, the depletion law of DESIGN.md. ``partners``: one per state, in order."""
    if len(partners) != model.size:
        raise ValueError(f"one partner per state: {model.size} states, {len(partners)} partners")

    def brightness(T: float) -> float:
        return float(sum(partner.brightness_at(T) * p for partner, p in zip(partners, model.populations(T))))

    return 1000.0 * brightness(T_hot) / brightness(T_cold) * math.exp(-soret_exponent(model, T_cold, T_hot))


def dilution_series(highest: float, points: int = 16, factor: float = 2.0) -> np.ndarray:
    """Ligand concentrations of a serial dilution, ascending: ``highest / factor^k`` for
    k = points-1 ... 0 (the 1:1 dilution of an MST titration has factor 2)."""
    highest = _require_positive("highest", highest)
    if not (isinstance(points, (int, np.integer)) and points >= 1):
        raise ValueError(f"points must be a positive integer, got {points!r}")
    if not (math.isfinite(factor) and factor > 1.0):
        raise ValueError(f"factor must be a finite number > 1, got {factor!r}")
    return highest / float(factor) ** np.arange(points - 1, -1, -1, dtype=float)
