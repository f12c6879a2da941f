"""The Onsager outputs of a case: entropy production of the Soret cell against its 1D
value, and the Dufour key (its effect, and where it is refused)."""

import copy

import pytest

import thermocfd
from thermocfd.case import case_from_dict
from thermocfd.errors import CaseError

CELL = {"case": {"kind": "soret_cell"}, "geometry": {"length": "100 um", "height": "20 um"},
        "mesh": {"resolution": 0.5}, "temperature": {"hot": "310 K", "cold": "300 K"},
        "solute": {"diffusivity": "1e-11 m^2/s", "soret_coefficient": 0.05},
        "output": {"pictures": False, "fields": False}}


def run(raw, tmp_path):
    return thermocfd.run_case(case_from_dict(copy.deepcopy(raw)), tmp_path).summary


def test_entropy_production_of_the_soret_cell(tmp_path):
    results = run(CELL, tmp_path)
    # steady and closed: J = 0, only conduction produces entropy, exactly as in 1D
    assert results["entropy_production_total"] == pytest.approx(results["entropy_production_steady_1d"], rel=1e-9)
    assert 0 <= results["entropy_production_solute"] < 1e-9 * results["entropy_production_thermal"]
    k = 0.6  # the liquid's conductivity enters linearly: a check of the 1D value's scale
    area = 20e-6
    assert results["entropy_production_steady_1d"] == pytest.approx(
        k * 10.0**2 / (100e-6 * 310.0 * 300.0) * area, rel=0.05)


def test_dufour_coupling_changes_the_temperature_a_little(tmp_path):
    raw = copy.deepcopy(CELL)
    raw["solute"]["dufour"] = True
    raw["solute"]["initial_concentration"] = "100 mol/m^3"
    results = run(raw, tmp_path)
    # a dilute solute in water: R T^2 D S_T grad c is ~1e-6 of the Fourier flux
    assert 0 < results["dufour_temperature_change_max"] < 1e-4
    assert results["dufour_iterations"] >= 2


@pytest.mark.parametrize("change, key", [
    ({"time": {"transient": True}}, "solute.dufour"),
    ({"case": {"kind": "tracking"}}, "solute.dufour"),
])
def test_dufour_is_refused_where_it_has_no_effect(change, key):
    raw = copy.deepcopy(CELL)
    raw["solute"]["dufour"] = True
    raw.update(change)
    with pytest.raises(CaseError) as error:
        case_from_dict(raw)
    assert error.value.key == key
