"""Physics laws and analytic references: plain Python and NumPy, no dolfinx.

Laws are small frozen dataclasses whose methods accept NumPy values or UFL expressions
(see :mod:`thermocfd.physics.mathfuncs`), so the FEM solvers, the particle tracker and
the tests evaluate exactly the same formula.
"""

from .constants import BOLTZMANN, STANDARD_GRAVITY, ZERO_CELSIUS
from .fluid import FluidProperties
from .diffusivity import ConstantDiffusivity, DiffusivityLaw, StokesEinsteinDiffusivity
from .soret import (ConstantSoret, HeatOfTransportSoret, MolarMassScalingSoret, PiazzaSoret, SizeScalingSoret,
                    SoretLaw, TabulatedSoret)
from .slip import ConstantSlip, LinearSlip, SlipLaw, TabulatedSlip
from .viscosity import ConstantViscosity, ViscosityLaw, WaterViscosity
from .schedule import Schedule, step_times

__all__ = [
    "BOLTZMANN", "STANDARD_GRAVITY", "ZERO_CELSIUS",
    "ConstantDiffusivity", "StokesEinsteinDiffusivity", "DiffusivityLaw",
    "ConstantSoret", "PiazzaSoret", "HeatOfTransportSoret", "SizeScalingSoret", "MolarMassScalingSoret",
    "TabulatedSoret", "SoretLaw",
    "ConstantSlip", "LinearSlip", "TabulatedSlip", "SlipLaw",
    "ConstantViscosity", "WaterViscosity", "ViscosityLaw", "FluidProperties",
    "Schedule", "step_times",
]
