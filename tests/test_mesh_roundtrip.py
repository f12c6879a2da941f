"""``mesh.file`` works for every kind: a preset's mesh written with ``output.mesh`` and run
again from the file, with the preset's resolved conditions as the case's own boundary and
region tables, gives the same results."""

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
from casefiles import to_toml

ROOT = Path(__file__).resolve().parents[1]
# the case of each kind (and each convection shape) whose mesh makes the round trip
CASES = ["soret_cell", "tracking_soret_cell", "soret_cell_gravity", "laser_trap", "heated_stripe_channel",
         "sphere_near_wall", "thermoosmotic_channel", "heater_chip_3d"]
OVERRIDES = {"tracking_soret_cell": ["tracking.particles=2000"],
             # the chip's x-z section: glass, liquid and PDMS regions, an interior heater
             "heater_chip_3d": ["geometry.dimension=2", 'boundary.heater_1.thermal={type="heater_power", power="2 W/m"}']}
# Newton stops on the scaled residual, and a mesh file is scaled by its largest extent, a
# preset by its own length: the iteration counts may differ, the converged results not
NOT_COMPARED = {"newton_residuals", "newton_iterations", "tracking_wall_time_s", "tracking_particle_steps_per_s",
                "wall_time_s", "solver_iterations",
                # the sampled fields' a-priori error from second derivatives of a linear T: round-off
                "tracking_field_error_estimate",
                # 1D references: a preset cell is known to be one-dimensional, a mesh file is not
                "entropy_production_steady_1d", "entropy_production_cycle_1d", "c_ratio_finite_rate_1d",
                "soret_coefficient_finite_rate_1d"}


def thermocfd_run(case: Path, out: Path, *overrides: str) -> dict:
    result = subprocess.run([sys.executable, "-m", "thermocfd", "run", str(case), "--out", str(out), "--quiet",
                             "--set", "output.pictures=false", "--set", "output.fields=false", *overrides],
                            capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert result.returncode == 0, result.stderr
    return json.loads((out / "summary.json").read_text())


def as_mesh_file_case(inputs: dict, mesh: Path) -> str:
    """The resolved inputs of a preset run, with the geometry replaced by the mesh file."""
    raw = json.loads(json.dumps(inputs))
    geometry = raw.pop("geometry")
    shape = geometry["shape"]
    for spec in raw.get("boundary", {}).values():
        flow = spec.get("flow") or {}
        if flow.get("flow_rate") and geometry.get("dimension") == 2:
            # a 2D section's flow rate fills the channel's width, which a mesh file does not carry
            flow["mean_speed"] = flow.pop("flow_rate") / (geometry["channel_width"] * geometry["channel_height"])
    raw["mesh"] = {key: value for key, value in raw.get("mesh", {}).items() if key != "degree"} | {"file": str(mesh)}
    if "degree" in inputs.get("mesh", {}):
        raw["mesh"]["degree"] = inputs["mesh"]["degree"]
    t = raw["temperature"]
    if raw["case"]["kind"] == "convection":  # a mesh file takes the Boussinesq reference instead
        reference = 0.5 * (t["hot"] + t["cold"]) if shape == "two_wall_cell" else t["ambient"]
        raw["temperature"] = {"reference": reference}
    if raw["case"]["kind"] == "phoretic_particle":
        raw["particle"]["position"] = [0.0, 0.0, raw["particle"].get("wall_distance", 0.0)]
    raw["output"]["mesh"] = False
    return to_toml(raw)


@pytest.mark.slow
@pytest.mark.parametrize("name", CASES)
def test_preset_mesh_round_trip_gives_the_same_results(tmp_path, name):
    extra = [arg for override in OVERRIDES.get(name, []) for arg in ("--set", override)]
    preset = thermocfd_run(ROOT / "cases" / f"{name}.toml", tmp_path / "preset", "--set", "output.mesh=true", *extra)
    mesh = tmp_path / "preset" / "mesh.msh"
    case = tmp_path / "from_file.toml"
    case.write_text(as_mesh_file_case(preset["inputs"], mesh))
    tomllib.loads(case.read_text())  # valid TOML
    again = thermocfd_run(case, tmp_path / "file", *(extra if name == "tracking_soret_cell" else []))
    compared = 0
    for key, value in preset.items():
        if key in NOT_COMPARED or isinstance(value, (str, dict, bool)) or value is None:
            continue
        if not isinstance(value, (int, float, list)):
            continue
        a, b = np.asarray(value, dtype=float), np.asarray(again[key], dtype=float)
        # errors against a reference that are at round-off, and components of a vector or
        # matrix far below its largest one: compared in absolute terms
        atol = 1e-9 if key.endswith(("_rel_error", "mass_change_rel")) else 1e-7 * float(np.max(np.abs(a)))
        if key == "particle_angular_velocity":  # ~1e-4 of the rotation rate |U|/a that sets its scale
            atol = 1e-7 * np.linalg.norm(preset["particle_velocity"]) / preset["inputs"]["particle"]["radius"]
        if key == "heat_advected":  # zero up to round-off in a closed cell: on the scale of the heat input
            atol = 1e-9 * abs(preset["heat_input"]) + 1e-9 * sum(abs(v) for v in preset["heat_leaving"].values())
        np.testing.assert_allclose(b, a, rtol=1e-7, atol=atol, equal_nan=True, err_msg=key)
        compared += 1
    assert compared >= 5
