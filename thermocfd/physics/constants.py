"""Physical constants (SI, CODATA 2018 exact values where defined)."""

BOLTZMANN = 1.380649e-23  # J/K
ZERO_CELSIUS = 273.15  # K
STANDARD_GRAVITY = 9.80665  # m/s^2
AVOGADRO = 6.02214076e23  # 1/mol
GAS_CONSTANT = BOLTZMANN * AVOGADRO  # J/(mol K)
