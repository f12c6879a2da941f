"""The PDMS-on-glass heater chip (cases/heater_chip_3d.toml) end to end, on a shortened
chip that runs in seconds: conjugate heat with the solids, Boussinesq flow in the
channel, Soret transport, the heat balance, and the same numbers on 2 MPI ranks."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from mpirun import needs_mpirun, on_two_ranks

ROOT = Path(__file__).resolve().parents[1]
SMALL_CHIP = ["geometry.channel_length=600e-6", "geometry.heaters=[[200e-6, 400e-6]]",
              "geometry.glass_thickness=300e-6", "geometry.pdms_thickness=300e-6", "geometry.margin=150e-6",
              'boundary.heater_1.thermal={type="heater_power", power="0.1 mW"}', "mesh.resolution=0.5",
              "output.pictures=false", "output.fields=false"]
COMPARED = ["temperature_max", "max_flow_speed", "thermophoretic_drift_speed", "peclet_number", "rayleigh_number",
            "c_max_rel", "c_min_rel", "heat_input", "heat_advected"]


def run(out: Path, mpi: bool = False) -> dict:
    command = [sys.executable, "-m", "thermocfd", "run", "cases/heater_chip_3d.toml", "--out", str(out), "--quiet"]
    for override in SMALL_CHIP:
        command += ["--set", override]
    if mpi:
        result = on_two_ranks(command, cwd=ROOT, timeout=600)
    else:
        result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert result.returncode == 0, result.stderr
    return json.loads((out / "summary.json").read_text())


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    return run(tmp_path_factory.mktemp("chip") / "serial")


def test_heater_power_leaves_through_the_outer_faces_and_the_flow(serial):
    assert serial["status"] == "ok"
    assert serial["heat_input"] == pytest.approx(1e-4, rel=1e-12)  # the heater's power
    leaving = serial["heat_leaving"]
    assert set(leaving) == {"glass_bottom", "pdms_top", "outer_sides"}  # the convective faces
    assert sum(leaving.values()) + serial["heat_advected"] == pytest.approx(serial["heat_input"], rel=1e-9)
    assert serial["power_balance_rel_error"] < 1e-9
    assert all(value > 0 for value in leaving.values())


def test_the_chip_heats_where_the_heater_is_and_the_flow_stays_in_the_channel(serial):
    assert serial["temperature_rise_max"] > 1.0  # a few kelvin, as a 0.1 mW stripe on this small chip
    assert serial["temperature_min"] > serial["inputs"]["temperature"]["ambient"]  # the air is the coldest
    mean_speed = 1e-12 / 60 / (100e-6 * 50e-6)  # 1 nL/min through 100 um x 50 um
    assert 1.8 * mean_speed < serial["max_flow_speed"] < 2.3 * mean_speed  # duct flow: u_max ~ 2.1 u_mean
    assert serial["inputs"]["region"]["glass"]["material"] == "borosilicate"


@pytest.mark.mpi
@needs_mpirun
def test_two_ranks_give_the_serial_results(serial, tmp_path):
    parallel = run(tmp_path / "mpi", mpi=True)
    assert parallel["mpi_size"] == 2
    for key in COMPARED:
        assert parallel[key] == pytest.approx(serial[key], rel=1e-6), key
    for face, value in serial["heat_leaving"].items():
        assert parallel["heat_leaving"][face] == pytest.approx(value, rel=1e-6), face


@pytest.mark.parametrize("degree", [1, 2])
def test_uniform_inflow_stays_uniform_without_heating(tmp_path, degree, monkeypatch):
    """A flow-through chip with the heater off: the solute that enters uniform must stay
    uniform. A Taylor-Hood velocity is divergence-free only against P1, so the transport
    form subtracts c div u in open domains and the SUPG residual uses u.grad c (before
    that: c in [0.98, 1.06] at the outlet corners of this channel, cell Peclet ~10)."""
    import thermocfd
    import thermocfd.pipelines.convection as convection
    from thermocfd.fem.transport import SoretTransportProblem

    class OfDegree(SoretTransportProblem):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **{**kwargs, "degree": degree})

    monkeypatch.setattr(convection, "SoretTransportProblem", OfDegree)
    case = thermocfd.load_case(ROOT / "cases" / "heater_chip_3d.toml", [
        "geometry.dimension=2", "mesh.resolution=1", 'boundary.heater_1.thermal={type="heater_power", power="1e-9 W/m"}',
        "output.pictures=false", "output.fields=false"])
    results = thermocfd.run_case(case, tmp_path)
    assert results["peclet_number"] > 100
    assert abs(results["c_max_rel"] - 1.0) < 1e-8 and abs(results["c_min_rel"] - 1.0) < 1e-8
