"""The case schema: every key a kind does not use is refused with a message naming it,
every key it uses changes the resolved inputs (and, for physics keys, a result), and the
published JSON Schema validates every shipped case and rejects typos."""

import copy
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import jsonschema
import pytest
from casefiles import to_toml

from thermocfd.case import KIND_USAGE, Case, case_from_dict, case_json_schema
from thermocfd.errors import CaseError

ROOT = Path(__file__).resolve().parents[1]

MINIMAL = {
    "soret_cell": {"case": {"kind": "soret_cell"}, "geometry": {"length": "100 um"},
                   "temperature": {"hot": "310 K", "cold": "300 K"},
                   "solute": {"diffusivity": "1e-11 m^2/s", "soret_coefficient": "0.05 1/K"}},
    "tracking": {"case": {"kind": "tracking"}, "geometry": {"length": "50 um"},
                 "temperature": {"hot": "300 K", "cold": "295 K"},
                 "solute": {"diffusivity": "1e-11 m^2/s", "soret_coefficient": "0.5 1/K"}},
    "convection": {"case": {"kind": "convection"}, "geometry": {"length": "200 um"},
                   "temperature": {"hot": "303 K", "cold": "293 K"}, "gravity": [0, -9.81, 0],
                   "solute": {"diffusivity": "1e-11 m^2/s", "soret_coefficient": "0.05 1/K"}},
    "phoretic_particle": {"case": {"kind": "phoretic_particle"},
                          "particle": {"radius": "1 um", "slip_coefficient": "2e-10 m^2/(s*K)"},
                          "temperature": {"reference": "300 K", "gradient": [0, 0, "1e4 K/m"]}},
    "thermoosmotic_flow": {"case": {"kind": "thermoosmotic_flow"}, "geometry": {"length": "20 um"},
                           "temperature": {"hot": "305 K", "cold": "295 K"},
                           "boundary": {"walls": {"flow": {"type": "slip", "slip_coefficient": 3e-10}}}},
    "aerosol": {"case": {"kind": "aerosol"}, "geometry": {"shape": "wafer", "width": "20 mm", "gap": "10 mm"},
                "temperature": {"hot": "343 K", "cold": "293 K"}, "gravity": [0, -9.81, 0],
                "gas": {"strain_rate": "10 1/s"}, "aerosol": {"diameter": "1 um"}},
    "mst": {"case": {"kind": "mst"}, "temperature": {"ambient": "298 K"}, "gravity": [0, 0, -9.8],
            "solute": {"diffusivity": "70 um^2/s", "soret_coefficient": "0.01 1/K"},
            "binding": {"dissociation_constant": "300 nM", "highest_ligand": "20 uM",
                        "bound": {"diffusivity": "60 um^2/s", "soret_coefficient": "0.005 1/K"}}},
}

