"""tracking.field_tolerance in a case file: accepted by the tracking kind (the grid's
spacing and the error estimate land in summary.json), refused with the key named when it is
not a relative error in (0, 1)."""

import json

import pytest

import thermocfd
from casefiles import SMALL_TRACKING_CASE
from thermocfd.case import CaseError

pytest.importorskip("dolfinx")

TOLERANCE = ["tracking.field_tolerance=0.01"]


def test_field_tolerance_runs_and_is_reported(tmp_path):
    path = tmp_path / "case.toml"
    path.write_text(SMALL_TRACKING_CASE)
    thermocfd.run_case(thermocfd.load_case(path, TOLERANCE), tmp_path / "out")
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    results = summary.get("results", summary)
    assert 0 < results["tracking_grid_spacing"] < 50e-6
    # the cell's T is linear: the sampled gradient is exact, far inside the tolerance
    assert results["tracking_field_error_estimate"] <= 0.01


@pytest.mark.parametrize("value", ["1.5", "0", "-0.1"])
def test_field_tolerance_outside_zero_one_is_refused_by_name(tmp_path, value):
    path = tmp_path / "case.toml"
    path.write_text(SMALL_TRACKING_CASE)
    with pytest.raises(CaseError, match="tracking.field_tolerance"):
        thermocfd.load_case(path, [f"tracking.field_tolerance={value}"])
