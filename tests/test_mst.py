"""MST assay simulator (kind 'mst'): the steady depletion at the focus against the Soret
law, the trace's time scales against the heat and diffusion times, the K_d of a simulated
titration against the input, and the case checks. Coarse quarter capillaries, no gravity
(the heat equation alone); one buoyant run checks the flow's direction and symmetry."""

import json
import math

import numpy as np
import openpyxl
import pytest

import thermocfd
from thermocfd.case import case_from_dict
from thermocfd.errors import CaseError


def mst_case(tmp_path, *, solute=None, mst=None, geometry=None, binding=None, gravity=None, steps=30,
             resolution=0.5):
    table = {"case": {"kind": "mst"}, "geometry": {"shape": "capillary", **(geometry or {})},
             "temperature": {"ambient": "298.15 K"},
             "solute": {"diffusivity": "70 um^2/s", "soret_coefficient": "0.01 1/K",
                        "initial_concentration": "50 nM", **(solute or {})},
             "mst": mst or {}, "time": {"steps": steps}, "mesh": {"resolution": resolution},
             "output": {"pictures": False, "fields": False}}
    if binding is not None:
        table["binding"] = binding
    if gravity is not None:
        table["gravity"] = gravity
    return case_from_dict(table)


def run(case, out):
    thermocfd.run_case(case, out)
    return json.loads((out / "summary.json").read_text())


@pytest.fixture(scope="module")
def steady_runs(tmp_path_factory):
    """Two fast-diffusing solutes in a short tube, the laser on long enough for the steady
    state (tube length^2 / D = 100 s... 50 s; on for 60 s)."""
    out = {}
    for D in (1e-8, 2e-8):
        case = mst_case(None, solute={"diffusivity": D}, geometry={"length": "1 mm"},
                        mst={"laser_on": "1 s", "on_duration": "60 s", "off_duration": "0 s"}, steps=40)
        out[D] = run(case, tmp_path_factory.mktemp(f"steady{D:g}"))
    return out


def test_steady_depletion_at_the_focus_is_the_soret_law(steady_runs):
    for summary in steady_runs.values():
        depletion, expected = summary["depletion_focus"], summary["depletion_expected"]
        assert 1.0 - expected > 0.04  # a real depletion: S_T dT ~ 0.06
        assert depletion == pytest.approx(expected, rel=0.01)
        # the source integrates to the Beer-Lambert absorption along the narrow beam
        assert summary["laser_power_absorbed"] == pytest.approx(summary["laser_power_absorbed_on_axis"], rel=0.03)


def test_trace_time_scales_follow_the_heat_and_diffusion_times(steady_runs):
    slow, fast = steady_runs[1e-8], steady_runs[2e-8]
    # thermophoresis: the depletion at the focus builds up like a diffusion time, 1/D
    assert slow["thermophoresis_half_time"] / fast["thermophoresis_half_time"] == pytest.approx(2.0, rel=0.15)
    assert 0.2 < slow["thermophoresis_half_time"] / slow["diffusion_time_focus"] < 10.0
    # the T-jump: half the rise within the heat times of the focus ... the capillary
    for summary in (slow, fast):
        assert summary["heat_time_focus"] < summary["temperature_jump_time_50"] < summary["heat_time_capillary"]
        assert summary["temperature_jump_time_50"] < 0.3 * summary["thermophoresis_half_time"]
    # and the temperature does not depend on the solute
    assert slow["temperature_rise_focus"] == pytest.approx(fast["temperature_rise_focus"], rel=1e-12)


TITRATION = {"dissociation_constant": "300 nM", "ligand_concentrations": ["30 nM", "100 nM", "300 nM", "1 uM",
                                                                        "3 uM", "10 uM"],
             "bound": {"diffusivity": "70 um^2/s", "soret_coefficient": "0.003 1/K"}}