# a valid value for every key of every section (what a user might write)
SECTIONS = {
    "laser": {"power": "20 mW", "waist": "10 um", "absorption_coefficient": "12000 1/m", "position": ["10 um", 0, 0],
              "schedule": [[0, "off"], ["1 s", "on"]]},
    "particle": {"radius": "0.8 um", "slip_coefficient": 1e-10, "thermal_conductivity": 0.15, "density": 1050.0,
                 "wall_distance": "3 um", "position": [0, 0, 0]},
    "solute": {"diffusivity": 2e-11, "soret_coefficient": 0.1, "initial_concentration": 2.0},
    "time": {"transient": True, "end": "10 s", "steps": 20, "scheme": "backward_euler", "outputs": ["1 s"]},
    "flow": {"inertia": True, "far_field": "none", "newton_max_iterations": 10},
    "tracking": {"enabled": True, "particles": 10, "duration": "1 s", "time_step": "1 ms", "scheme": "heun",
                 "backend": "cpu", "precision": "float32", "seed": 3, "bins": 8, "trajectories": 2,
                 "particle_radius": "1 um", "particle_density": 1050.0, "field_tolerance": 0.01},
    "solver": {"linear_solver": "iterative", "rtol": 1e-9, "max_memory": "64 GB", "nonlinear_rtol": 1e-10,
               "continuation": False},
    "fluid": {"viscosity": "1e-3 Pa*s", "density": 1000.0, "thermal_conductivity": 0.6, "heat_capacity": 4180.0,
              "thermal_expansion": 2e-4},
    "mesh": {"resolution": 2.0, "degree": 2},
    "gravity": [0, 0, -9.81],
    "region": {"fluid": {"material": "fluid"}},
    "boundary": {"hot": {"thermal": {"type": "temperature", "value": 305.0}}},
    "gas": {"species": "argon", "pressure": "2 atm", "strain_rate": "5 1/s"},
    "aerosol": {"diameter": "0.5 um", "density": 2000.0, "thermal_conductivity": 1.0, "creep_coefficient": 1.1,
                "temperature_jump_coefficient": 2.0, "momentum_exchange_coefficient": 1.1, "release_height": "5 mm",
                "integrator": "overdamped"},
    "mst": {"power": "60 %", "max_power": "20 mW", "waist": "10 um", "wavelength": "1450 nm", "water_absorption": 2000.0,
            "laser_on": "4 s", "on_duration": "25 s", "off_duration": "3 s", "temperature_coefficient": "-1 %/K",
            "detection_radius": "20 um", "depth_of_field": "80 um", "bleaching_rate": "0.001 1/s",
            "sampling_interval": "0.1 s", "noise": 0.002, "seed": 5, "cold_window": ["-2 s", "0 s"],
            "hot_window": ["20 s", "21 s"], "t_jump_window": ["0 s", "0.5 s"]},
    "binding": {"dissociation_constant": "1 uM", "enthalpy": "-40 kJ/mol", "reference_temperature": "300 K",
                "association_rate": "1e6 1/(M*s)", "highest_ligand": "40 uM", "capillaries": 12, "dilution": 1.5,
                "bound": {"diffusivity": "50 um^2/s", "soret_coefficient": "0.002 1/K", "brightness": 1.2,
                          "temperature_coefficient": "-2 %/K"}},
}


def refused_combinations():
    """(kind, path, value) for every section and key a kind does not use."""
    out = []
    for kind, usage in KIND_USAGE.items():
        for section, sample in SECTIONS.items():
            used = usage.get(section)
            if used is None:
                out.append((kind, (section,), sample))
            elif isinstance(sample, dict) and used != "all" and section not in ("boundary", "region"):
                out += [(kind, (section, key), value) for key, value in sample.items() if key not in used]
    for kind in ("soret_cell", "tracking", "phoretic_particle"):  # flow conditions where nothing flows
        if "boundary" in KIND_USAGE[kind]:
            out.append((kind, ("boundary", "walls", "flow"), {"type": "no_slip"}))
    out.append(("soret_cell", ("boundary", "hot", "particles"), {"type": "adsorb"}))
    out.append(("convection", ("boundary", "hot", "particles"), {"type": "adsorb"}))  # tracking off
    out.append(("tracking", ("boundary", "hot", "solute"), {"type": "no_flux"}))
    # keys of another shape, and keys with no effect in the setting at hand
    out += [("soret_cell", ("temperature", "ambient"), "300 K"), ("convection", ("temperature", "reference"), "300 K"),
            ("soret_cell", ("geometry", "heater_start"), "1 um"), ("convection", ("geometry", "channel_width"), "1 um"),
            ("soret_cell", ("fluid", "viscosity"), "1e-3 Pa*s"), ("soret_cell", ("time", "steps"), 20),
            ("convection", ("tracking", "particles"), 10), ("convection", ("time", "outputs"), ["1 s"]), ("convection", ("probe",), {"p": {"type": "point",
                                                                                           "centre": [0, 0, 0]}}),
            ("soret_cell", ("mesh", "tags"), {"fluid": 1}), ("soret_cell", ("mesh", "unit"), "1 um"),
            ("phoretic_particle", ("particle", "position"), [0, 0, 0]),
            ("tracking", ("gravity",), [0, -9.81, 0])]
    return out


