"""Input fuzzing (hypothesis): malformed and adversarial case inputs for every kind are
either accepted or refused with a :class:`~thermocfd.errors.CaseError` -- never another
exception -- in process (``case_from_dict`` / ``load_case`` with ``--set`` overrides,
what ``thermocfd check`` runs) and through the real command line (exit 0 or 2, one stderr
line on 2, no traceback). Also the plausibility checks (:mod:`thermocfd.plausibility`):
for each, one input refused and one accepted near the bound.

The runs are derandomized (the same examples on every CI run). A long run::

    THERMOCFD_FUZZ_EXAMPLES=20000 .venv/bin/python -m pytest tests/test_fuzz.py -q

multiplies the in-process examples (default: 1400 in all, about a minute on 2 cores);
THERMOCFD_FUZZ_CLI=200 raises the command-line examples (default 16) and
THERMOCFD_FUZZ_SEED=<n> draws other examples than the CI set (seeded, not derandomized).
"""

from __future__ import annotations

import copy
import math
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from test_schema import MINIMAL, SECTIONS

from thermocfd import plausibility
from thermocfd.case import GEOMETRIES, KIND_USAGE, Case, apply_overrides, case_from_dict, load_case
from thermocfd.errors import CaseError

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted((ROOT / "cases").glob("*.toml"))
SHIPPED_RAW = {path.name: tomllib.loads(path.read_text()) for path in SHIPPED}
BASES = {**{f"minimal:{k}": v for k, v in MINIMAL.items()}, **{f"cases/{k}": v for k, v in SHIPPED_RAW.items()}}
BASE_NAMES = sorted(BASES)

SCALE = max(1, int(os.environ.get("THERMOCFD_FUZZ_EXAMPLES", "0")) // 1400) if os.environ.get(
    "THERMOCFD_FUZZ_EXAMPLES") else 1
CLI_EXAMPLES = int(os.environ.get("THERMOCFD_FUZZ_CLI", "16"))
SEED = os.environ.get("THERMOCFD_FUZZ_SEED")


def fuzz_settings(examples: int, scale: int = SCALE):
    """Reproducible settings (derandomized), or seeded by THERMOCFD_FUZZ_SEED."""
    chosen = settings(max_examples=max(1, examples * scale), deadline=None, derandomize=SEED is None,
                      suppress_health_check=list(HealthCheck), database=None)

    def apply(test):
        test = chosen(test)
        return seed(int(SEED))(test) if SEED is not None else test

    return apply


# --- what a user (or an attacker) might type -------------------------------------------------
SPECIAL_FLOATS = [10 ** 400, -(10 ** 400), 2 ** 63, math.nan, math.inf, -math.inf, 1e-320, 5e-324, 1e308, -1e308, 1.7976931348623157e308, -0.0, 0.0,
                  1e-30, 1e30, -1.0, 1e-9, 1e6, 2.0 ** 63, -(2.0 ** 63)]
ODD_UNITS = ["um", "µm", "μm", "Å", "K", "degC", "degF", "°C", "1/K", "m^2/s", "Pa*s", "W/(m*K)", "nL/min", "mol/m^3",
             "m/0", "m**1e400", "m^^2", "((((m))))", "m" * 200, "1/0 K", "K**K", "e", "inf", "nan", "", "  ", "meter",
             "furlong/fortnight", "dimensionless", "%", "GB", "W", "mW", "s", "ms", "kelvin", "°", "m^(1/2)",
             "m^-1e9", "\x00", "\u202e m", "☃", "m;import os", "__import__('os')", "m.units", "m[0]", "{m}",
             "m\nK", "   m   ", "1e400", "J"]
NUMBERS = ["0", "-0", "1", "-1", "1e-320", "1e308", "1e400", "-1e400", "0.5", ".5", "5.", "1_000", "0x10", "NaN",
           "nan", "inf", "-inf", "+3", "3e", "1e-9", "300", "310", "25"]

scalars = st.one_of(
    st.integers(min_value=-(2 ** 70), max_value=2 ** 70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(SPECIAL_FLOATS),
    st.booleans(),
    st.text(max_size=12),
    st.builds(lambda n, u, sep: f"{n}{sep}{u}", st.sampled_from(NUMBERS), st.sampled_from(ODD_UNITS),
              st.sampled_from(["", " ", "  "])),
    st.sampled_from(["water", "constant", "none", "auto", "piazza", "stokes_einstein", "fluid", "pdms", "chip",
                     "two_wall_cell", "particle_box", "soret_cell", "convection", "temperature", "slip", "inflow"]),
)
junk = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.one_of(st.text(max_size=6), st.sampled_from(["law", "type", "shape", "value", "kind"])),
                    inner, max_size=3)), max_leaves=8)


