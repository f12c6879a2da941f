"""Manufactured solutions, each written once and evaluated as UFL and as NumPy.

``x`` is the physical coordinate (UFL vector or a (dim, N) NumPy array); the functions
use :mod:`thermocfd.physics.mathfuncs`, which dispatches on the argument type.
"""

from __future__ import annotations

import math

from thermocfd.physics.mathfuncs import cos, exp, sin

PI = math.pi


def temperature(x):
    """A smooth, non-polynomial temperature field (K)."""
    return 300.0 + 5.0 * sin(PI * x[0]) * cos(0.5 * PI * x[1]) + 3.0 * x[0] * x[1]


def conductivity(x):
    """A spatially varying conductivity (W/m/K), bounded away from zero."""
    return 1.0 + 0.5 * x[0] * x[0] + 0.25 * sin(PI * x[1])


def concentration(x):
    return 1.0 + 0.5 * exp(-x[0]) * sin(PI * x[1]) + 0.25 * cos(PI * x[0] * x[1])


def velocity(x):
    """A divergence-free swirl."""
    return (sin(PI * x[0]) * cos(PI * x[1]), -cos(PI * x[0]) * sin(PI * x[1]))


def observed_rates(hs, errors):
    return [math.log(errors[i] / errors[i + 1]) / math.log(hs[i] / hs[i + 1])
            for i in range(len(errors) - 1)]
