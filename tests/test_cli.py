"""The command line: run, check, info, bad input (exit 2, one line, no traceback), MPI."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from mpirun import needs_mpirun, on_two_ranks

ROOT = Path(__file__).resolve().parents[1]
THERMOCFD = [sys.executable, "-m", "thermocfd"]
GOOD = """
[case]
kind = "soret_cell"
[geometry]
length = "100 um"
[temperature]
hot = "310 K"
cold = "300 K"
[solute]
diffusivity = "1e-11 m^2/s"
soret_coefficient = "0.05 1/K"
[output]
pictures = false
"""


def thermocfd(*args, cwd=ROOT):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.run(THERMOCFD + list(args), capture_output=True, text=True, cwd=cwd, env=env, timeout=300)


def write_mesh_without(tmp_path: Path, groups: bool) -> Path:
    """A 2D .msh with no physical groups at all, or without the 'cold' boundary."""
    path = tmp_path / ("partial.msh" if groups else "untagged.msh")
    script = f"""
import gmsh
gmsh.initialize(); gmsh.option.setNumber("General.Terminal", 0)
gmsh.model.occ.addRectangle(0, 0, 0, 1, 0.25); gmsh.model.occ.synchronize()
if {groups}:
    gmsh.model.addPhysicalGroup(2, [1], 1); gmsh.model.setPhysicalName(2, 1, "fluid")
    left = [t for _, t in gmsh.model.getEntities(1) if abs(gmsh.model.occ.getCenterOfMass(1, t)[0]) < 1e-9]
    gmsh.model.addPhysicalGroup(1, left, 1); gmsh.model.setPhysicalName(1, 1, "hot")
else:
    gmsh.option.setNumber("Mesh.SaveAll", 1)
