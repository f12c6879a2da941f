"""Heat sources: a focused infrared laser absorbed in water."""

from __future__ import annotations

import math
from dataclasses import dataclass

from .mathfuncs import exp, positive_part, sqrt, where_nonnegative


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


@dataclass(frozen=True)
class CapillaryBeam:
    """An IR laser focused vertically (along -z, entering at the top) through a glass
    capillary lying along x, its axis at y = z = 0: the MST heating.

    Gaussian beam optics in the buffer (refractive index n): waist w0 at height
    ``focus_height``, Rayleigh range ``z_R = pi w0^2 n / lambda``, radius
    ``w(z) = w0 sqrt(1 + ((z - z_f)/z_R)^2)``, intensity ``2P/(pi w^2) exp(-2 r^2/w^2)``
    with r the distance from the beam axis (x = y = 0); the beam is taken as focused inside
    the buffer (the glass's own focusing, a cylindrical lens, is neglected: it shifts the
    focus, not the absorbed power). Beer-Lambert attenuation along the vertical ray through
    (x, y): top glass (``alpha_glass``), buffer (``alpha_water``), bottom glass, with the
    wall heights ``sqrt(R^2 - y^2)`` of the real tube. Power density = alpha x intensity
    (W/m^3) in each material. Water absorbs ~2400 1/m at 1480 nm (Hale & Querry 1973);
    borosilicate glass about 10-100 1/m there.
    """

    power: float  # W entering the capillary
    waist: float  # w0, 1/e^2 intensity radius at the focus, m
    inner_radius: float
    outer_radius: float
    alpha_water: float  # 1/m
    alpha_glass: float = 0.0  # 1/m
    wavelength: float = 1480e-9
    refractive_index: float = 1.33
    focus_height: float = 0.0

    @property
    def rayleigh_range(self) -> float:
        return math.pi * self.waist**2 * self.refractive_index / self.wavelength

    def beam_radius(self, z):
        """w(z) (m)."""
        return self.waist * sqrt(1.0 + ((z - self.focus_height) / self.rayleigh_range) ** 2)

    def _intensity_before_attenuation(self, x):
        w = self.beam_radius(x[2])
        return 2.0 * self.power / (math.pi * w * w) * exp(-2.0 * (x[0] ** 2 + x[1] ** 2) / (w * w))

    def _wall_heights(self, y):
        """Heights of the inner and outer glass surfaces above the axis on the ray at y."""
        return (sqrt(positive_part(self.inner_radius**2 - y * y)),
                sqrt(positive_part(self.outer_radius**2 - y * y)))

    def optical_depth(self, x, in_glass: bool):
        """int alpha ds from where the ray enters the tube down to the point x."""
        z = x[2]
        z_in, z_out = self._wall_heights(x[1])
        top_wall = self.alpha_glass * (z_out - z_in)
        if not in_glass:
            return top_wall + self.alpha_water * (z_in - z)
        below = top_wall + 2.0 * self.alpha_water * z_in + self.alpha_glass * (-z_in - z)
        return where_nonnegative(z, self.alpha_glass * (z_out - z), below)

    def power_density(self, x, in_glass: bool):
        """Absorbed power per volume (W/m^3) at physical coordinate x (NumPy (3, n) or UFL)."""
        alpha = self.alpha_glass if in_glass else self.alpha_water
        return alpha * self._intensity_before_attenuation(x) * exp(-self.optical_depth(x, in_glass))

    def absorbed_fraction_on_axis(self) -> float:
        """Fraction of the power absorbed along the axis ray (both walls and the buffer)."""
        depth = 2.0 * self.alpha_glass * (self.outer_radius - self.inner_radius) + 2.0 * self.alpha_water * self.inner_radius
        return 1.0 - math.exp(-depth)
