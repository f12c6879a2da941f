"""Case files for tests: writing them from tables (the inverse of tomllib for the simple
TOML that case files use: scalars, arrays and nested tables), and shared small cases."""

import json


def to_toml(table: dict, prefix: str = "") -> str:
    plain = {k: v for k, v in table.items() if not isinstance(v, dict)}
    nested = {k: v for k, v in table.items() if isinstance(v, dict)}
    lines = [f"{key} = {json.dumps(value)}" for key, value in plain.items()]
    for key, value in nested.items():
        name = f"{prefix}{key}"
        lines += [f"\n[{name}]", to_toml(value, prefix=f"{name}.")]
    return "\n".join(lines)


# A 2D Soret cell with 200 tracked particles on the CPU: small enough for tests that only
# need a tracking run to start (its keys can be overridden through load_case).
SMALL_TRACKING_CASE = """
[case]
kind = "tracking"
[geometry]
dimension = 2
length = "50 um"
[mesh]
resolution = 0.5
[temperature]
hot = "300 K"
cold = "295 K"
[solute]
diffusivity = "1e-11 m^2/s"
soret_coefficient = "0.5 1/K"
[tracking]
particles = 200
backend = "cpu"
trajectories = 0
[output]
pictures = false
fields = false
"""