gmsh.option.setNumber("Mesh.MeshSizeMax", 0.1)
gmsh.model.mesh.generate(2); gmsh.write({str(path)!r}); gmsh.finalize()
"""
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
    return path


LASER = """
gravity = [0, -9.81, 0]
[case]
kind = "convection"
[geometry]
shape = "chamber"
length = "200 um"
height = "40 um"
[temperature]
ambient = "295 K"
[solute]
diffusivity = "1e-12 m^2/s"
soret_coefficient = "0.4 1/K"
[laser]
power = "100 W/m"
waist = "10 um"
"""

CHANNEL = """
[case]
kind = "convection"
[geometry]
shape = "channel"
length = "600 um"
height = "50 um"
heater_start = "200 um"
heater_end = "300 um"
[boundary.heater]
thermal = {type = "heat_flux", value = "1e5 W/m^2"}
[boundary.inlet]
flow = {type = "inflow", mean_speed = "2 um/s"}
[temperature]
ambient = "295 K"
[solute]
diffusivity = "1e-12 m^2/s"
soret_coefficient = "1 1/K"
"""

PARTICLE = """
[case]
kind = "phoretic_particle"
[particle]
radius = "1 um"
slip_coefficient = "2e-10 m^2/(s*K)"
wall_distance = "2 um"
[temperature]
reference = "300 K"
gradient = [0, 0, "1e4 K/m"]
"""

BAD_CASES = {
    "toml_syntax": (GOOD.replace('length = "100 um"', "length = = 1"), [], "not valid TOML"),
    "no_case_section": (GOOD.replace('[case]\nkind = "soret_cell"', ""), [], "[case]"),
    "unknown_top_key": (GOOD + "\ncolour = 'red'\n", [], "colour"),
    "unknown_kind": (GOOD.replace("soret_cell", "warp_drive"), [], "case.kind"),
    "negative_length": (GOOD.replace("100 um", "-100 um"), [], "geometry.length"),
    "length_in_kelvin": (GOOD.replace("100 um", "100 K"), [], "geometry.length"),
    "zero_kelvin": (GOOD.replace('cold = "300 K"', 'cold = "0 K"'), [], "temperature.cold"),
    "hot_below_cold": (GOOD.replace('hot = "310 K"', 'hot = "290 K"'), [], "temperature.hot"),
    "set_negative_diffusivity": (GOOD, ["--set", "solute.diffusivity=-1e-11"], "solute.diffusivity"),
    "set_without_equals": (GOOD, ["--set", "solute.diffusivity"], "solute.diffusivity"),
    "set_into_a_number": (GOOD, ["--set", "temperature.hot.value=3"], "temperature.hot"),
    "unknown_law": (GOOD.replace('"0.05 1/K"', '{law = "magic"}'), [], "solute.soret_coefficient.law"),
    "missing_law_parameter": (GOOD.replace('"0.05 1/K"', '{law = "piazza", s_inf = 0.1, t0 = 10}'), [],
                              "solute.soret_coefficient.t_star"),
    "transient_not_bool": (GOOD + "\n[time]\ntransient = 'yes'\n", [], "time.transient"),
    "gravity_two_components": (GOOD.replace("[case]", "gravity = [0, -9.81]\n[case]"), [], "gravity"),
    "negative_viscosity": (GOOD + "\n[fluid]\nviscosity = -1e-3\n", [], "fluid.viscosity"),
    "boiling_water": (GOOD.replace('hot = "310 K"', 'hot = "420 K"'),  # water's viscosity law in D(T)
                      ["--set", 'solute.diffusivity={law="stokes_einstein", radius="10 nm"}'], "temperature.hot"),
    "mesh_file_missing": (GOOD.replace('[geometry]\nlength = "100 um"\n', "") + '\n[mesh]\nfile = "nowhere.msh"\n',
                          [], "mesh.file = 'nowhere.msh': file not found"),
    "unknown_unit": (GOOD.replace("100 um", "100 furlongs_per_fortnight"), [], "geometry.length"),
    "laser_outside_chamber": (LASER, ["--set", "laser.position=[3e-4, 0, 0]"], "laser.position"),
    "negative_laser_power": (LASER, ["--set", "laser.power=-0.1"], "laser.power"),
    "laser_power_in_watts_in_2d": (LASER, ["--set", "laser.power=0.1 W"], "laser.power"),
    "chamber_without_laser": (LASER.split("[laser]")[0], [], "laser"),
    "heater_outside_channel": (CHANNEL, ["--set", 'geometry.heater_end="700 um"'], "geometry.heater_end"),
    "channel_without_flow": (CHANNEL.replace('flow = {type = "inflow", mean_speed = "2 um/s"}', ""), [],
                             "boundary.inlet.flow"),
    "inflow_without_speed": (CHANNEL.replace(', mean_speed = "2 um/s"', ""), [], "boundary.inlet.flow"),
    "unknown_boundary": (CHANNEL, ["--set", 'boundary.inelt.flow={type="no_slip"}'], "boundary.inelt"),
    "unknown_condition_type": (CHANNEL, ["--set", 'boundary.heater.thermal={type="hot"}'],
                               "boundary.heater.thermal.type"),
    # known only once the heater has warmed the liquid (6 K here): refused after the heat solve
    "soret_overflow_after_heating": (CHANNEL.replace('soret_coefficient = "1 1/K"', 'soret_coefficient = "300 1/K"'),
                                     [], "solute.soret_coefficient"),
    "unknown_material": (LASER, ["--set", 'region.fluid.material="unobtainium"'], "region.fluid.material"),
    "unused_by_kind": (GOOD, ["--set", "tracking.seed=3"], "tracking"),
    "gravity_without_flow": (GOOD.replace("[case]", "gravity = [0, -9.81, 0]\n[case]"), [], "gravity"),
    "unknown_colormap": (GOOD, ["--set", "pictures.concentration_colormap=rainbowish"],
                         "pictures.concentration_colormap"),
    "particle_overlaps_wall": (PARTICLE, ["--set", 'particle.wall_distance="0.8 um"'], "particle.wall_distance"),
    "zero_particle_radius": (PARTICLE, ["--set", "particle.radius=0"], "particle.radius"),
    "particle_without_gradient": (PARTICLE.replace('gradient = [0, 0, "1e4 K/m"]', ""), [], "temperature.gradient"),
}


def test_failed_run_exits_3_and_keeps_a_partial_summary(tmp_path):
    """A solver that cannot converge: one line saying what to change, exit 3, and
    summary.json with "status": "failed" and the inputs."""
    case = tmp_path / "hard.toml"
    case.write_text(GOOD.replace('"soret_cell"', '"convection"').replace("[case]", "gravity = [0, -1e13, 0]\n[case]")
                    + "\n[flow]\ninertia = true\nnewton_max_iterations = 6\n")
    result = thermocfd("run", str(case), "--out", str(tmp_path / "out"))
    assert result.returncode == 3, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "transient" in lines[0] and "Traceback" not in result.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["status"] == "failed" and "Newton" in summary["error"] and summary["inputs"]["case"]["kind"] == "convection"
    assert "mesh" in summary["timings_s"]


@pytest.mark.parametrize("name", sorted(BAD_CASES))
def test_bad_input_exits_2_with_one_line(tmp_path, name):
    text, extra, needle = BAD_CASES[name]
    case = tmp_path / "bad.toml"
    case.write_text(text)
    result = thermocfd("run", str(case), "--out", str(tmp_path / "out"), *extra)
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert needle in lines[0]
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.parametrize("groups", [False, True], ids=["no_physical_groups", "no_cold_wall"])
def test_bad_mesh_file(tmp_path, groups):
    mesh = write_mesh_without(tmp_path, groups)
    case = tmp_path / "case.toml"
    case.write_text(GOOD.replace('[geometry]\nlength = "100 um"\n', "") + f'\n[mesh]\nfile = "{mesh}"\n')
    result = thermocfd("run", str(case), "--out", str(tmp_path / "out"))
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and ("cold" in lines[0] if groups else "physical groups" in lines[0]), result.stderr
    assert "Traceback" not in result.stderr


def test_missing_case_file(tmp_path):
    result = thermocfd("run", str(tmp_path / "absent.toml"))
    assert result.returncode == 2 and "not found" in result.stderr and "Traceback" not in result.stderr


def test_check_and_info(tmp_path):
    case = tmp_path / "good.toml"
    case.write_text(GOOD)
    assert thermocfd("check", str(case)).returncode == 0
    info = thermocfd("info", "--json")
    assert info.returncode == 0, info.stderr
    data = json.loads(info.stdout)
    assert data["versions"]["dolfinx"].startswith(("0.5", "0.9", "0.10"))
    assert data["mpi_size"] == 1 and "gpu" in data["gpu"]


def test_run_writes_summary_and_pictures(tmp_path):
    result = thermocfd("run", "cases/soret_cell.toml", "--out", str(tmp_path), "--set", "time.transient=true",
                       "--set", "time.steps=40")
    assert result.returncode == 0, result.stderr
    assert "time step 40/40" in result.stdout  # progress is shown
    summary = json.loads((tmp_path / "summary.json").read_text())
    for key in ("c_ratio_cold_hot", "soret_coefficient_fit", "mass_change_rel", "relaxation_time",
                "wall_time_s", "versions", "inputs"):
        assert key in summary
    assert (tmp_path / "soret_profile.png").stat().st_size > 10_000
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes leave no temporaries


@pytest.mark.mpi
@needs_mpirun
def test_mpi_two_ranks_match_serial(tmp_path):
    args = ["run", "cases/soret_cell.toml", "--set", "time.transient=true", "--set", "time.steps=60",
            "--set", "output.pictures=false"]
    serial = thermocfd(*args, "--out", str(tmp_path / "serial"))
    assert serial.returncode == 0, serial.stderr
    parallel = on_two_ranks([*THERMOCFD, *args, "--out", tmp_path / "mpi"], cwd=ROOT)
    assert parallel.returncode == 0, parallel.stderr
    assert parallel.stdout.count("done in") == 1  # rank 0 alone prints
    s = json.loads((tmp_path / "serial" / "summary.json").read_text())
    p = json.loads((tmp_path / "mpi" / "summary.json").read_text())
    assert p["mpi_size"] == 2
    for key in ("c_ratio_cold_hot", "relaxation_time", "soret_coefficient_fit", "total_mass"):
        assert p[key] == pytest.approx(s[key], rel=1e-8), key
    assert p["mass_change_rel"] < 1e-10
