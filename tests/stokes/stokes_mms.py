"""Manufactured Stokes solution, written once for UFL and NumPy (thermocfd.physics.mathfuncs)."""

from __future__ import annotations

import math

import numpy as np

from thermocfd.physics.mathfuncs import cos, sin

PI = math.pi


def velocity(x):
    """Divergence-free velocity (m/s) on the unit square."""
    return (sin(PI * x[0]) * cos(PI * x[1]), -cos(PI * x[0]) * sin(PI * x[1]))


def pressure(x):
    """Pressure (Pa) with zero mean over the unit square."""
    return cos(PI * x[0]) * cos(PI * x[1])


def viscosity(x):
    """A smoothly varying viscosity (Pa s), to exercise mu(x) in the forms."""
    return 1.0 + 0.5 * x[0] * x[1]


def velocity_numpy(x: np.ndarray) -> np.ndarray:
    return np.array(velocity(x))
