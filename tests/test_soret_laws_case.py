"""Soret and slip laws in case files: every law table parses, round-trips through the
resolved inputs, refuses a bad table with the key named, and changes the result."""

import copy

import pytest

import thermocfd
from thermocfd.case import case_from_dict
from thermocfd.errors import CaseError

CELL = {"case": {"kind": "soret_cell"}, "geometry": {"length": "100 um"},
        "temperature": {"hot": "310 K", "cold": "300 K"},
        "solute": {"diffusivity": "1e-11 m^2/s", "soret_coefficient": 0.05}}

LAWS = {
    "bead_size": ({"law": "bead_size", "value": "0.05 1/K", "reference_radius": "100 nm", "radius": "200 nm",
                   "exponent": 1}, 0.1),
    "polymer": ({"law": "polymer", "value": 0.01, "reference_molar_mass": "10 kg/mol", "molar_mass": "40 kg/mol",
                 "exponent": 0.5}, 0.02),
    "tabulated": ({"law": "tabulated", "temperatures": ["290 K", "320 K"], "values": [0.0, "0.06 1/K"]}, 0.03),
}


@pytest.mark.parametrize("name", sorted(LAWS))
def test_soret_law_tables(name):
    table, expected_at_305 = LAWS[name]
    raw = copy.deepcopy(CELL)
    raw["solute"]["soret_coefficient"] = table
    case = case_from_dict(raw)
    assert case.solute.soret_coefficient.soret_coefficient(305.0) == pytest.approx(expected_at_305, rel=1e-12)
    again = case_from_dict({**case.to_dict(), "case": {"kind": "soret_cell"}})
    assert again.solute.soret_coefficient == case.solute.soret_coefficient


@pytest.mark.parametrize("table, reason", [
    ({"law": "tabulated", "temperatures": [300, 290], "values": [0, 1]}, "increasing"),
    ({"law": "tabulated", "temperatures": [290, 300], "values": [0]}, "one value per temperature"),
    ({"law": "tabulated", "temperatures": [290, "3 m"], "values": [0, 1]}, "wrong unit"),
    ({"law": "bead_size", "value": 0.1, "reference_radius": "-1 nm", "radius": "1 nm", "exponent": 1}, "positive"),
])
def test_bad_law_tables_name_the_key(table, reason):
    raw = copy.deepcopy(CELL)
    raw["solute"]["soret_coefficient"] = table
    with pytest.raises(CaseError) as error:
        case_from_dict(raw)
    assert error.value.key.startswith("solute.soret_coefficient") and reason in error.value.reason, str(error.value)


def test_slip_law_changes_the_thermoosmotic_flow(repo_root, tmp_path):
    """chi(T) = chi0 + slope (T - T0) along a channel with a linear T: the plug flow
    carries the slip averaged along the channel, chi(T_mean) dT/dx."""
    chi_law = '{law = "linear", value = "3e-10 m^2/(s*K)", reference_temperature = "305 K", slope = "2e-11 m^2/(s*K^2)"}'
    case = thermocfd.load_case(repo_root / "cases" / "thermoosmotic_channel.toml",
                               [f"boundary.walls.flow.slip_coefficient={chi_law}", "fluid.viscosity=1e-3",
                                "output.pictures=false", "output.fields=false"])
    results = thermocfd.run_case(case, tmp_path).summary
    chi_mean = 3e-10 + 2e-11 * (300.0 - 305.0)
    expected = chi_mean * (295.0 - 305.0) / 20e-6
    assert results["slip_velocity_expected"] == pytest.approx(expected, rel=1e-12)
    assert results["mean_flow_velocity"] == pytest.approx(expected, rel=1e-9)  # seen: 4e-13
    # a constant chi at the hot end's value would be 50 % faster: the law acts
    assert abs(results["mean_flow_velocity"] / (3e-10 * (295.0 - 305.0) / 20e-6) - 1) > 0.2
