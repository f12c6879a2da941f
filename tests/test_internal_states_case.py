"""Case files for species with internal states: units, the model built from the tables,
and one clear message for each malformed description."""

import copy
import math
from pathlib import Path

import numpy as np
import pytest

import thermocfd
from thermocfd.case import case_from_dict, load_case
from thermocfd.errors import CaseError
from thermocfd.physics.constants import AVOGADRO, BOLTZMANN

ROOT = Path(__file__).resolve().parents[1]

TWO_STATES = {
    "case": {"kind": "soret_cell"}, "geometry": {"length": "100 um"},
    "temperature": {"hot": "305 K", "cold": "295 K"},
    "solute": {"states": {"a": {"energy": "0 J", "diffusivity": "4e-11 m^2/s"},
                          "b": {"energy": "2.5 kJ/mol", "degeneracy": 3, "diffusivity": "2e-11 m^2/s"}},
               "transitions": [{"between": ["a", "b"], "barrier": "30 zJ", "rate_prefactor": "1e9 1/s"}]},
}


def with_solute(**changes):
    raw = copy.deepcopy(TWO_STATES)
    raw["solute"].update(changes)
    return raw


def test_shipped_case_builds_its_model():
    case = load_case(ROOT / "cases" / "internal_states.toml")
    model = case.solute.internal_states
    assert [s.name for s in model.states] == ["compact", "open"]
    # 50 kJ/mol per particle
    assert model.states[1].energy == pytest.approx(50e3 / AVOGADRO, rel=1e-12)
    assert case.solute.diffusivity is None and case.solute.soret_coefficient is None
    # the fast-switching law is what the references use
    T = 300.0
    p_open = model.populations(T)[1]
    D = p_open * 2e-11 + (1 - p_open) * 4e-11
    assert case.solute.diffusivity_law.diffusivity(T) == pytest.approx(D, rel=1e-12)
    assert case.solute.soret_law.soret_coefficient(T) < 0  # slower open state: thermophilic


def test_energy_units_per_particle_and_per_mole():
    case = case_from_dict(TWO_STATES)
    model = case.solute.internal_states
    assert model.states[1].energy == pytest.approx(2.5e3 / AVOGADRO, rel=1e-12)
    assert model.transitions[0].barrier == pytest.approx(30e-21, rel=1e-12)
    # detailed balance at any T: k_ab g_a exp(-E_a/kT) = k_ba g_b exp(-E_b/kT)
    for T in (280.0, 300.0, 340.0):
        k = model.rate_matrix(T)
        lhs = k[0, 1] * 1.0 * math.exp(-model.states[0].energy / (BOLTZMANN * T))
        rhs = k[1, 0] * 3.0 * math.exp(-model.states[1].energy / (BOLTZMANN * T))
        assert lhs == pytest.approx(rhs, rel=1e-12)


@pytest.mark.parametrize("raw, key, reason", [
    (with_solute(diffusivity="1e-11 m^2/s"), "solute.diffusivity", "not used with solute.states"),
    (with_solute(soret_coefficient=0.01), "solute.soret_coefficient", "not used with solute.states"),
    (with_solute(states={"a": TWO_STATES["solute"]["states"]["a"]}), "solute.states", "at least two"),
    (with_solute(transitions=[]), "solute.transitions", "missing"),
    (with_solute(transitions=[{"between": ["a", "c"], "barrier": 0, "rate_prefactor": 1}]),
     "solute.transitions[0].between", "not a state"),
    (with_solute(transitions=[{"between": ["a", "a"], "barrier": 0, "rate_prefactor": 1}]),
     "solute.transitions[0].between", "two different states"),
    (with_solute(transitions=[{"between": ["a", "b"], "barrier": 0, "rate_prefactor": 1},
                              {"between": ["b", "a"], "barrier": 0, "rate_prefactor": 1}]),
     "solute.transitions[1].between", "twice"),
    (with_solute(states={**TWO_STATES["solute"]["states"], "c": {"energy": 0, "diffusivity": 1e-11}}),
     "solute.transitions", "do not connect state(s) c"),
    (with_solute(states={"a": {"energy": "3 m", "diffusivity": 1e-11}, "b": {"energy": 0, "diffusivity": 1e-11}}),
     "solute.states.a.energy", "wrong unit"),
    (with_solute(states={"a": {"energy": 0, "degeneracy": 0, "diffusivity": 1e-11},
                         "b": {"energy": 0, "diffusivity": 1e-11}}), "solute.states.a.degeneracy", "positive"),
    (with_solute(transitions=[{"between": ["a", "b"], "barrier": 0, "rate_prefactor": -1}]),
     "solute.transitions[0].rate_prefactor", "positive"),
])
def test_malformed_states_are_named(raw, key, reason):
    with pytest.raises(CaseError) as error:
        case_from_dict(raw)
    assert error.value.key == key and reason in error.value.reason, str(error.value)


def test_plain_solute_still_needs_its_laws():
    raw = copy.deepcopy(TWO_STATES)
    raw["solute"] = {"diffusivity": "1e-11 m^2/s"}
    with pytest.raises(CaseError) as error:
        case_from_dict(raw)
    assert error.value.key == "solute.soret_coefficient"
    raw["solute"] = {"diffusivity": "1e-11 m^2/s", "soret_coefficient": 0.01,
                     "transitions": [{"between": ["a", "b"], "barrier": 0, "rate_prefactor": 1}]}
    with pytest.raises(CaseError) as error:
        case_from_dict(raw)
    assert error.value.key == "solute.transitions"


