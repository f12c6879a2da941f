"""What the MST microscope detects: the fluorophore's brightness phi(T), the detection
profile w(x) around the focus, and photobleaching.

The detected signal of a labelled species is ``F(t) = int w(x) phi(T(x, t)) c(x, t) dV``
(summed over the species' forms with their relative brightness). phi and w accept NumPy
values and UFL expressions, so the FEM integrates the same formulas the tests check.

Typical values (treat them as parameters): the brightness of common MST dyes falls by
0.5-2 %/K (the "T-jump"; dyes differ and some brighten); the detection spot of the
instrument's objective is a few tens of um wide, comparable to the IR focus.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .mathfuncs import exp


def _require_finite(name: str, value: float) -> float:
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return value


def _require_positive(name: str, value: float) -> float:
    value = _require_finite(name, value)
    if not value > 0.0:
        raise ValueError(f"{name} must be positive, got {value!r}")
    return value


@dataclass(frozen=True)
class _SlopeLaw:
    """A brightness law set by its slope s (1/K) at the reference temperature."""

    slope: float  # 1/K
    reference_temperature: float = 298.15  # K

    def __post_init__(self) -> None:
        _require_finite("slope", self.slope)
        _require_positive("reference_temperature", self.reference_temperature)


@dataclass(frozen=True)
class LinearFluorophore(_SlopeLaw):
    """``phi(T) = 1 + s (T - T_ref)``; s in 1/K (e.g. -0.01 for -1 %/K).

    The linear law is what a T-jump of a few kelvin resolves; it turns negative beyond
    ``T_ref - 1/s``, which :class:`ExponentialFluorophore` avoids."""

    def brightness(self, T):
        """phi(T), 1 at the reference temperature (NumPy or UFL T)."""
        return 1.0 + self.slope * (T - self.reference_temperature)


@dataclass(frozen=True)
class ExponentialFluorophore(_SlopeLaw):
    """``phi(T) = exp(s (T - T_ref))``: the same slope at T_ref, always positive."""

    def brightness(self, T):
        """phi(T), 1 at the reference temperature (NumPy or UFL T)."""
        return exp(self.slope * (T - self.reference_temperature))


FluorophoreLaw = LinearFluorophore | ExponentialFluorophore


@dataclass(frozen=True)
class DetectionProfile:
    """Gaussian detection weight around the focus (peak 1 at ``center``, m):

        ``w(x) = exp(-2 rho^2 / w_lat^2) exp(-2 z^2 / w_ax^2)``,

    with z the coordinate along ``optical_axis`` (index into x) and rho the distance from
    the axis in the other coordinates; ``lateral_radius`` w_lat and ``depth_of_field``
    w_ax are both 1/e^2 half-widths. Its 3D integral is
    ``(pi w_lat^2 / 2) sqrt(pi / 2) w_ax`` (:meth:`volume`).

    2D models: ``weight`` takes as many coordinates as the model has. In a 2D-axisymmetric
    model (r, z) with the optical axis as the symmetry axis the weight is exactly the 3D
    one (the integral then needs the 2 pi r of the measure). In a 2D cross-section the
    weight is the 3D profile in the plane of the model, and the third direction is taken
    as uniform: F is then per unit length of it, which cancels in F_norm (a ratio), but a
    cross-section also heats along a line, not a spot, so its traces differ from a 3D
    focus.
    """

    center: tuple[float, ...]  # m
    lateral_radius: float  # m, 1/e^2 half-width across the optical axis
    depth_of_field: float  # m, 1/e^2 half-width along the optical axis
    optical_axis: int = 2

    def __post_init__(self) -> None:
        center = tuple(_require_finite("center", c) for c in self.center)
        if len(center) not in (2, 3):
            raise ValueError(f"center must have 2 or 3 coordinates, got {self.center!r}")
        object.__setattr__(self, "center", center)
        _require_positive("lateral_radius", self.lateral_radius)
        _require_positive("depth_of_field", self.depth_of_field)
        if self.optical_axis not in range(len(center)):
            raise ValueError(f"optical_axis must be one of 0..{len(center) - 1}, got {self.optical_axis!r}")

    def weight(self, x):
        """w at points x: a NumPy array of shape (dim, n) (or (dim,)) or a UFL
        SpatialCoordinate / vector expression, physical coordinates in m."""
        dim = x.ufl_shape[0] if hasattr(x, "ufl_shape") else np.shape(x)[0]
        if dim != len(self.center):
            raise ValueError(f"the detection profile has a {len(self.center)}D centre, the points are {dim}D")
        lateral = sum((x[i] - self.center[i]) ** 2 for i in range(dim) if i != self.optical_axis)
        axial = (x[self.optical_axis] - self.center[self.optical_axis]) ** 2
        return exp(-2.0 * lateral / self.lateral_radius**2 - 2.0 * axial / self.depth_of_field**2)

    def volume(self) -> float:
        """int w dV over all 3D space (m^3)."""
        return 0.5 * math.pi * self.lateral_radius**2 * math.sqrt(0.5 * math.pi) * self.depth_of_field


@dataclass(frozen=True)
class Photobleaching:
    """First-order bleaching under excitation, rate ``rate`` (1/s), applied as the factor
    ``exp(-rate (t - t_0))`` on the detected signal from the start of excitation t_0.

    This is the well-mixed approximation: bleached molecules in the detection volume are
    replaced by diffusion from the rest of the capillary faster than they bleach, so the
    whole signal decays at one rate. The spatial version (a bleached hole that the
    thermophoretic depletion and back-diffusion reshape) is not modelled."""

    rate: float  # 1/s

    def __post_init__(self) -> None:
        _require_finite("rate", self.rate)
        if self.rate < 0.0:
            raise ValueError(f"rate must be >= 0, got {self.rate!r}")

    def factor(self, times: Sequence[float] | np.ndarray | float, excitation_start: float = 0.0):
        """The factor on the signal at ``times`` (s); 1 before excitation starts."""
        elapsed = np.maximum(np.asarray(times, dtype=float) - excitation_start, 0.0)
        return np.exp(-self.rate * elapsed)
