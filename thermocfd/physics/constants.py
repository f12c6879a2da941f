"""Physical constants (SI, CODATA 2018 exact values where defined)."""

BOLTZMANN = 1.380649e-23  # J/K
ZERO_CELSIUS = 273.15  # K
STANDARD_GRAVITY = 9.80665  # m/s^2
