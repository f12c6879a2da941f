"""tracking.field_tolerance in a case file: accepted by the tracking kind (the grid's
spacing and the error estimate land in summary.json), refused with the key named when it is
not a relative error in (0, 1)."""

import json

import pytest

import thermocfd
from thermocfd.case import CaseError

pytest.importorskip("dolfinx")

CASE = """
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
field_tolerance = 0.01
[output]
pictures = false
fields = false
"""


def test_field_tolerance_runs_and_is_reported(tmp_path):
    path = tmp_path / "case.toml"
    path.write_text(CASE)
    thermocfd.run_case(thermocfd.load_case(path, []), tmp_path / "out")
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    results = summary.get("results", summary)
    assert 0 < results["tracking_grid_spacing"] < 50e-6
    # the cell's T is linear: the sampled gradient is exact, far inside the tolerance
    assert results["tracking_field_error_estimate"] <= 0.01


@pytest.mark.parametrize("value", ["1.5", "0", "-0.1"])
def test_field_tolerance_outside_zero_one_is_refused_by_name(tmp_path, value):
    path = tmp_path / "case.toml"
    path.write_text(CASE)
    with pytest.raises(CaseError, match="tracking.field_tolerance"):
        thermocfd.load_case(path, [f"tracking.field_tolerance={value}"])
