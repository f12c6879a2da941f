"""Diffusivity laws D(T) in m^2/s for solutes and colloids."""

from __future__ import annotations

import math
from dataclasses import dataclass

from .constants import BOLTZMANN
from .viscosity import ViscosityLaw


@dataclass(frozen=True)
class ConstantDiffusivity:
    value: float  # m^2/s

    def diffusivity(self, T):
        return self.value + 0.0 * T


@dataclass(frozen=True)
class StokesEinsteinDiffusivity:
    """``D(T) = k_B T / (6 pi mu(T) a)`` for a sphere of hydrodynamic radius a."""

    radius: float  # m
    viscosity: ViscosityLaw

    def diffusivity(self, T):
        return BOLTZMANN * T / (6.0 * math.pi * self.viscosity.viscosity(T) * self.radius)


DiffusivityLaw = ConstantDiffusivity | StokesEinsteinDiffusivity


@dataclass(frozen=True)
class EffectiveDiffusivity:
    """``<D>_p(T)``: the diffusivity of the total density of a species that switches fast
    among internal states (:class:`thermocfd.physics.internal_states.InternalStateModel`)."""

    model: object

    def diffusivity(self, T):
        return self.model.mean_diffusivity(T)
