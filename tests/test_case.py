"""Case files: parsing, units, overrides and validation messages (no dolfinx)."""

import math

import pytest

from thermocfd.case import case_from_dict, load_case, parse_override
from thermocfd.errors import CaseError
from thermocfd.physics import PiazzaSoret, StokesEinsteinDiffusivity, WaterViscosity


def minimal(**changes):
    raw = {
        "case": {"kind": "soret_cell"},
        "geometry": {"length": "100 um"},
        "temperature": {"hot": "310 K", "cold": "300 K"},
        "solute": {"diffusivity": "1e-11 m^2/s", "soret_coefficient": "0.05 1/K"},
    }
    for dotted, value in changes.items():
        if value is None:  # remove a whole section
            del raw[dotted]
            continue
        section, key = dotted.split("__")
        raw.setdefault(section, {})[key] = value
    return raw


def test_units_are_converted_to_si():
    case = case_from_dict(minimal(temperature__hot="40 degC", geometry__height="0.025 mm"))
    assert case.geometry.length == pytest.approx(1e-4)
    assert case.geometry.height == pytest.approx(2.5e-5)
    assert case.temperature.hot == pytest.approx(313.15)
    assert case.solute.diffusivity.diffusivity(300.0) == pytest.approx(1e-11)


def test_law_tables():
    case = case_from_dict(minimal(
        solute__soret_coefficient={"law": "piazza", "s_inf": "0.1 1/K", "t_star": "20 degC", "t0": "25 K"},
        solute__diffusivity={"law": "stokes_einstein", "radius": "10 nm"}))
    assert case.solute.soret_coefficient == PiazzaSoret(0.1, 293.15, 25.0)
    assert isinstance(case.solute.diffusivity, StokesEinsteinDiffusivity)
    assert isinstance(case.solute.diffusivity.viscosity, WaterViscosity)
    inputs = case.to_dict()
    assert inputs["solute"]["soret_coefficient"]["law"] == "piazza"
    again = case_from_dict(inputs)  # summary.json inputs parse back to the same case
    assert again.solute == case.solute and again.temperature == case.temperature


def test_overrides_parse_toml_or_bare_strings():
    assert parse_override("temperature.hot=310") == (["temperature", "hot"], 310)
    assert parse_override("temperature.hot=310 K") == (["temperature", "hot"], "310 K")
    assert parse_override("time.transient=true") == (["time", "transient"], True)


def test_shipped_demo_case_loads(repo_root):
    case = load_case(repo_root / "cases" / "soret_cell.toml", ["time.transient=true"])
    assert case.time.transient
    assert math.isclose(case.solute.soret_coefficient.value * (case.temperature.hot - case.temperature.cold), 0.5)


@pytest.mark.parametrize("changes, key, reason", [
    ({"geometry__length": "-5 um"}, "geometry.length", "positive"),
    ({"geometry__length": "5 K"}, "geometry.length", "wrong unit"),
    ({"geometry__lenght": "5 um"}, "geometry.lenght", "did you mean 'length'"),
    ({"temperature__cold": "-3 K"}, "temperature.cold", "above 0 K"),
    ({"temperature__cold": "320 K"}, "temperature.hot", "above temperature.cold"),
    ({"solute__diffusivity": "-1e-11 m^2/s"}, "solute.diffusivity", "positive"),
    ({"solute__diffusivity": True}, "solute.diffusivity", "expected a number"),
    ({"solute__soret_coefficient": {"law": "magic"}}, "solute.soret_coefficient.law", "unknown law"),
    ({"solute__soret_coefficient": {"law": "piazza", "s_inf": 0.1}}, "solute.soret_coefficient.t_star", "missing"),
    ({"fluid__viscosity": "-1 Pa*s"}, "fluid.viscosity", "positive"),
    ({"mesh__degree": 3}, "mesh.degree", "one of 1, 2"),
    ({"mesh__resolution": "fine"}, "mesh.resolution", "number"),
    ({"time__steps": 1}, "time.steps", "at least 2"),
    ({"time__scheme": "rk4"}, "time.scheme", "one of"),
    ({"case__kind": "warp_drive"}, "case.kind", "unknown kind"),
    ({"mesh__file": "nowhere.msh", "geometry": None}, "mesh.file", "not found"),
    ({"mesh__file": "nowhere.msh"}, "geometry", "not used with mesh.file"),
])
def test_bad_values_name_the_key(changes, key, reason):
    with pytest.raises(CaseError) as error:
        case_from_dict(minimal(**changes))
    assert error.value.key == key
    assert reason in str(error.value)


@pytest.mark.parametrize("section, key, where", [("tracking", "walls", "[boundary.NAME] particles"),
                                                 ("flow", "mean_speed", "[boundary.inlet] flow"),
                                                 ("heater", "start", "geometry.heater_start")])
def test_keys_of_earlier_case_files_say_where_they_moved(section, key, where):
    raw = minimal()
    raw[section] = {key: 1.0}
    with pytest.raises(CaseError, match="moved") as error:
        case_from_dict(raw)
    assert where in str(error.value)
