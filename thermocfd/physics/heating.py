"""Heat sources: a focused infrared laser absorbed in water."""

from __future__ import annotations

import math
from dataclasses import dataclass

from .mathfuncs import exp


@dataclass(frozen=True)
class GaussianBeam:
    """A Gaussian beam along the vertical axis, absorbed with coefficient alpha.

    3D: ``q = alpha 2P/(pi w^2) exp(-2 r^2/w^2) exp(-alpha z)`` (W/m^3), r the distance
    from the beam axis, z the height above the chamber floor where the beam enters.
    2D cross-sections model a line focus: ``power`` is then per metre of depth (W/m) and
    ``q = alpha P sqrt(2/pi)/w exp(-2 x^2/w^2) exp(-alpha y)``. The beam is taken as
    parallel over the chamber (Rayleigh range >> chamber thickness).
    """

    power: float  # W (3D) or W/m (2D)
    waist: float  # 1/e^2 intensity radius w, m
    absorption_coefficient: float  # 1/m (water: ~2400 at 1480 nm, ~12000 at 1940 nm)
    axis: tuple[float, float]  # lateral position of the beam axis (x, y in 3D; x in 2D), m

    def power_density(self, x, dimension: int, floor: float = 0.0):
        """Absorbed power per volume (W/m^3) at physical coordinate x."""
        alpha, w = self.absorption_coefficient, self.waist
        if dimension == 3:
            r2 = (x[0] - self.axis[0]) ** 2 + (x[1] - self.axis[1]) ** 2
            return alpha * 2.0 * self.power / (math.pi * w * w) * exp(-2.0 * r2 / (w * w)) * exp(-alpha * (x[2] - floor))
        r2 = (x[0] - self.axis[0]) ** 2
        return alpha * self.power * math.sqrt(2.0 / math.pi) / w * exp(-2.0 * r2 / (w * w)) * exp(-alpha * (x[1] - floor))