def test_titration_recovers_the_dissociation_constant(tmp_path):
    """Fast binding, no binding enthalpy, equal D: F_norm follows the fraction bound up to
    the curvature of exp(-S_T dT) in it; the fitted K_d is within 5 % of the input, and
    with camera noise the 95 % interval covers it."""
    mst = {"laser_on": "1 s", "on_duration": "20 s", "off_duration": "0 s", "hot_window": ["19 s", "20 s"]}
    exact = run(mst_case(tmp_path, binding=TITRATION, mst=mst, steps=20), tmp_path / "exact")
    kd, true = exact["dissociation_constant_fit"], exact["dissociation_constant_true"]
    assert true == pytest.approx(3e-4)
    assert kd == pytest.approx(true, rel=0.05)
    f_norm = np.array(exact["f_norm"])
    assert np.all(np.diff(f_norm) > 0)  # the complex is less thermophoretic: F_norm rises with the ligand
    assert f_norm[-1] - f_norm[0] > 2.0  # per mille: a measurable amplitude
    noisy = run(mst_case(tmp_path, binding=TITRATION, mst={**mst, "noise": 0.003, "seed": 7}, steps=20),
                tmp_path / "noisy")
    low, high = noisy["dissociation_constant_ci"]
    assert low < true < high
    assert high / low > 1.05  # the noise shows in the interval
    # the export: the sheet and the row labels the open analysis tools read
    sheet = openpyxl.load_workbook(tmp_path / "noisy" / "traces.xlsx", read_only=True)["RawData"]
    labels = {row[0] for row in sheet.iter_rows(max_col=1, values_only=True) if isinstance(row[0], str)}
    assert {"Time [s]", "Ligand Concentration:", "Capillary Position:"} <= labels


def test_buoyant_flow_rises_over_the_focus(tmp_path):
    """With gravity the heated buffer rises on the beam axis (u_z > 0 above the focus) and
    the report compares the flow with the thermophoretic drift."""
    case = mst_case(tmp_path, gravity=[0.0, 0.0, -9.81], resolution=0.35, steps=6,
                    mst={"laser_on": "1 s", "on_duration": "2 s", "off_duration": "0 s", "hot_window": ["1 s", "2 s"],
                         "t_jump_window": ["0 s", "0.5 s"]})
    result = thermocfd.run_case(case, tmp_path)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["max_flow_speed"] > 1e-7  # m/s: um/s convection at a few K
    assert summary["flow_to_drift_ratio"] > 0
    u = result.fields["velocity"]
    from thermocfd.fem import compat

    scale = result.domain.length_scale
    above = compat.evaluate(u, np.array([[0.0, 0.0, 100e-6 / scale]]))[0]
    assert above[2] > 0 and abs(above[0]) < 1e-9 and abs(above[1]) < 1e-9  # on the mirror planes' line


@pytest.mark.parametrize("table, key", [
    ({"mst": {"waist": "300 um"}}, "mst.waist"),
    ({"mst": {"hot_window": ["25 s", "40 s"]}}, "mst.hot_window"),
    ({"mst": {"power": "150 %"}}, "mst.power"),
    ({"binding": {**TITRATION, "highest_ligand": "10 uM"}}, "binding.ligand_concentrations"),
    ({"binding": {**TITRATION, "dilution": 3}}, "binding.dilution"),
    ({"laser": {"power": "1 mW", "waist": "10 um"}}, "laser"),
])
def test_bad_mst_input_names_the_key(tmp_path, table, key):
    base = {"case": {"kind": "mst"}, "temperature": {"ambient": "298.15 K"},
            "solute": {"diffusivity": "70 um^2/s", "soret_coefficient": "0.01 1/K"}}
    with pytest.raises(CaseError) as error:
        case_from_dict({**base, **table})
    assert error.value.key == key


def test_the_shipped_case_is_valid():
    from pathlib import Path

    case = thermocfd.load_case(Path(__file__).resolve().parents[1] / "cases" / "mst_binding.toml")
    assert case.kind == "mst" and len(case.binding.ligand) == 16
    assert case.binding.ligand[-1] == pytest.approx(0.05) and case.binding.ligand[0] == pytest.approx(0.05 / 2**15)
    assert math.isclose(case.mst.power * case.mst.max_power, 4e-3)