def deep_table(depth: int):
    table = {"x": 1}
    for _ in range(depth):
        table = {"x": table}
    return table


# every key a section model knows (for "the right key, the wrong value" mutations)
KNOWN_KEYS = sorted({name for field in Case.model_fields for name in ([field] + list(
    getattr(Case.model_fields[field].annotation, "model_fields", {})))} | {
    key for model in GEOMETRIES.values() for key in model.model_fields} | {
    key for section in SECTIONS.values() if isinstance(section, dict) for key in section} | {
    "thermal", "flow", "solute", "particles", "type", "law", "value", "power", "material", "heat_source"})
keys = st.one_of(st.sampled_from(KNOWN_KEYS), st.text(max_size=8))


def paths(node, prefix=()):
    """Every path into a case dictionary (tables and list items), the root excluded."""
    out = []
    if isinstance(node, dict):
        for key, value in node.items():
            out.append(prefix + (key,))
            out += paths(value, prefix + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out.append(prefix + (i,))
            out += paths(value, prefix + (i,))
    return out


def tables(node):
    return [()] + [p for p in paths(node) if isinstance(get(node, p), dict)]


def get(node, path):
    for part in path:
        node = node[part]
    return node


def validate(raw) -> None:
    """Accepted, or a CaseError; anything else fails the test (with the input)."""
    try:
        case = case_from_dict(raw)
    except CaseError:
        return
    # an accepted case's resolved inputs parse back
    try:
        case_from_dict(case.to_dict())
    except CaseError:
        pass


@st.composite
def mutated(draw):
    name = draw(st.sampled_from(BASE_NAMES))
    raw = copy.deepcopy(BASES[name])
    for _ in range(draw(st.integers(1, 3))):
        action = draw(st.sampled_from(["replace", "replace", "delete", "add", "special", "deep"]))
        all_paths = paths(raw)
        if action in ("replace", "delete", "special") and all_paths:
            path = draw(st.sampled_from(all_paths))
            parent = get(raw, path[:-1])
            if action == "delete":
                del parent[path[-1]]
            else:
                parent[path[-1]] = draw(junk if action == "replace" else st.sampled_from(SPECIAL_FLOATS))
        else:
            table_paths = tables(raw)
            where = get(raw, draw(st.sampled_from(table_paths)))
            where[draw(keys)] = deep_table(draw(st.integers(5, 60))) if action == "deep" else draw(junk)
    return name, raw


@fuzz_settings(600)
@given(mutated())
def test_mutated_cases_are_accepted_or_refused_with_a_case_error(example):
    name, raw = example
    validate(raw)


@fuzz_settings(200)
@given(st.dictionaries(st.one_of(st.sampled_from(list(Case.model_fields)), st.text(max_size=6)), junk, max_size=6),
       st.sampled_from(sorted(KIND_USAGE) + ["", "nope"]))
def test_random_tables_are_refused_with_a_case_error(raw, kind):
    raw = dict(raw)
    if kind:
        raw.setdefault("case", {"kind": kind})
    validate(raw)


# --- --set override strings ------------------------------------------------------------------
VALUE_TEXTS = st.one_of(
    st.sampled_from(["[1,2,3,4]", "{a = 1}", "{law = 'constant', value = [1]}", "{law = [1]}", "true", "1e-320",
                     "1e308", "-0.0", "nan", "inf", "-inf", "'310 K'", "310 K", "40 degC", "1 m/0", "[]", "{}",
                     "[[1, 2], [3]]", "{shape = 'chip'}", "'µm'", "1e400", "0x7fffffffffffffff", "9" * 400,
                     "{type = 'temperature', value = 1e308}", "'\u0000'", "[" * 50 + "]" * 50, "1979-05-27",
                     "12:30:00", '"""x"""', "'none'", "none", "64 GB"]),
    st.builds(lambda n, u: f"{n} {u}", st.sampled_from(NUMBERS), st.sampled_from(ODD_UNITS)),
    st.text(max_size=16))


@st.composite
def override(draw, raw):
    all_paths = [p for p in paths(raw) if all(isinstance(part, str) for part in p)]
    choice = draw(st.integers(0, 3))
    if choice == 0 and all_paths:
        key = ".".join(draw(st.sampled_from(all_paths)))
    elif choice == 1 and all_paths:
        key = ".".join(draw(st.sampled_from(all_paths))) + "." + draw(keys)
    elif choice == 2:
        key = draw(st.text(max_size=12))
    else:
        key = ".".join(draw(st.lists(keys, min_size=1, max_size=4)))
    separator = draw(st.sampled_from(["=", "=", " = ", "==", ""]))
    return f"{key}{separator}{draw(VALUE_TEXTS)}"


@st.composite
def shipped_with_overrides(draw):
    path = draw(st.sampled_from(SHIPPED))
    raw = SHIPPED_RAW[path.name]
    return path, draw(st.lists(override(raw), min_size=1, max_size=3))


@fuzz_settings(400)
@given(shipped_with_overrides())
def test_overrides_are_accepted_or_refused_with_a_case_error(example):
    path, overrides = example
    try:
        load_case(path, overrides)
    except CaseError:
        pass


@fuzz_settings(200)
@given(st.sampled_from(sorted(MINIMAL)), st.lists(st.tuples(st.lists(keys, min_size=1, max_size=3), junk),
                                                   min_size=1, max_size=3))
def test_overrides_as_values_are_accepted_or_refused(kind, entries):
    """apply_overrides on already-parsed values (the Python API's path)."""
    raw = copy.deepcopy(MINIMAL[kind])
    try:
        for path, value in entries:
            table = raw
            for part in path[:-1]:
                table = table.setdefault(part, {})
                if not isinstance(table, dict):
                    raise CaseError(part, table, "not a table")
            table[path[-1]] = value
    except CaseError:
        return
    validate(raw)


# --- the known-bad inputs of issue 14 and the command line --------------------------------------
KNOWN_BAD = [
    ("soret_cell.toml", ["solute.diffusivity.law=[1,2,3,4]"], "solute.diffusivity"),
    ("soret_cell.toml", ["solute.diffusivity.law={a = 1}"], "solute.diffusivity"),
    ("soret_cell.toml", ["solute.diffusivity={law = [1,2,3,4]}"], "solute.diffusivity.law"),
    ("soret_cell.toml", ["solute.diffusivity={law = {a = 1}}"], "solute.diffusivity.law"),
    ("thermogravitational_column.toml", ["geometry.height=1e-320"], "geometry.height"),
    ("heated_stripe_channel.toml", ["solute.soret_coefficient=1e308"], "solute.soret_coefficient"),
    ("laser_trap.toml", ["geometry.height=1e6"], "geometry.height"),
    # found by this fuzzing (each crashed with another exception before)
    ("soret_cell.toml", ["case.kind=[1]"], "case.kind"),
    ("soret_cell.toml", ["geometry.shape=[1]"], "geometry.shape"),
    ("soret_cell.toml", ["geometry.length=1 m/0"], "geometry.length"),
    ("phoretic_sphere.toml", ["particle.radius=" + "9" * 400], "particle.radius"),
    ("tracking_soret_cell.toml", ["tracking.particles=" + "9" * 30], "tracking.particles"),
]


@pytest.mark.parametrize("name, overrides, key", KNOWN_BAD, ids=[o[0] for _, o, _ in KNOWN_BAD])
def test_known_bad_inputs_are_refused_naming_the_key(name, overrides, key):
    with pytest.raises(CaseError) as error:
        load_case(ROOT / "cases" / name, overrides)
    assert error.value.key == key, str(error.value)


def thermocfd_check(path, overrides):
    args = [sys.executable, "-m", "thermocfd", "check", str(path)]
    for text in overrides:
        args += ["--set", text]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.run(args, capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)


def assert_clean(result):
    assert result.returncode in (0, 2), (result.returncode, result.stderr[-2000:])
    assert "Traceback" not in result.stderr + result.stdout, result.stderr[-2000:]
    if result.returncode == 2:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("thermocfd: error: "), result.stderr


@pytest.mark.parametrize("name, overrides, key", KNOWN_BAD, ids=[o[0] for _, o, _ in KNOWN_BAD])
def test_known_bad_inputs_through_the_command_line(name, overrides, key):
    result = thermocfd_check(Path("cases") / name, overrides)
    assert_clean(result)
    assert result.returncode == 2 and f": {key}" in result.stderr, result.stderr


_CLI_TEXTS = st.one_of(VALUE_TEXTS.filter(lambda t: "\x00" not in t),
                       st.sampled_from(["1e-320", "1e308", "-0.0", "[1,2,3,4]", "{a = 1}", "nan"]))


@st.composite
def cli_example(draw):
    path = draw(st.sampled_from(SHIPPED))
    raw = SHIPPED_RAW[path.name]
    leaf_paths = [p for p in paths(raw) if all(isinstance(part, str) for part in p)]
    key = ".".join(draw(st.sampled_from(leaf_paths)))
    return path, [f"{key}={draw(_CLI_TEXTS)}"]


@fuzz_settings(CLI_EXAMPLES, scale=1)
@given(cli_example())
def test_command_line_check_exits_0_or_2_without_a_traceback(example):
    path, overrides = example
    assert_clean(thermocfd_check(path.relative_to(ROOT), overrides))


# --- plausibility: each check refuses one input and accepts one near the bound ------------------
def minimal(kind, **changes):
    raw = copy.deepcopy(MINIMAL[kind])
    for dotted, value in changes.items():
        *sections, key = dotted.split("__")
        table = raw
        for part in sections:
            table = table.setdefault(part, {})
        table[key] = value
    return raw


def shipped(name, overrides):
    return load_case(ROOT / "cases" / name, overrides)


PLAUSIBILITY = [
    # (what, refused, accepted near the bound, key)
    ("length below 1 nm", lambda: case_from_dict(minimal("soret_cell", geometry__length="0.9 nm")),
     lambda: case_from_dict(minimal("soret_cell", geometry__length="1.01 nm")), "geometry.length"),
    ("length above 1 m", lambda: case_from_dict(minimal("soret_cell", geometry__length="1.1 m")),
     lambda: case_from_dict(minimal("soret_cell", geometry__length="0.99 m")), "geometry.length"),
    ("length ratio", lambda: case_from_dict(minimal("soret_cell", geometry__length="10 mm", geometry__height="9 nm")),
     lambda: case_from_dict(minimal("soret_cell", geometry__length="10 mm", geometry__height="11 nm")),
     "geometry.height"),
    ("laser waist", lambda: shipped("laser_trap.toml", ["laser.waist=0.3e-9"]),
     lambda: shipped("laser_trap.toml", ["laser.waist=2e-6"]), "laser.waist"),
    ("resolution above 50", lambda: case_from_dict(minimal("soret_cell", mesh__resolution=51)),
     lambda: case_from_dict(minimal("soret_cell", mesh__resolution=50)), "mesh.resolution"),
    ("resolution below 0.01", lambda: case_from_dict(minimal("soret_cell", mesh__resolution=1e-320)),
     lambda: case_from_dict(minimal("soret_cell", mesh__resolution=0.01)), "mesh.resolution"),
    ("temperature above 1e4 K", lambda: case_from_dict(minimal(
        "soret_cell", temperature__hot="1.1e4 K", temperature__cold="9000 K")),
     lambda: case_from_dict(minimal("soret_cell", temperature__hot="1e4 K", temperature__cold="9999 K",
                                    solute__soret_coefficient=0.01)), "temperature.hot"),
    ("Soret exponent, fixed walls", lambda: case_from_dict(minimal("soret_cell", solute__soret_coefficient=71)),
     lambda: case_from_dict(minimal("soret_cell", solute__soret_coefficient=69)), "solute.soret_coefficient"),
    # heater-driven: the span is known after the heat solve; validation asks for 1 K of it
    ("Soret exponent, heater-driven", lambda: shipped("heated_stripe_channel.toml", ["solute.soret_coefficient=710"]),
     lambda: shipped("heated_stripe_channel.toml", ["solute.soret_coefficient=690"]), "solute.soret_coefficient"),
    ("Soret law overflow", lambda: case_from_dict(minimal("soret_cell", solute__soret_coefficient={
        "law": "piazza", "s_inf": 1.0, "t_star": "320 K", "t0": "0.01 K"})),
     lambda: case_from_dict(minimal("soret_cell", solute__soret_coefficient={
         "law": "piazza", "s_inf": 1.0, "t_star": "320 K", "t0": "20 K"})), "solute.soret_coefficient"),
    ("diffusivity tiny", lambda: case_from_dict(minimal("soret_cell", solute__diffusivity=1e-31)),
     lambda: case_from_dict(minimal("soret_cell", solute__diffusivity=1e-29)), "solute.diffusivity"),
    ("diffusivity huge", lambda: case_from_dict(minimal("soret_cell", solute__diffusivity=1e31)),
     lambda: case_from_dict(minimal("soret_cell", solute__diffusivity=1e29)), "solute.diffusivity"),
    ("viscosity tiny", lambda: case_from_dict(minimal("convection", fluid__viscosity=1e-320)),
     lambda: case_from_dict(minimal("convection", fluid__viscosity=1e-29)), "fluid.viscosity"),
    ("conductivity huge", lambda: case_from_dict(minimal("convection", fluid__thermal_conductivity=1e300)),
     lambda: case_from_dict(minimal("convection", fluid__thermal_conductivity=1e29)), "fluid.thermal_conductivity"),
    ("particle conductivity", lambda: case_from_dict(minimal("phoretic_particle",
                                                             particle__thermal_conductivity=1e-300)),
     lambda: case_from_dict(minimal("phoretic_particle", particle__thermal_conductivity=1e-29)),
     "particle.thermal_conductivity"),
    ("memory: machine", lambda: case_from_dict(minimal("soret_cell", geometry__dimension=3, mesh__resolution=12)),
     lambda: case_from_dict(minimal("soret_cell", geometry__dimension=3, mesh__resolution=6)), "mesh.resolution"),
    ("memory: solver.max_memory", lambda: case_from_dict(minimal("soret_cell", solver__max_memory="1 GB",
                                                                  geometry__dimension=3, mesh__resolution=4)),
     lambda: case_from_dict(minimal("soret_cell", solver__max_memory="none", geometry__dimension=3,
                                    mesh__resolution=12)), "mesh.resolution"),
    ("memory: chip", lambda: shipped("heater_chip_3d.toml", ["mesh.resolution=2"]),
     lambda: shipped("heater_chip_3d.toml", ["mesh.resolution=1"]), "mesh.resolution"),
    ("memory: chip, no limit", lambda: shipped("heater_chip_3d.toml", ["mesh.resolution=2", "solver.max_memory='20 GB'"]),
     lambda: shipped("heater_chip_3d.toml", ["mesh.resolution=2", "solver.max_memory=none"]), "mesh.resolution"),
    ("memory: sphere near a wall", lambda: shipped("sphere_near_wall.toml", ["particle.wall_distance=1.002e-6"]),
     lambda: shipped("sphere_near_wall.toml", ["particle.wall_distance=1.05e-6"]), "mesh.resolution"),
]


@pytest.mark.parametrize("what, refused, accepted, key", PLAUSIBILITY, ids=[p[0] for p in PLAUSIBILITY])
def test_plausibility_refuses_and_accepts_near_the_bound(what, refused, accepted, key, monkeypatch):
    monkeypatch.setattr(plausibility, "machine_memory", lambda: 24e9)  # this machine's, on any machine
    with pytest.raises(CaseError) as error:
        refused()
    assert error.value.key == key, str(error.value)
    assert accepted() is not None


def test_plausibility_messages_name_the_range_and_why(monkeypatch):
    monkeypatch.setattr(plausibility, "machine_memory", lambda: 24e9)
    with pytest.raises(CaseError) as error:
        case_from_dict(minimal("soret_cell", solute__soret_coefficient=100))
    assert "700" in str(error.value) and "overflow" in str(error.value)
    with pytest.raises(CaseError) as error:
        case_from_dict(minimal("soret_cell", geometry__dimension=3, mesh__resolution=20))
    message = str(error.value)
    assert "GB" in message and "cells" in message and "solver.max_memory" in message


def test_estimate_counts_the_two_wall_cell_exactly():
    case = case_from_dict(minimal("soret_cell"))
    assert plausibility.estimate(case)["cells"] == 24 * 6 * 2  # what fem.mesh.two_wall_cell builds
    case = case_from_dict(minimal("soret_cell", geometry__dimension=3, mesh__resolution=5))
    assert plausibility.estimate(case)["cells"] == 648_000  # measured: 120 x 30 x 30 x 6 tetrahedra
    for path in SHIPPED:
        assert plausibility.estimate(load_case(path))["memory_bytes"] > 0


def test_solver_max_memory_parses_none_and_sizes():
    case = case_from_dict(minimal("soret_cell", solver__max_memory="64 GB"))
    assert case.solver.max_memory == pytest.approx(64e9)
    assert case_from_dict(minimal("soret_cell", solver__max_memory="none")).solver.max_memory is None
    for bad in ("-1 GB", "64 K", [1], True, "lots"):
        with pytest.raises(CaseError) as error:
            case_from_dict(minimal("soret_cell", solver__max_memory=bad))
        assert error.value.key == "solver.max_memory"
