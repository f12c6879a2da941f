"""Fluid properties at a reference temperature (Boussinesq approximation)."""

from __future__ import annotations

from dataclasses import dataclass

from .viscosity import ViscosityLaw


@dataclass(frozen=True)
class FluidProperties:
    density: float  # kg/m^3, Boussinesq reference density
    viscosity: ViscosityLaw  # mu(T) stays temperature dependent in the flow solver
    thermal_conductivity: float  # W/(m K)
    heat_capacity: float  # J/(kg K)
    thermal_expansion: float  # 1/K

    @property
    def thermal_diffusivity(self) -> float:
        return self.thermal_conductivity / (self.density * self.heat_capacity)