def with_entry(kind, path, value):
    raw = copy.deepcopy(MINIMAL[kind])
    table = raw
    for part in path[:-1]:
        table = table.setdefault(part, {})
    table[path[-1]] = value
    return raw


REFUSED = refused_combinations()


def test_at_least_forty_refused_combinations():
    assert len(REFUSED) >= 40, len(REFUSED)


@pytest.mark.parametrize("kind", sorted(MINIMAL))
def test_minimal_cases_are_valid(kind):
    case = case_from_dict(copy.deepcopy(MINIMAL[kind]))
    assert case.kind == kind
    assert case_from_dict(case.to_dict()).to_dict() == case.to_dict()  # resolved inputs parse back


@pytest.mark.parametrize("kind, path, value", REFUSED, ids=[f"{k}:{'.'.join(p)}" for k, p, _ in REFUSED])
def test_keys_a_kind_does_not_use_are_refused(kind, path, value):
    with pytest.raises(CaseError) as error:
        case_from_dict(with_entry(kind, path, value))
    key = ".".join(path)
    assert error.value.key == key, str(error.value)
    message = str(error.value)
    assert "not used" in message or "has no effect" in message, message


@pytest.mark.parametrize("kind, path, value", REFUSED[::9], ids=[f"{k}:{'.'.join(p)}" for k, p, _ in REFUSED[::9]])
def test_refused_through_the_command_line(tmp_path, kind, path, value):
    case = tmp_path / "case.json.toml"
    raw = with_entry(kind, path, value)
    case.write_text(to_toml(raw))
    result = subprocess.run([sys.executable, "-m", "thermocfd", "check", str(case)], capture_output=True,
                            text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and ".".join(path) in lines[0] and "Traceback" not in result.stderr


# --- every used key changes the resolved inputs ------------------------------------------------
CHANGES = {  # kind -> {dotted key: a different valid value}
    "soret_cell": {"geometry.length": "80 um", "geometry.height": "30 um", "geometry.dimension": 3,
                   "geometry.depth": "20 um", "mesh.resolution": 2.0, "mesh.degree": 2,
                   "temperature.hot": "312 K", "temperature.cold": "298 K", "solute.diffusivity": 2e-11,
                   "solute.soret_coefficient": 0.2, "solute.initial_concentration": 3.0, "time.transient": True,
                   "solver.linear_solver": "iterative", "output.fields": False, "output.pictures": False,
                   "output.mesh": True, "case.name": "x", "case.description": "y"},
    "convection": {"fluid.viscosity": "2e-3 Pa*s", "fluid.density": 990.0, "fluid.thermal_conductivity": 0.5,
                   "fluid.heat_capacity": 4000.0, "fluid.thermal_expansion": 3e-4, "gravity": [0, -5.0, 0],
                   "flow.inertia": True, "flow.newton_max_iterations": 7, "tracking.enabled": True},
    "phoretic_particle": {"particle.radius": "2 um", "particle.slip_coefficient": 1e-10,
                          "particle.thermal_conductivity": 1.0, "particle.wall_distance": "3 um",
                          "temperature.reference": "310 K", "temperature.gradient": [0, 0, 1e3],
                          "flow.far_field": "none", "solver.linear_solver": "iterative", "geometry.length": "20 um"},
}


# what a key needs around it to act (a setting without it refuses the key)
PREREQUISITES = {
    "time": {"time.transient": True}, "solver.rtol": {"solver.linear_solver": "iterative"},
    "convection:laser.schedule": {"time.transient": True},
    "convection:tracking": {"tracking.enabled": True},
    "tracking:fluid.density": {"tracking.particle_radius": "1 um", "tracking.particle_density": 1050.0},
    "tracking:gravity": {"tracking.particle_radius": "1 um", "tracking.particle_density": 1050.0},
    "tracking:tracking.particle_radius": {"tracking.particle_density": 1050.0},
    "tracking:tracking.particle_density": {"tracking.particle_radius": "1 um"},
    "convection:tracking.particle_radius": {"tracking.particle_density": 1050.0, "tracking.enabled": True},
    "convection:tracking.particle_density": {"tracking.particle_radius": "1 um", "tracking.enabled": True},
    "soret_cell:fluid.viscosity": {"solute.diffusivity": {"law": "stokes_einstein", "radius": "10 nm"}},
    "tracking:fluid.viscosity": {"solute.diffusivity": {"law": "stokes_einstein", "radius": "10 nm"}},
    "phoretic_particle:fluid.density": {"particle.density": 1050.0, "gravity": [0, 0, -9.81]},
    "phoretic_particle:gravity": {"particle.density": 1050.0},
    "phoretic_particle:particle.density": {"gravity": [0, 0, -9.81]},
    "mst:time": {}, "mst:solver.rtol": {"solver.linear_solver": "iterative"},
    "mst:mst.seed": {"mst.noise": 0.001},
    "mst:mesh.resolution": {"solver.max_memory": "none"},  # resolution 2 of the coupled 3D capillary: ~57 GB
}


def _walk():
    """(kind, dotted key, value) for every key of the sample table that the kind uses."""
    out = []
    for kind, usage in KIND_USAGE.items():
        for section, sample in SECTIONS.items():
            used = usage.get(section)
            if used is None or section in ("boundary", "region", "particle") and kind != "phoretic_particle":
                continue
            if not isinstance(sample, dict):
                out.append((kind, section, sample))
                continue
            for key, value in sample.items():
                if (used == "all" or key in used) and not (section == "particle" and key == "position"):
                    out.append((kind, f"{section}.{key}", value))
    return [item for item in out if not _inactive_without_file(*item)]


def _inactive_without_file(kind, dotted, value):
    """Keys that act only with a mesh file's solid regions (tested by the conjugate cases)."""
    return dotted == "fluid.thermal_conductivity" and kind in ("soret_cell", "tracking", "thermoosmotic_flow")


def _set(raw: dict, dotted: str, value) -> None:
    *sections, key = dotted.split(".")
    table = raw
    for part in sections:
        table = table.setdefault(part, {})
    table[key] = value


WALK = _walk()


@pytest.mark.parametrize("kind, dotted, value", WALK, ids=[f"{k}:{d}" for k, d, _ in WALK])
def test_walk_every_used_key_reaches_the_resolved_inputs(kind, dotted, value):
    """Each key a kind uses, set to a non-default value (with what it needs around it),
    is accepted and changes the resolved inputs at that key."""
    raw = copy.deepcopy(MINIMAL[kind])
    section = dotted.split(".")[0]
    if section == "laser":  # a laser heats a chamber
        raw.update(geometry={"shape": "chamber", "length": "200 um"}, temperature={"ambient": "295 K"},
                   laser={"power": "50 W/m", "waist": "20 um"})
        value = "40 W/m" if dotted == "laser.power" else value
    # a kind's own entry for a section replaces the general one
    names = (f"{kind}:{section}",) if f"{kind}:{section}" in PREREQUISITES else (section, f"{kind}:{section}")
    for name in (*names, dotted, f"{kind}:{dotted}"):
        for key, needed in PREREQUISITES.get(name, {}).items():
            if key != dotted:
                _set(raw, key, needed)
    try:
        before = _resolved_at(case_from_dict(copy.deepcopy(raw)).to_dict(), dotted)
    except CaseError:  # the key's partner alone is refused (e.g. a particle radius without density)
        before = None
    _set(raw, dotted, value)
    after = _resolved_at(case_from_dict(raw).to_dict(), dotted)
    assert after is not None and after != before, (dotted, before, after)


def _resolved_at(inputs: dict, dotted: str):
    node = inputs
    for part in dotted.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


@pytest.mark.parametrize("kind, dotted", [(k, d) for k, table in CHANGES.items() for d in table])
def test_every_used_key_changes_the_resolved_inputs(kind, dotted):
    before = case_from_dict(copy.deepcopy(MINIMAL[kind])).to_dict()
    raw = copy.deepcopy(MINIMAL[kind])
    section, _, key = dotted.rpartition(".")
    (raw.setdefault(section, {}) if section else raw)[key] = CHANGES[kind][dotted]
    after = case_from_dict(raw).to_dict()
    assert _resolved_at(after, dotted) != _resolved_at(before, dotted), dotted


# physics keys of the Soret cell, each run: a result must change (constant-D cell, P1)
PHYSICS = {"geometry.length": ("80 um", "total_mass"), "geometry.height": ("30 um", "total_mass"),
           "mesh.resolution": (1.5, "num_cells"), "mesh.degree": (2, "num_dofs"),
           "temperature.hot": ("312 K", "c_ratio_cold_hot"), "temperature.cold": ("298 K", "c_ratio_cold_hot"),
           "solute.soret_coefficient": (0.2, "c_ratio_cold_hot"),
           "solute.initial_concentration": (3.0, "c_hot"),
           "boundary.walls.thermal": ({"type": "temperature", "value": 305.0}, "soret_coefficient_fit")}


@pytest.mark.slow
def test_physics_keys_change_a_result(tmp_path):
    from thermocfd.pipelines import run_case

    def results(raw):
        raw = copy.deepcopy(raw)
        raw["output"] = {"fields": False, "pictures": False}
        return run_case(case_from_dict(raw), tmp_path).summary

    base = results(MINIMAL["soret_cell"])
    for dotted, (value, result) in PHYSICS.items():
        raw = copy.deepcopy(MINIMAL["soret_cell"])
        *sections, key = dotted.split(".")
        table = raw
        for part in sections:
            table = table.setdefault(part, {})
        table[key] = value
        assert results(raw)[result] != pytest.approx(base[result], rel=1e-9), dotted


# --- the published JSON Schema -----------------------------------------------------------
@pytest.fixture(scope="module")
def schema():
    result = subprocess.run([sys.executable, "-m", "thermocfd", "schema"], capture_output=True, text=True,
                            cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("path", sorted((ROOT / "cases").glob("*.toml")), ids=lambda p: p.stem)
def test_schema_validates_every_shipped_case(schema, path):
    jsonschema.validate(tomllib.loads(path.read_text()), schema)


@pytest.mark.parametrize("change", [("geometry", "lenght", "100 um"), ("solute", "soret", 0.1),
                                    ("tracking", "walls", "adsorb"), ("laser", "power", "1 mW")])
def test_schema_rejects_typos_and_unused_keys(schema, change):
    raw = copy.deepcopy(MINIMAL["soret_cell"])
    section, key, value = change
    raw.setdefault(section, {})[key] = value
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(raw, schema)
    jsonschema.validate(MINIMAL["soret_cell"], schema)


def test_case_model_lists_every_section_in_the_usage_table():
    sections = {name for name in Case.model_fields if name != "source"}
    used = set().union(*(usage.keys() for usage in KIND_USAGE.values()))
    assert used <= sections and sections - used == set(), sections - used
    assert case_json_schema()["title"] == "thermocfd case file"


@pytest.mark.parametrize("dimension, power, ok", [(3, "1 mW", True), (2, "1 mW", False), (2, "10 W/m", True),
                                                  (3, "10 W/m", False)])
def test_heater_power_is_watts_in_3d_and_watts_per_metre_in_2d(dimension, power, ok):
    raw = {"case": {"kind": "convection"}, "temperature": {"ambient": "295 K"},
           "geometry": {"shape": "chip", "dimension": dimension, "heaters": [["0.5 mm", "1 mm"]]},
           "boundary": {"inlet": {"flow": {"type": "inflow", "mean_speed": "10 um/s"}},
                        "heater_1": {"thermal": {"type": "heater_power", "power": power}}},
           "solute": {"diffusivity": 1e-12, "soret_coefficient": 1.0}}
    if ok:
        case = case_from_dict(raw)
        assert case.boundary["heater_1"].thermal.power == pytest.approx(1e-3 if dimension == 3 else 10.0)
    else:
        with pytest.raises(CaseError, match="wrong unit") as error:
            case_from_dict(raw)
        assert error.value.key == "boundary.heater_1.thermal.power"
