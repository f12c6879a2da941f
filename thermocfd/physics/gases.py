"""Gas properties for aerosol transport: air, nitrogen, argon (ideal gases, SI).

Viscosity and thermal conductivity follow Sutherland's law
``q(T) = q0 (T/T0)^(3/2) (T0 + S)/(T + S)`` with the constants of F. M. White,
*Viscous Fluid Flow* (3rd ed., McGraw-Hill 2006), Tables 1-2 (viscosity) and 1-3
(conductivity), T0 = 273 K; White quotes them within 2 % over about 170-1100 K (air) and
150-1000 K (N2, Ar) for viscosity and about 2 % over 210-1000 K for conductivity.
Molar masses: air 28.9647 g/mol (U.S. Standard Atmosphere 1976), N2 28.0134 g/mol,
Ar 39.948 g/mol (IUPAC). Heat capacities near 300 K: air 1007 J/(kg K), N2 1041 J/(kg K)
(Incropera & DeWitt, *Fundamentals of Heat and Mass Transfer*, Table A.4), Ar 520.3
J/(kg K) (monatomic, 5R/(2M)).

Mean free path: the kinetic (Chapman-Enskog, hard-sphere) definition
``lambda = (mu / p) sqrt(pi R T / (2 M))``, i.e. ``mu = (1/2) rho cbar lambda`` with the
mean molecular speed ``cbar = sqrt(8 R T/(pi M))``. It is the one the slip-correction
constants 1.257, 0.4, 1.1 were fitted with. Air at 293.15 K and 1 atm: 65.1 nm with the
Sutherland viscosity (Hinds, *Aerosol Technology*, 2nd ed., 1999, quotes 0.066 um with a
slightly different prefactor, 0.499 in ``mu = 0.499 rho cbar lambda``).

Methods take NumPy values or UFL expressions of T (via :mod:`.mathfuncs`), so the FEM
solvers can use k(T) and mu(T).
"""

from __future__ import annotations

from dataclasses import dataclass

from .mathfuncs import sqrt

GAS_CONSTANT = 8.314462618  # J/(mol K), CODATA 2018 (exact)
STANDARD_PRESSURE = 101325.0  # Pa, 1 atm


@dataclass(frozen=True)
class SutherlandLaw:
    """``q(T) = reference (T / t_reference)^(3/2) (t_reference + s) / (T + s)``."""

    reference: float  # value at t_reference (Pa s or W/(m K))
    t_reference: float  # K
    s: float  # Sutherland temperature, K

    def __call__(self, T):
        ratio = T / self.t_reference
        return self.reference * ratio * sqrt(ratio) * (self.t_reference + self.s) / (T + self.s)


@dataclass(frozen=True)
class IdealGas:
    """An ideal gas: Sutherland viscosity and conductivity, constant c_p."""

    name: str
    molar_mass: float  # kg/mol
    heat_capacity: float  # c_p, J/(kg K)
    viscosity_law: SutherlandLaw
    conductivity_law: SutherlandLaw

    def viscosity(self, T):
        """Dynamic viscosity mu(T), Pa s."""
        return self.viscosity_law(T)

    def thermal_conductivity(self, T):
        """k(T), W/(m K)."""
        return self.conductivity_law(T)

    def density(self, T, pressure: float = STANDARD_PRESSURE):
        """Ideal-gas density ``p M / (R T)``, kg/m^3."""
        return pressure * self.molar_mass / (GAS_CONSTANT * T)

    def kinematic_viscosity(self, T, pressure: float = STANDARD_PRESSURE):
        """nu = mu / rho, m^2/s."""
        return self.viscosity(T) / self.density(T, pressure)

    def thermal_diffusivity(self, T, pressure: float = STANDARD_PRESSURE):
        """kappa = k / (rho c_p), m^2/s."""
        return self.thermal_conductivity(T) / (self.density(T, pressure) * self.heat_capacity)

    def prandtl_number(self, T):
        return self.viscosity(T) * self.heat_capacity / self.thermal_conductivity(T)

    def mean_free_path(self, T, pressure: float = STANDARD_PRESSURE):
        """Kinetic mean free path ``(mu/p) sqrt(pi R T / (2 M))``, m."""
        return self.viscosity(T) / pressure * sqrt(3.141592653589793 * GAS_CONSTANT * T / (2.0 * self.molar_mass))


GASES: dict[str, IdealGas] = {
    "air": IdealGas("air", 28.9647e-3, 1007.0, SutherlandLaw(1.716e-5, 273.0, 111.0),
                    SutherlandLaw(0.0241, 273.0, 194.0)),
    "nitrogen": IdealGas("nitrogen", 28.0134e-3, 1041.0, SutherlandLaw(1.663e-5, 273.0, 107.0),
                         SutherlandLaw(0.0242, 273.0, 150.0)),
    "argon": IdealGas("argon", 39.948e-3, 2.5 * GAS_CONSTANT / 39.948e-3, SutherlandLaw(2.125e-5, 273.0, 144.0),
                      SutherlandLaw(0.0163, 273.0, 170.0)),
}