def test_convection_refuses_states():
    raw = copy.deepcopy(TWO_STATES)
    raw["case"]["kind"] = "convection"
    raw["gravity"] = [0, -9.81, 0]
    with pytest.raises(CaseError) as error:
        case_from_dict(raw)
    assert error.value.key == "solute.states" and "not used by kind 'convection'" in error.value.reason


def test_stokes_einstein_states_take_the_fluid_viscosity():
    raw = copy.deepcopy(TWO_STATES)
    raw["case"]["kind"] = "tracking"
    raw["geometry"] = {"length": "50 um"}
    raw["fluid"] = {"viscosity": "2e-3 Pa*s"}
    for name, radius in (("a", "10 nm"), ("b", "20 nm")):
        raw["solute"]["states"][name]["diffusivity"] = {"law": "stokes_einstein", "radius": radius}
    case = case_from_dict(raw)
    D_a = case.solute.states["a"].diffusivity.diffusivity(300.0)
    assert D_a == pytest.approx(BOLTZMANN * 300.0 / (6 * math.pi * 2e-3 * 10e-9), rel=1e-12)
    assert case.solute.internal_states.has_closed_form_potential


# --- the cases run -------------------------------------------------------------------------
def run_shipped(tmp_path, *overrides):
    case = load_case(ROOT / "cases" / "internal_states.toml",
                     ["output.pictures=false", "output.fields=false", *overrides])
    return thermocfd.run_case(case, tmp_path).summary


@pytest.mark.parametrize("d_open, sign", [("2e-11 m^2/s", -1), ("6e-11 m^2/s", +1)])
def test_fast_switching_cell_and_the_sign_of_cov_d_e(tmp_path, d_open, sign):
    """Da ~ 1e6: the FEM's ratio is the fast limit <D>(T_hot)/<D>(T_cold) and its fitted S_T
    Cov(D, E)/(k_B T^2 <D>); slower open state: thermophilic, faster: thermophobic."""
    r = run_shipped(tmp_path, f'solute.states.open.diffusivity="{d_open}"')
    case = load_case(ROOT / "cases" / "internal_states.toml", [f'solute.states.open.diffusivity="{d_open}"'])
    model = case.solute.internal_states
    mean_d = [model.mean_diffusivity(T) for T in (305.0, 295.0)]
    assert r["damkohler_number"] > 1e5
    assert r["c_ratio_cold_hot"] == pytest.approx(mean_d[0] / mean_d[1], rel=0.01)
    assert r["c_ratio_cold_hot"] == pytest.approx(mean_d[0] / mean_d[1], rel=1e-4)  # what it really reaches
    T_mean = 300.0
    cov = model.covariance_diffusivity_energy(T_mean) / (BOLTZMANN * T_mean**2 * model.mean_diffusivity(T_mean))
    assert r["soret_coefficient_fit"] == pytest.approx(cov, rel=0.01)
    assert np.sign(r["soret_coefficient_fit"]) == sign == np.sign(cov)
    # the steady closed cell: no net flux, but each state flows and the states switch
    assert min(r["state_flux_l2"]) > 1e6 * r["total_flux_l2"]
    assert r["transition_flux_l1"][0] > 0
    assert r["entropy_production_cycle"] > 0
    assert r["entropy_production_total"] == pytest.approx(r["entropy_production_steady_1d"], rel=1e-6)
    assert r["mass_change_rel"] < 1e-12


def test_finite_rate_cell_fem_and_tracker_against_the_1d_reference(tmp_path):
    """Da ~ 18: the ratio is 15 % below the fast limit; the FEM agrees with the finite-rate
    1D reference to 1 %, the tracker within its statistical error (and far from the fast limit)."""
    raw = {"case": {"kind": "tracking"}, "geometry": {"length": "20 um", "height": "5 um"},
           "temperature": {"hot": "320 K", "cold": "280 K"},
           "solute": {"states": {"slow": {"energy": 0, "diffusivity": "1e-11 m^2/s"},
                                 "fast": {"energy": "24.94 kJ/mol", "degeneracy": 22026.47,
                                          "diffusivity": "1e-10 m^2/s"}},
                      "transitions": [{"between": ["slow", "fast"], "barrier": "24.94 kJ/mol",
                                       "rate_prefactor": "2.75e4 1/s"}]},
           "tracking": {"particles": 40000, "bins": 10, "time_step": "2 ms"},
           "output": {"pictures": False, "fields": False}}
    r = thermocfd.run_case(case_from_dict(raw), tmp_path).summary
    reference, fast = r["c_ratio_finite_rate_1d"], r["c_ratio_fast_switching"]
    assert r["damkohler_number"] < 100 and reference < 0.9 * fast
    assert r["c_ratio_eulerian"] == pytest.approx(reference, rel=0.01)
    error = r["c_ratio_cold_hot_stderr"]
    assert abs(r["c_ratio_cold_hot"] - reference) < 3.5 * error
    assert fast - r["c_ratio_cold_hot"] > 4 * error
    # the slope of ln c against T over all bins: a second, independent look at the histogram
    assert abs(r["soret_coefficient_fit"] - r["soret_coefficient_finite_rate_1d"]) < 3.5 * r["soret_coefficient_fit_stderr"]
    assert sum(r["internal_state_counts"]) == 40000
