"""Case files: the schema of every kind, validated with pydantic, converted to SI.

This is the only module that reads TOML. Each ``[section]`` is a pydantic model whose
fields carry their SI unit (strings such as ``"25 um"`` are converted with pint) and
their physical checks; ``extra="forbid"`` refuses unknown keys. Which sections and keys
a ``case.kind`` uses is declared once, in :data:`KIND_USAGE`; a key that the chosen kind
(or geometry shape) does not use is refused with a message naming it, never ignored.
The geometry is a tagged union on ``geometry.shape``: every built-in shape is a preset
that produces a mesh with named regions and boundaries plus default conditions
(:mod:`thermocfd.presets`); ``mesh.file`` brings the user's own mesh instead. Conditions
are set per boundary name (``[boundary.NAME]``), materials and heat sources per region
name (``[region.NAME]``).

Every validation problem becomes one :class:`~thermocfd.errors.CaseError` naming the
key, the value and the reason. :func:`case_json_schema` publishes the schema.
"""

from __future__ import annotations

import difflib
import json
import tomllib
from pathlib import Path
from typing import Annotated, Any, Callable, Literal, Optional, Union

import pydantic
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.functional_serializers import PlainSerializer
from pydantic.functional_validators import AfterValidator, BeforeValidator

from . import physics
from .physics.constants import AVOGADRO
from .physics.diffusivity import EffectiveDiffusivity
from .physics.internal_states import InternalState, InternalStateModel, Transition
from .physics.onsager import ThermalDiffusionFactorSoret
from .errors import MISSING, CaseError
from .physics import water
from .units import to_si

# --- physical checks -------------------------------------------------------------------


def _check(test: Callable[[float], bool], reason: str):
    def check(value):
        if value is not None and not test(value):
            raise ValueError(reason)
        return value

    return AfterValidator(check)


POSITIVE = _check(lambda v: v > 0, "must be positive")
NONNEGATIVE = _check(lambda v: v >= 0, "must not be negative")
ABSOLUTE_TEMPERATURE = _check(lambda v: v > 0, "is not a physical temperature (must be above 0 K)")


def at_least(bound: float):
    return _check(lambda v: v >= bound, f"must be at least {bound:g}")


def _si(unit: str):
    """A number (SI) or a string with a unit, converted to SI."""

    def convert(value):
        try:
            return to_si(value, unit, "")
        except CaseError as error:
            raise ValueError(error.reason) from None

    return BeforeValidator(convert)


def _quantity_schema(unit: str) -> pydantic.WithJsonSchema:
    hint = f"in {unit}" if unit else "dimensionless"
    return pydantic.WithJsonSchema({"anyOf": [{"type": "number"}, {"type": "string"}],
                                    "description": f"a number {hint}, or a string with a unit"})


def Quantity(unit: str, *checks) -> Any:
    """An SI float given as a number or a string with a unit (``"25 um"``)."""
    return Annotated[float, _si(unit), *checks, _quantity_schema(unit)]


def Vector(unit: str) -> Any:
    def convert(value):
        if not isinstance(value, list) or len(value) != 3:
            raise ValueError("expected a vector of 3 components")
        out = []
        for i, component in enumerate(value):
            try:
                out.append(to_si(component, unit, ""))
            except CaseError as error:
                raise ValueError(f"component {i}: {error.reason}") from None
        return out

    schema = {"type": "array", "minItems": 3, "maxItems": 3,
              "items": {"anyOf": [{"type": "number"}, {"type": "string"}]}, "description": f"3 components in {unit}"}
    return Annotated[list[float], BeforeValidator(convert), pydantic.WithJsonSchema(schema)]


def _strict_int(value):
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("expected an integer")
    if not -2 ** 63 <= value < 2 ** 63:
        raise ValueError("expected a 64-bit integer (TOML integers are 64-bit)")
    return value


def _strict_bool(value):
    if not isinstance(value, bool):
        raise ValueError("expected true or false")
    return value


def _strict_str(value):
    if not isinstance(value, str):
        raise ValueError("expected a string")
    return value


Int = Annotated[int, BeforeValidator(_strict_int)]
Bool = Annotated[bool, BeforeValidator(_strict_bool)]
Str = Annotated[str, BeforeValidator(_strict_str)]

Length = Quantity("m", POSITIVE)
Temperature = Quantity("K", ABSOLUTE_TEMPERATURE)

# --- physics laws: a number, a law name, or a table {law = ..., parameters} -------------------
# law name -> (constructor, {parameter: (SI unit, check or None)})
_LawTable = dict[str, tuple[Callable[..., Any], dict[str, tuple[str, Any]]]]

_positive = (lambda v: v > 0, "must be positive")
_kelvin = (lambda v: v > 0, "is not a physical temperature (must be above 0 K)")

SORET_LAWS: _LawTable = {
    "constant": (physics.ConstantSoret, {"value": ("1/K", None)}),
    "piazza": (physics.PiazzaSoret, {"s_inf": ("1/K", None), "t_star": ("K", _kelvin), "t0": ("K", _positive)}),
    "heat_of_transport": (physics.HeatOfTransportSoret, {"heat_of_transport": ("J", None)}),
    "bead_size": (physics.SizeScalingSoret, {"value": ("1/K", None), "reference_radius": ("m", _positive),
                                             "radius": ("m", _positive), "exponent": ("", None)}),
    "polymer": (physics.MolarMassScalingSoret, {"value": ("1/K", None), "reference_molar_mass": ("kg/mol", _positive),
                                                "molar_mass": ("kg/mol", _positive), "exponent": ("", None)}),
    "tabulated": (physics.TabulatedSoret, {"temperatures": ("K", None), "values": ("1/K", None)}),
    # a gas component: S_T = alpha_T / T
    "thermal_diffusion_factor": (ThermalDiffusionFactorSoret, {"alpha": ("", None)}),
}
SLIP_LAWS: _LawTable = {
    "constant": (physics.ConstantSlip, {"value": ("m^2/(s*K)", None)}),
    "linear": (physics.LinearSlip, {"value": ("m^2/(s*K)", None), "reference_temperature": ("K", _kelvin),
                                    "slope": ("m^2/(s*K^2)", None)}),
    "tabulated": (physics.TabulatedSlip, {"temperatures": ("K", None), "values": ("m^2/(s*K)", None)}),
}
VISCOSITY_LAWS: _LawTable = {
    "constant": (physics.ConstantViscosity, {"value": ("Pa*s", _positive)}),
    "water": (physics.WaterViscosity, {}),
}
DIFFUSIVITY_LAWS: _LawTable = {
    "constant": (physics.ConstantDiffusivity, {"value": ("m^2/s", _positive)}),
    # its viscosity law is [fluid]'s (bound after validation, see Case._bind_laws)
    "stokes_einstein": (physics.StokesEinsteinDiffusivity, {"radius": ("m", _positive)}),
}


def _property_laws(unit: str, check, water_law) -> _LawTable:
    return {"constant": (water.ConstantProperty, {"value": (unit, check)}), "water": (water_law, {})}


DENSITY_LAWS = _property_laws("kg/m^3", _positive, water.WaterDensity)
CONDUCTIVITY_LAWS = _property_laws("W/(m*K)", _positive, water.WaterThermalConductivity)
HEAT_CAPACITY_LAWS = _property_laws("J/(kg*K)", _positive, water.WaterHeatCapacity)
EXPANSION_LAWS = _property_laws("1/K", None, water.WaterThermalExpansion)
ALL_LAWS = (SORET_LAWS, SLIP_LAWS, VISCOSITY_LAWS, DIFFUSIVITY_LAWS, DENSITY_LAWS, CONDUCTIVITY_LAWS, HEAT_CAPACITY_LAWS,
            EXPANSION_LAWS)


class _LawProblem(ValueError):
    """A law-table error with the sub-key it concerns (``.law``, ``.t_star``)."""

    def __init__(self, sub_key: str, value: object, reason: str):
        super().__init__(reason)
        self.sub_key, self.value, self.reason = sub_key, value, reason


def parse_law(value: object, laws: _LawTable, unit: str, check=None):
    """Number -> the 'constant' law; "name" -> a parameterless law; table -> any law."""
    if isinstance(value, str) and value.strip() in laws and not laws[value.strip()][1]:
        return laws[value.strip()][0]()
    if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        number = to_si(value, unit, "")
        if check is not None and not check[0](number):
            raise _LawProblem("", value, check[1])
        return laws["constant"][0](number)
    if not isinstance(value, dict):
        raise _LawProblem("", value, f"expected a number in {unit}, a law name or a table {{law = ...}} with "
                          f"law one of {sorted(laws)}")
    if "law" not in value:
        raise _LawProblem(".law", MISSING, f"missing: name the law, one of {sorted(laws)}")
    name = value["law"]
    if not isinstance(name, str) or name not in laws:
        raise _LawProblem(".law", name, f"unknown law; choose one of {sorted(laws)}")
    constructor, parameters = laws[name]
    for key in value:
        if key != "law" and key not in parameters:
            raise _LawProblem(f".{key}", MISSING, _unknown_key_reason(key, parameters))
    kwargs = {}
    for parameter, (parameter_unit, parameter_check) in parameters.items():
        if parameter not in value:
            raise _LawProblem(f".{parameter}", MISSING, f"missing parameter of law {name!r}")
        given = value[parameter]
        try:
            numbers = [to_si(v, parameter_unit, "") for v in given] if isinstance(given, list) \
                else [to_si(given, parameter_unit, "")]
        except CaseError as error:
            raise _LawProblem(f".{parameter}", given, error.reason) from None
        for number in numbers:
            if parameter_check is not None and not parameter_check[0](number):
                raise _LawProblem(f".{parameter}", given, parameter_check[1])
        kwargs[parameter] = tuple(numbers) if isinstance(given, list) else numbers[0]
    if name == "stokes_einstein":
        kwargs["viscosity"] = physics.WaterViscosity()  # placeholder until [fluid] is known
    try:
        return constructor(**kwargs)
    except (ValueError, TypeError) as error:  # the law's own checks (e.g. a table's temperatures)
        raise _LawProblem("", value, str(error)) from None


def law_to_dict(law: Any) -> dict[str, Any]:
    """A law object as a JSON-able table that parses back to the same law."""
    for laws in ALL_LAWS:
        for name, (constructor, parameters) in laws.items():
            if type(law) is constructor:
                return {"law": name, **{p: getattr(law, p) for p in parameters}}
    raise TypeError(f"not a law: {law!r}")


def Law(laws: _LawTable, unit: str, check=None) -> Any:
    def validate(value):
        if type(value).__module__.startswith("thermocfd.physics"):
            return value  # already a law (a validated case copied or re-validated)
        try:
            return parse_law(value, laws, unit, check)
        except CaseError as error:
            raise _LawProblem("", value, error.reason) from None

    schema = {"anyOf": [{"type": "number"}, {"type": "string"},
                        {"type": "object", "properties": {"law": {"enum": sorted(laws)}}, "required": ["law"]}],
              "description": f"a number in {unit}, a law name or a table {{law = ...}}"}
    return Annotated[Any, BeforeValidator(validate), PlainSerializer(law_to_dict, when_used="always"),
                     pydantic.WithJsonSchema(schema)]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True, arbitrary_types_allowed=True)


# --- sections --------------------------------------------------------------------------
class CaseSection(Section):
    kind: Str = Field(description="which pipeline runs")
    name: Str = ""
    description: Str = ""


class TwoWallCellGeometry(Section):
    """A rectangle (box in 3D) between a hot wall (x = 0) and a cold wall (x = length);
    boundaries hot, cold, walls; region fluid."""

    shape: Literal["two_wall_cell"] = "two_wall_cell"
    length: Length = Field(description="hot-to-cold wall distance L (along x)")
    height: Optional[Length] = Field(None, description="extent along y (default L/4)")
    depth: Optional[Length] = Field(None, description="extent along z in 3D (default L/4)")
    dimension: Literal[2, 3] = 2


class ChamberGeometry(Section):
    """A thin chamber heated by a laser focus (needs [laser]); boundaries bottom, top,
    sides at temperature.ambient; region fluid."""

    shape: Literal["chamber"]
    length: Length = Field(description="lateral width")
    height: Optional[Length] = Field(None, description="thickness along the vertical (default length/4)")
    dimension: Literal[2, 3] = 2


class ChannelGeometry(Section):
    """A 2D channel cross-section with a heater stripe on its floor; boundaries inlet,
    outlet, heater, walls; region fluid."""

    shape: Literal["channel"]
    length: Length
    height: Optional[Length] = Field(None, description="default length/4")
    heater_start: Quantity("m") = Field(description="upstream edge of the heater stripe, from the inlet")
    heater_end: Quantity("m") = Field(description="downstream edge")
    dimension: Literal[2] = 2


class ChipGeometry(Section):
    """A channel moulded in a PDMS block bonded to a glass slide, thin-film heater
    stripes on the glass under the channel; regions fluid, glass, pdms; boundaries inlet,
    outlet, heater_1..N, glass_bottom, pdms_top, outer_sides (and posts)."""

    shape: Literal["chip"]
    channel_width: Length = "100 um"
    channel_height: Length = "50 um"
    channel_length: Length = "2 mm"
    glass_thickness: Length = "1 mm"
    pdms_thickness: Length = "2 mm"
    margin: Length = Field("500 um", description="PDMS beside the channel on each side")
    heaters: list[Annotated[list[Quantity("m")], Field(min_length=2, max_length=2)]] = Field(
        default_factory=list, description="[[start, end], ...] of each heater stripe along the channel")
    heater_width: Optional[Length] = Field(None, description="stripe width across the channel (default 1.5 x "
                                                             "channel_width)")
    posts: list[Annotated[list[Quantity("m")], Field(min_length=3, max_length=3)]] = Field(
        default_factory=list, description="[[x, y, radius], ...] of cylindrical PDMS posts in the channel")
    dimension: Literal[2, 3] = 3


class ParticleBoxGeometry(Section):
    """A resolved sphere in a box (phoretic_particle); near a wall when particle.wall_distance
    is given."""

    shape: Literal["particle_box"] = "particle_box"
    length: Optional[Length] = Field(None, description="box edge (lateral size near a wall); default 12 radii")
    height: Optional[Length] = Field(None, description="box height near a wall (default h + 10 a)")


class WaferGeometry(Section):
    """A heated wafer (z = 0 in 3D; y = 0 of the 2D section) under a showerhead at height
    ``gap``: the planar stagnation-point flow of kind 'aerosol'; boundaries wafer,
    showerhead, sides (x = +-width/2, where the gas leaves)."""

    shape: Literal["wafer"]
    width: Length = Field(description="wafer (and showerhead) width W")
    gap: Length = Field(description="showerhead-to-wafer distance H")
    dimension: Literal[2] = 2


class CapillaryGeometry(Section):
    """The MST capillary (kind 'mst'): a glass tube lying along x, buffer inside, the laser
    focused on its axis at x = 0. Meshed as the quarter x >= 0, y >= 0 (two mirror planes);
    regions buffer, glass; boundaries outer, ends, mid_plane, axial_plane, inner_wall."""

    shape: Literal["capillary"]
    inner_diameter: Length = Field("0.5 mm", description="the standard MST capillary: 0.5 mm")
    wall_thickness: Length = Field("75 um", description="glass wall")
    length: Length = Field("3 mm", description="modelled length, centred on the focus (the tube continues: "
                           "boundary ends)")


GEOMETRIES = {model.model_fields["shape"].annotation.__args__[0]: model
              for model in (TwoWallCellGeometry, ChamberGeometry, ChannelGeometry, ChipGeometry, ParticleBoxGeometry,
                            WaferGeometry, CapillaryGeometry)}


def _geometry_tag(value: Any) -> str | None:
    if isinstance(value, dict):
        return value.get("shape", "two_wall_cell")
    return getattr(value, "shape", None)


Geometry = Annotated[Union[tuple(Annotated[m, pydantic.Tag(s)] for s, m in GEOMETRIES.items())],
                     pydantic.Discriminator(_geometry_tag)]


class MeshSection(Section):
    resolution: Quantity("", POSITIVE) = Field(1.0, description="refines the whole mesh (larger = finer)")
    degree: Literal[1, 2] = Field(1, description="Lagrange degree of T and c (soret_cell, tracking)")
    file: Optional[Str] = Field(None, description="the user's mesh instead of [geometry]: gmsh .msh with physical "
                                "names, or any format meshio reads, with integer cell/facet tags")
    unit: Quantity("m", POSITIVE) = Field(1.0, description="length of one coordinate unit of the mesh file")
    tags: dict[str, Annotated[int, BeforeValidator(_strict_int), at_least(1)]] = Field(
        default_factory=dict, description="names of the file's integer tags, e.g. {fluid = 1, hot = 2}")


class FluidSection(Section):
    """The liquid: each property a number (SI or with unit), "water", or a law table."""

    viscosity: Law(VISCOSITY_LAWS, "Pa*s", _positive) = "water"
    density: Law(DENSITY_LAWS, "kg/m^3", _positive) = "water"
    thermal_conductivity: Law(CONDUCTIVITY_LAWS, "W/(m*K)", _positive) = "water"
    heat_capacity: Law(HEAT_CAPACITY_LAWS, "J/(kg*K)", _positive) = "water"
    thermal_expansion: Law(EXPANSION_LAWS, "1/K") = "water"

    def at(self, temperature: float) -> physics.FluidProperties:
        """Numbers at a reference temperature (viscosity stays a law of T)."""
        return physics.FluidProperties(
            float(self.density.at(temperature)), self.viscosity,
            float(self.thermal_conductivity.at(temperature)), float(self.heat_capacity.at(temperature)),
            float(self.thermal_expansion.at(temperature)))


class TemperatureSection(Section):
    hot: Optional[Temperature] = Field(None, description="two_wall_cell: the hot wall (x = 0)")
    cold: Optional[Temperature] = Field(None, description="two_wall_cell: the cold wall (x = length)")
    ambient: Optional[Temperature] = Field(None, description="chamber, channel, chip: walls / surroundings")
    reference: Optional[Temperature] = Field(None, description="phoretic_particle: T at the particle centre; "
                                             "mesh.file: the Boussinesq reference and initial temperature")
    gradient: Optional[Vector("K/m")] = Field(None, description="phoretic_particle: far-field gradient")


class ParticleSection(Section):
    """A resolved spherical particle (phoretic_particle)."""

    radius: Length
    slip_coefficient: Law(SLIP_LAWS, "m^2/(s*K)") = Field(description="thermo-osmotic chi (or a law chi(T)); > 0: "
                                                           "fluid creeps to hot")
    thermal_conductivity: Quantity("W/(m*K)", POSITIVE) = 0.6
    density: Optional[Quantity("kg/m^3", POSITIVE)] = Field(None, description="for gravity minus buoyancy")
    wall_distance: Optional[Length] = Field(None, description="centre-to-wall distance h to a plane wall z = 0")
    position: Optional[Vector("m")] = Field(None, description="mesh.file: the particle's centre (default: the "
                                            "origin, or (0, 0, wall_distance) near a wall)")


def _schedule_entries(value):
    """A schedule: ``[[time, level], [time, level, {ramp = time}], ...]`` with times as
    numbers (s) or strings with units and levels "on", "off" or numbers; stored in SI as
    ``[[t, level], [t, level, {"ramp": r}], ...]`` and checked by
    :class:`thermocfd.physics.Schedule`."""
    from .physics.schedule import Schedule

    if not isinstance(value, list) or not value:
        raise ValueError("expected a list of [time, level] entries, e.g. [[0, 'off'], ['5 s', 'on']]")
    entries = []
    for i, entry in enumerate(value):
        if not isinstance(entry, list) or len(entry) not in (2, 3):
            raise ValueError(f"entry {i + 1} ({entry!r}): expected [time, level] or [time, level, {{ramp = ...}}]")
        options = entry[2] if len(entry) == 3 else {}
        if not isinstance(options, dict) or set(options) - {"ramp"}:
            raise ValueError(f"entry {i + 1} ({entry!r}): the third item takes only ramp = <time>")
        level = entry[1]
        if isinstance(level, str) and level.strip().lower() in ("on", "off"):
            level = 1.0 if level.strip().lower() == "on" else 0.0
        elif isinstance(level, bool) or not isinstance(level, (int, float)):
            raise ValueError(f"entry {i + 1} ({entry!r}): the level must be 'on', 'off' or a number")
        try:
            time = to_si(entry[0], "s", "time")
            ramp = to_si(options.get("ramp", 0.0), "s", "ramp")
        except CaseError as error:
            raise ValueError(f"entry {i + 1} ({entry!r}): {error.reason}") from None
        entries.append([time, float(level), {"ramp": ramp}] if ramp else [time, float(level)])
    Schedule.from_entries(entries)
    return entries


ScheduleEntries = Annotated[Any, BeforeValidator(_schedule_entries), pydantic.WithJsonSchema(
    {"type": "array", "items": {"type": "array"}, "description": "[[time, 'on'|'off'|level, {ramp = time}?], ...]"})]


def schedule_of(entries: list | None):
    """The :class:`thermocfd.physics.Schedule` of validated entries (None: always on)."""
    from .physics.schedule import Schedule

    return Schedule.constant(1.0) if entries is None else Schedule.from_entries(entries)


class LaserSection(Section):
    power: Any = Field(description="beam power: W in 3D, W per metre of depth for a 2D line focus")
    waist: Length = Field(description="1/e^2 intensity radius")
    absorption_coefficient: Quantity("1/m", POSITIVE) = Field(2400.0, description="in the liquid (water: 2400 "
                                                                                  "1/m at 1480 nm)")
    position: Vector("m") = Field(default_factory=lambda: [0.0, 0.0, 0.0], description="beam axis (lateral x, y)")
    schedule: Optional[ScheduleEntries] = Field(None, description="transient: power level over time, e.g. "
                                                "[[0, 'off'], ['5 s', 'on'], ['35 s', 'off']] (default: on)")


def _energy(value):
    """An energy per particle in J; a molar energy ("2 kJ/mol") is divided by N_A."""
    try:
        return to_si(value, "J", "")
    except CaseError as error:
        if not (isinstance(value, str) and error.reason.startswith("wrong unit")):
            raise ValueError(error.reason) from None
    try:
        return to_si(value, "J/mol", "") / AVOGADRO
    except CaseError:
        raise ValueError("wrong unit: expected an energy per particle (J, eV, zJ) or per mole (kJ/mol)") from None


Energy = Annotated[float, BeforeValidator(_energy), pydantic.WithJsonSchema(
    {"anyOf": [{"type": "number"}, {"type": "string"}], "description": "J per particle, or a string with a unit: "
     "'4.1 zJ', '25 meV', '2.5 kJ/mol'"})]


class StateSpec(Section):
    """One internal state of the solute (DESIGN.md, internal-state thermophoresis)."""

    energy: Energy = Field(description="E_i per particle (J, eV, zJ) or per mole (kJ/mol)")
    degeneracy: Quantity("", POSITIVE) = Field(1.0, description="g_i (entropy k_B ln g_i)")
    diffusivity: Law(DIFFUSIVITY_LAWS, "m^2/s", _positive) = Field(description="D_i: a constant or a law")


class TransitionSpec(Section):
    """Switching between two states over a barrier, Arrhenius at the local temperature."""

    between: Annotated[list[Str], Field(min_length=2, max_length=2)] = Field(
        description="the two state names [i, j]; rate_prefactor is nu for i -> j, the reverse follows from "
        "detailed balance")
    barrier: Energy = Field(description="B_ij (J or kJ/mol): k_ij = nu exp(-(B_ij - E_i)/(k_B T))")
    rate_prefactor: Quantity("1/s", POSITIVE) = Field(description="nu_ij (1/s)")


class SoluteSection(Section):
    diffusivity: Optional[Law(DIFFUSIVITY_LAWS, "m^2/s", _positive)] = Field(
        None, description="D: a constant or a law (not with states)")
    soret_coefficient: Optional[Law(SORET_LAWS, "1/K")] = Field(None, description="S_T: a constant or a law "
                                                                "(not with states)")
    initial_concentration: Quantity("mol/m^3", POSITIVE) = 1.0
    states: dict[str, StateSpec] = Field(default_factory=dict, description="internal states by name: the "
                                         "species switches among them (replaces diffusivity and soret_coefficient)")
    transitions: list[TransitionSpec] = Field(default_factory=list, description="with states: the switching "
                                              "pairs, connecting every state")
    dufour: Bool = Field(False, description="steady soret_cell: the solute's Dufour heat flux -R T^2 D S_T grad c "
                         "in the heat equation (Onsager reciprocity), solved coupled both ways")

    @model_validator(mode="after")
    def _one_description(self):
        if self.states:
            for key in ("diffusivity", "soret_coefficient"):
                if getattr(self, key) is not None:
                    raise _LawProblem(f".{key}", MISSING, "not used with solute.states: each state has its own "
                                      "diffusivity, and the states make the Soret effect")
            if len(self.states) < 2:
                raise _LawProblem(".states", MISSING, "give at least two states (one state is an ordinary "
                                  "solute: use solute.diffusivity and solute.soret_coefficient)")
            self._check_transitions()
        else:
            if self.transitions:
                raise _LawProblem(".transitions", MISSING, "not used without solute.states")
            for key in ("diffusivity", "soret_coefficient"):
                if getattr(self, key) is None:
                    raise _LawProblem(f".{key}", MISSING, "missing (or describe the species by its "
                                      "internal states: [solute.states.NAME])")
        return self

    def _check_transitions(self) -> None:
        names = list(self.states)
        if not self.transitions:
            raise _LawProblem(".transitions", MISSING, "missing: states need transitions "
                              "([[solute.transitions]] between = [i, j], barrier, rate_prefactor)")
        linked, seen = {names[0]}, set()
        for n, transition in enumerate(self.transitions):
            for name in transition.between:
                if name not in self.states:
                    raise _LawProblem(f".transitions[{n}].between", name, "not a state; states are "
                                      f"{', '.join(names)}")
            pair = frozenset(transition.between)
            if len(pair) < 2:
                raise _LawProblem(f".transitions[{n}].between", transition.between, "a transition joins two "
                                  "different states")
            if pair in seen:
                raise _LawProblem(f".transitions[{n}].between", transition.between, "this pair is given twice")
            seen.add(pair)
        for _ in names:  # grow the connected set
            for transition in self.transitions:
                if set(transition.between) & linked:
                    linked |= set(transition.between)
        if len(linked) < len(names):
            raise _LawProblem(".transitions", MISSING, "the transitions do not connect state(s) "
                              f"{', '.join(sorted(set(names) - linked))}: without a path between them the "
                              "populations are undefined")

    @property
    def internal_states(self) -> InternalStateModel | None:
        """The states and transitions as a model, or None for an ordinary solute."""
        if not self.states:
            return None
        names = list(self.states)
        states = tuple(InternalState(name, spec.energy, spec.diffusivity, spec.degeneracy)
                       for name, spec in self.states.items())
        transitions = tuple(Transition(names.index(t.between[0]), names.index(t.between[1]), t.barrier,
                                       t.rate_prefactor) for t in self.transitions)
        return InternalStateModel(states, transitions)

    def diffusivity_laws(self) -> list:
        """The diffusivity laws given: the solute's, or one per state."""
        return [self.diffusivity] if not self.states else [spec.diffusivity for spec in self.states.values()]

    def bind_viscosity(self, viscosity) -> None:
        """Stokes-Einstein laws take [fluid]'s viscosity law (known only after validation)."""
        import dataclasses

        def bound(law):
            return dataclasses.replace(law, viscosity=viscosity) if hasattr(law, "viscosity") else law

        self.diffusivity = None if self.diffusivity is None else bound(self.diffusivity)
        for spec in self.states.values():
            spec.diffusivity = bound(spec.diffusivity)

    @property
    def diffusivity_law(self):
        """D(T) of the total density: the solute's law, or <D>_p of its states (fast switching)."""
        model = self.internal_states
        return self.diffusivity if model is None else EffectiveDiffusivity(model)

    @property
    def soret_law(self):
        """S_T(T): the solute's law, or the states' fast-switching limit Cov(D, E)/(k_B T^2 <D>)."""
        model = self.internal_states
        return self.soret_coefficient if model is None else model


def _window(value):
    """[start, end] in s (numbers or strings with units), start < end."""
    if not isinstance(value, list) or len(value) != 2:
        raise ValueError("expected [start, end], e.g. ['-1 s', '0 s']")
    try:
        start, end = (to_si(v, "s", "time") for v in value)
    except CaseError as error:
        raise ValueError(error.reason) from None
    if not start < end:
        raise ValueError(f"the window must start before it ends ({start:g} s, {end:g} s)")
    return [start, end]


Window = Annotated[list[float], BeforeValidator(_window), pydantic.WithJsonSchema(
    {"type": "array", "minItems": 2, "maxItems": 2, "description": "[start, end] in s, relative to laser-on"})]


class MSTSection(Section):
    """The MST instrument (kind 'mst'): IR laser, its schedule, the fluorescence readout
    and the analysis windows (relative to laser-on, as the analysis tools count time)."""

    power: Quantity("", _check(lambda v: 0 < v <= 1, "must be a percentage in (0 %, 100 %]")) = Field(
        "40 %", description="MST power: a percentage of max_power ('40 %', or 0.4)")
    max_power: Quantity("W", POSITIVE) = Field("10 mW", description="IR power into the capillary at 100 % "
                                               "(calibrate for the instrument: 40 % heats a standard capillary "
                                               "by about 4-6 K)")
    waist: Length = Field("15 um", description="1/e^2 intensity radius of the IR focus")
    wavelength: Length = Field("1480 nm", description="IR wavelength (sets the Rayleigh range)")
    water_absorption: Quantity("1/m", POSITIVE) = Field(2400.0, description="buffer absorption at the IR "
                                                        "wavelength (water: 2400 1/m at 1480 nm)")
    laser_on: Quantity("s", NONNEGATIVE) = Field("5 s", description="laser-on time (the trace starts at 0)")
    on_duration: Quantity("s", POSITIVE) = Field("20 s", description="how long the laser stays on")
    off_duration: Quantity("s", NONNEGATIVE) = Field("5 s", description="recording after laser-off (back-diffusion)")
    temperature_coefficient: Quantity("1/K") = Field("-1.5 %/K", description="the dye's brightness change per "
                                                     "kelvin, the T-jump (free target)")
    detection_radius: Length = Field("25 um", description="1/e^2 radius of the detection profile around the focus")
    depth_of_field: Length = Field("100 um", description="1/e^2 half-depth of the detection profile along the beam")
    bleaching_rate: Quantity("1/s", NONNEGATIVE) = Field(0.0, description="photobleaching under excitation (1/s)")
    sampling_interval: Quantity("s", POSITIVE) = Field("0.05 s", description="the camera's frame interval: the "
                                                       "traces are sampled on this grid")
    noise: Quantity("", NONNEGATIVE) = Field(0.0, description="relative RMS noise of each sample (shot and "
                                             "read-out noise; 0.002 = 2 permille)")
    seed: Annotated[Int, at_least(0)] = Field(1, description="random seed of the noise")
    cold_window: Window = Field(default_factory=lambda: [-1.0, 0.0], description="F_cold, relative to laser-on")
    hot_window: Optional[Window] = Field(None, description="F_hot, relative to laser-on (default: the analysis "
                                         "tools' window)")
    t_jump_window: Optional[Window] = Field(None, description="the T-jump, relative to laser-on (default: the "
                                            "analysis tools' window)")

    @model_validator(mode="after")
    def _windows_in_trace(self):
        start, end = -self.laser_on, self.on_duration + self.off_duration
        for key in ("cold_window", "hot_window", "t_jump_window"):
            window = getattr(self, key)
            if window is not None and not (start <= window[0] and window[1] <= end):
                raise _LawProblem(f".{key}", window, f"outside the trace ({start:g} s ... {end:g} s from laser-on)")
        return self


class BoundFormSpec(Section):
    """The target-ligand complex: its own diffusion, thermophoresis and brightness."""

    diffusivity: Law(DIFFUSIVITY_LAWS, "m^2/s", _positive) = Field(description="D of the complex")
    soret_coefficient: Law(SORET_LAWS, "1/K") = Field(description="S_T of the complex")
    brightness: Quantity("", POSITIVE) = Field(1.0, description="relative to the free target")
    temperature_coefficient: Optional[Quantity("1/K")] = Field(None, description="the complex's T-jump "
                                                               "(default: the free target's)")


class BindingSection(Section):
    """A ligand titration (kind 'mst'): one capillary per ligand concentration."""

    dissociation_constant: Quantity("mol/m^3", POSITIVE) = Field(description="K_d at reference_temperature "
                                                                 "('300 nM')")
    enthalpy: Quantity("J/mol") = Field(0.0, description="binding enthalpy ('-40 kJ/mol'; < 0: exothermic, "
                                        "K_d grows with T by van 't Hoff)")
    reference_temperature: Optional[Temperature] = Field(None, description="where K_d is given (default: "
                                                         "temperature.ambient)")
    association_rate: Optional[Quantity("m^3/(mol*s)", POSITIVE)] = Field(None, description="k_on ('1e6 1/(M*s)')"
                                                                          "; default: binding in equilibrium")
    ligand_concentrations: list[Quantity("mol/m^3", NONNEGATIVE)] = Field(
        default_factory=list, description="the capillaries' ligand concentrations (or highest_ligand)")
    highest_ligand: Optional[Quantity("mol/m^3", POSITIVE)] = Field(None, description="a serial dilution from "
                                                                    "this concentration")
    capillaries: Annotated[Int, at_least(2)] = Field(16, description="with highest_ligand: points of the series")
    dilution: Quantity("", _check(lambda v: v > 1, "must exceed 1")) = Field(2.0, description="with "
                                                                             "highest_ligand: the dilution factor")
    bound: BoundFormSpec

    @model_validator(mode="after")
    def _one_series(self):
        if bool(self.ligand_concentrations) == (self.highest_ligand is not None):
            raise _LawProblem(".ligand_concentrations", MISSING, "give either ligand_concentrations = [...] or "
                              "highest_ligand (a serial dilution), not both")
        if self.ligand_concentrations and ({"capillaries", "dilution"} & self.model_fields_set):
            key = sorted({"capillaries", "dilution"} & self.model_fields_set)[0]
            raise _LawProblem(f".{key}", getattr(self, key), "only used with highest_ligand")
        return self

    @property
    def ligand(self) -> list[float]:
        """The ligand concentration of each capillary, ascending (mol/m^3)."""
        if self.ligand_concentrations:
            return sorted(self.ligand_concentrations)
        return [self.highest_ligand / self.dilution ** k for k in range(self.capillaries - 1, -1, -1)]


class TimeSection(Section):
    transient: Bool = False
    end: Optional[Quantity("s", POSITIVE)] = Field(None, description="end time (default: 4 relaxation times)")
    steps: Annotated[Int, at_least(2)] = Field(200, description="time steps over the run (convection: at "
                                               "least; schedule switching times and outputs are hit exactly)")
    scheme: Literal["bdf2", "backward_euler"] = "bdf2"
    outputs: list[Quantity("s", NONNEGATIVE)] = Field(default_factory=list, description="convection: times at "
                                                      "which the fields are written (besides output.snapshots)")
    first_step: Optional[Quantity("s", POSITIVE)] = Field(None, description="convection: the first step after the "
                                                          "start and after each switch of a source, growing by 1.5 "
                                                          "to the regular step (default: a twentieth of the "
                                                          "liquid's thermal time L^2/(pi^2 kappa))")


class FlowSection(Section):
    inertia: Bool = Field(False, description="Navier-Stokes instead of Stokes (Re << 1 in microfluidics)")
    far_field: Literal["auto", "none"] = Field("auto", description="phoretic_particle: the particle's own far "
                                               "field (Stokeslet / Blake) on the outer boundaries")
    newton_max_iterations: Annotated[Int, at_least(1)] = 25


class TrackingSection(Section):
    enabled: Optional[Bool] = Field(None, description="convection: also track Brownian particles in the flow")
    particles: Annotated[Int, at_least(1)] = 100_000
    duration: Optional[Quantity("s", POSITIVE)] = Field(None, description="default: 5 relaxation times")
    time_step: Optional[Quantity("s", POSITIVE)] = Field(None, description="default: half the grid-cell time")
    scheme: Literal["euler", "heun"] = "euler"
    backend: Literal["auto", "cpu", "gpu"] = "auto"
    precision: Literal["float64", "float32"] = "float64"
    seed: Annotated[Int, at_least(0)] = 0
    bins: Annotated[Int, at_least(4)] = 20
    trajectories: Annotated[Int, at_least(0)] = Field(200, description="particles whose paths are written (VTP)")
    particle_radius: Optional[Length] = Field(None, description="for sedimentation")
    particle_density: Optional[Quantity("kg/m^3", POSITIVE)] = Field(None, description="for sedimentation")
    field_tolerance: Optional[Quantity("", POSITIVE)] = Field(
        None, lt=1.0, description="largest error of the sampled velocity and temperature gradient, relative to "
        "their largest magnitude; the tracking grid's spacing is chosen from it (default: half the median cell)")


class GasSection(Section):
    """The gas of kind 'aerosol' (ideal gas, Sutherland laws: thermocfd/physics/gases.py)."""

    species: Literal["air", "nitrogen", "argon"] = "air"
    pressure: Quantity("Pa", POSITIVE) = Field(101325.0, description="absolute pressure")
    strain_rate: Quantity("1/s", POSITIVE) = Field(10.0, description="a of the stagnation flow u = a x f'(eta) "
                                                  "(the showerhead's downflow divided by about the gap)")


class AerosolSection(Section):
    """Aerosol particles (kind 'aerosol'); Talbot's thermophoresis constants (Talbot et al. 1980)."""

    diameter: Length
    density: Quantity("kg/m^3", POSITIVE) = Field(1050.0, description="default: polystyrene latex")
    thermal_conductivity: Quantity("W/(m*K)", POSITIVE) = Field(0.12, description="default: polystyrene")
    creep_coefficient: Quantity("", POSITIVE) = Field(1.17, description="Talbot's Cs")
    temperature_jump_coefficient: Quantity("", POSITIVE) = Field(2.2, description="Talbot's Ct")
    momentum_exchange_coefficient: Quantity("", POSITIVE) = Field(1.146, description="Talbot's Cm")
    release_height: Optional[Length] = Field(None, description="where the particles enter (default 0.8 gap)")
    integrator: Literal["auto", "overdamped", "inertial"] = Field(
        "auto", description="auto: overdamped (Brownian) when the relaxation time is below 0.01 tracking.time_step")


def _memory_size(value):
    """solver.max_memory: "none" (no limit) or a size ("64 GB", a number of bytes)."""
    if value is None or (isinstance(value, str) and value.strip().lower() == "none"):
        return None
    try:
        size = to_si(value, "byte", "")
    except CaseError as error:
        raise ValueError(f"{error.reason}; expected 'none' or a size such as '64 GB'") from None
    if size <= 0:
        raise ValueError("must be positive (or 'none')")
    return size


AUTO_ITERATIVE_UNKNOWNS = 2e5  # "auto": the iterative solver above this many unknowns in 3D


class SolverSection(Section):
    linear_solver: Literal["auto", "direct", "iterative"] = Field(
        "auto", description="auto: direct (MUMPS) in 2D and for 3D problems below 2e5 unknowns, iterative above")
    rtol: Optional[Quantity("", POSITIVE)] = Field(None, description="relative tolerance of the iterative linear "
                                                   "solver (default 1e-12; inside Newton and for the Stokes "
                                                   "solves of phoretic_particle: 1e-8)")
    nonlinear_rtol: Quantity("", POSITIVE) = Field(1e-9, description="convection: Newton's relative residual "
                                                   "tolerance")
    continuation: Bool = Field(True, description="convection, steady: when Newton from the conduction state "
                               "fails, continue in the buoyancy (then in pseudo-time)")
    max_memory: Annotated[Optional[float], BeforeValidator(_memory_size), pydantic.WithJsonSchema(
        {"anyOf": [{"type": "number"}, {"type": "string"}], "description": "'none' or a size, e.g. '64 GB'"})] = Field(
        None, description="refuse a case whose estimated solver memory exceeds this (default: the machine's "
        "memory; 'none': no limit)")

    def linear_solver_for(self, unknowns: float, dimension: int) -> str:
        """"direct" or "iterative": the choice made, or the size rule for "auto"."""
        if self.linear_solver != "auto":
            return self.linear_solver
        return "iterative" if dimension == 3 and unknowns > AUTO_ITERATIVE_UNKNOWNS else "direct"

    def linear_rtol(self, default: float) -> float:
        return default if self.rtol is None else self.rtol


class OutputSection(Section):
    fields: Bool = Field(True, description="write ParaView field files")
    pictures: Bool = Field(True, description="write PNG pictures")
    snapshots: Annotated[Int, at_least(1)] = Field(20, description="field snapshots of a transient run")
    animation: Bool = Field(False, description="GIF of a transient run's concentration")
    mesh: Bool = Field(False, description="write the mesh as mesh.msh (gmsh, named groups, metres): a preset's "
                       "chip to edit, or to run again with mesh.file")
    checkpoint_interval: Quantity("s", NONNEGATIVE) = Field(
        600.0, description="wall-clock time between checkpoints of a time loop (transient or tracking; "
        "0: only when stopped by SIGTERM/SIGINT); `thermocfd run --resume` continues from the last one")
    checkpoint_steps: Optional[Annotated[Int, at_least(1)]] = Field(
        None, description="also write a checkpoint every this many time steps (tracker steps for particles)")


class PicturesSection(Section):
    """How the PNG pictures look (pyvista, off-screen)."""

    width: Annotated[Int, at_least(200)] = 1200
    height: Annotated[Int, at_least(200)] = 700
    temperature_colormap: Str = Field("inferno", description="any matplotlib colour map")
    concentration_colormap: Str = "viridis"
    concentration_scale: Literal["auto", "linear", "log"] = "auto"
    concentration_min: Optional[Quantity("mol/m^3")] = None
    concentration_max: Optional[Quantity("mol/m^3")] = None
    arrows: Annotated[Int, at_least(0)] = 150
    vertical_exaggeration: Optional[Quantity("", at_least(1))] = Field(
        None, description="stretch of thin directions in pictures and scene.html (default: 3D only, enough for "
        "an aspect of 0.3; 1: true proportions)")
    scene: Bool = Field(True, description="write scene.html, an interactive 3D view of the fields (trame-vtk)")


# --- conditions on named boundaries --------------------------------------------------------
_BC_SCHEDULE = "transient: level over time, [[time, 'on'|'off'|level], ...]; "


class FixedTemperatureBC(Section):
    type: Literal["temperature"]
    value: Temperature
    schedule: Optional[ScheduleEntries] = Field(None, description=_BC_SCHEDULE + "T = T_initial + level x "
                                                "(value - T_initial)")


class HeatFluxBC(Section):
    type: Literal["heat_flux"]
    value: Quantity("W/m^2") = Field(description="into the domain (a heater: positive)")
    schedule: Optional[ScheduleEntries] = Field(None, description=_BC_SCHEDULE + "flux x level")


def _power_per_dimension(value):
    """A power in W (3D) or W/m (2D): checked here as a number or a string, converted when
    the dimension is known (``thermocfd.presets``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError("expected a number in W (3D) or W/m (2D), or a string with a unit")
    return value


PowerPerDimension = Annotated[Any, BeforeValidator(_power_per_dimension), _quantity_schema("W (3D) or W/m (2D)")]


class HeaterPowerBC(Section):
    type: Literal["heater_power"]
    power: PowerPerDimension = Field(description="W in 3D, W per metre of depth in 2D; spread uniformly")
    schedule: Optional[ScheduleEntries] = Field(None, description=_BC_SCHEDULE + "power x level")


class ConvectiveBC(Section):
    type: Literal["convective"]
    coefficient: Quantity("W/(m^2*K)", POSITIVE) = Field(10.0, description="heat-transfer coefficient h "
                                                         "(still air: 5-25)")
    ambient: Temperature


class InsulatedBC(Section):
    type: Literal["insulated"]


ThermalBC = Annotated[Union[FixedTemperatureBC, HeatFluxBC, HeaterPowerBC, ConvectiveBC, InsulatedBC],
                      Field(discriminator="type")]


class NoSlipBC(Section):
    type: Literal["no_slip"]


class InflowBC(Section):
    """Fully developed (Poiseuille) inflow on a planar inlet; give mean_speed or flow_rate."""

    type: Literal["inflow"]
    mean_speed: Optional[Quantity("m/s", POSITIVE)] = None
    flow_rate: Optional[Quantity("m^3/s", POSITIVE)] = Field(None, description="3D: m^3/s (e.g. '1 uL/min')")

    @model_validator(mode="after")
    def _one_of(self):
        if (self.mean_speed is None) == (self.flow_rate is None):
            raise ValueError("give exactly one of mean_speed and flow_rate")
        return self


class PressureBC(Section):
    type: Literal["pressure", "outflow"] = Field(description="outflow: traction-free (pressure 0)")
    value: Quantity("Pa") = 0.0


class SlipBC(Section):
    type: Literal["slip"]
    slip_coefficient: Law(SLIP_LAWS, "m^2/(s*K)") = Field(description="thermo-osmotic chi (or a law chi(T)); > 0: "
                                                           "fluid creeps to hot")


class SymmetryBC(Section):
    """A mirror plane (normal to a coordinate axis): no flow through it, no shear stress."""

    type: Literal["symmetry"]


FlowBC = Annotated[Union[NoSlipBC, InflowBC, PressureBC, SlipBC, SymmetryBC], Field(discriminator="type")]


class NoFluxBC(Section):
    type: Literal["no_flux"]


class ConcentrationBC(Section):
    type: Literal["concentration"]
    value: Quantity("mol/m^3", NONNEGATIVE)


class SoluteOutflowBC(Section):
    type: Literal["outflow"]


SoluteBC = Annotated[Union[NoFluxBC, ConcentrationBC, SoluteOutflowBC], Field(discriminator="type")]


class ParticleWallBC(Section):
    type: Literal["reflect", "exit"]


class AdsorbBC(Section):
    type: Literal["adsorb"]
    sticking_probability: Annotated[Quantity(""), NONNEGATIVE,
                                    _check(lambda v: v <= 1, "must be at most 1")] = 1.0


ParticlesBC = Annotated[Union[ParticleWallBC, AdsorbBC], Field(discriminator="type")]


class BoundarySpec(Section):
    """What happens on one named boundary; an absent entry keeps the preset's default
    (or insulated / no-slip / no-flux / reflecting on a mesh file)."""

    thermal: Optional[ThermalBC] = None
    flow: Optional[FlowBC] = None
    solute: Optional[SoluteBC] = None
    particles: Optional[ParticlesBC] = None


class UniformSource(Section):
    type: Literal["uniform"]
    value: Quantity("W/m^3")


class JouleSource(Section):
    type: Literal["joule"]
    power: PowerPerDimension = Field(description="W in 3D, W per metre of depth in 2D; uniform over the region")


HeatSource = Annotated[Union[UniformSource, JouleSource], Field(discriminator="type")]


class RegionSpec(Section):
    """One named region: its material ("fluid": the liquid of [fluid], where flow and
    solute live; or a solid from :mod:`thermocfd.physics.materials`) and heat source."""

    material: Str = Field(description="'fluid' or a solid: borosilicate, fused_silica, pdms, silicon, pmma, ...")
    thermal_conductivity: Optional[Quantity("W/(m*K)", POSITIVE)] = Field(None, description="solid: overrides "
                                                                          "the library value")
    density: Optional[Quantity("kg/m^3", POSITIVE)] = None
    heat_capacity: Optional[Quantity("J/(kg*K)", POSITIVE)] = None
    absorption_coefficient: Optional[Quantity("1/m", NONNEGATIVE)] = Field(None, description="laser absorption "
                                                                          "in a solid (liquid: laser.absorption_coefficient)")
    heat_source: Optional[HeatSource] = None

    @property
    def is_fluid(self) -> bool:
        return self.material == "fluid"

    @model_validator(mode="after")
    def _known_material(self):
        from .physics.materials import MATERIALS

        if self.material != "fluid" and self.material not in MATERIALS:
            raise _LawProblem(".material", self.material, f"unknown material; choose 'fluid' or one of "
                              f"{', '.join(sorted(MATERIALS))}")
        if self.is_fluid:
            for key in ("thermal_conductivity", "density", "heat_capacity", "absorption_coefficient"):
                if getattr(self, key) is not None:
                    raise _LawProblem(f".{key}", getattr(self, key), "a fluid region takes its properties from "
                                      "[fluid] (and laser.absorption_coefficient)")
        return self

    def solid(self):
        """The solid's properties, library values overridden by the region's own."""
        from .physics.materials import MATERIALS

        import dataclasses

        overrides = {key: getattr(self, key) for key in ("thermal_conductivity", "density", "heat_capacity",
                                                         "absorption_coefficient") if getattr(self, key) is not None}
        return dataclasses.replace(MATERIALS[self.material], **overrides)


class ProbeSpec(Section):
    """A named probe of a transient run: T and c averaged over a region or a ball (a disc
    in 2D) around a point, or their values at a point; written to probes.csv."""

    type: Literal["region", "ball", "point"]
    region: Optional[Str] = Field(None, description="region: the region averaged over (default: the liquid); "
                                  "ball: restricts the ball to it")
    centre: Optional[Vector("m")] = Field(None, description="ball and point: the position")
    radius: Optional[Length] = Field(None, description="ball: its radius (at least a cell size)")

    @pydantic.model_validator(mode="after")
    def _keys_of_type(self):
        needed = {"region": (), "ball": ("centre", "radius"), "point": ("centre",)}[self.type]
        allowed = {"region": ("region",), "ball": ("centre", "radius", "region"), "point": ("centre",)}[self.type]
        for key in needed:
            if getattr(self, key) is None:
                raise _LawProblem(f".{key}", MISSING, f"a {self.type} probe needs it")
        for key in ("region", "centre", "radius"):
            if key not in allowed and getattr(self, key) is not None:
                raise _LawProblem(f".{key}", getattr(self, key), f"a {self.type} probe does not use it")
        return self


# --- which kind uses what ------------------------------------------------------------------
ALL = "all"
LINEAR_SOLVER_KEYS = {"linear_solver", "rtol", "max_memory"}
COMMON = {"case": ALL, "mesh": {"resolution", "file", "unit", "tags"}, "output": ALL, "pictures": ALL}
KIND_USAGE: dict[str, dict[str, Any]] = {
    # kind -> {section: used keys (or ALL)}; boundary/region: which condition families
    "soret_cell": {**COMMON, "mesh": ALL, "geometry": ALL, "fluid": {"viscosity", "thermal_conductivity"},
                   "temperature": ALL, "solute": ALL, "time": {"transient", "end", "steps", "scheme"},
                   "solver": LINEAR_SOLVER_KEYS, "boundary": {"thermal", "solute"}, "region": ALL},
    "tracking": {**COMMON, "mesh": ALL, "geometry": ALL, "fluid": {"viscosity", "thermal_conductivity", "density"},
                 "temperature": ALL, "solver": LINEAR_SOLVER_KEYS, "gravity": ALL,
                 "solute": {"diffusivity", "soret_coefficient", "initial_concentration", "states", "transitions"},
                 "tracking": {"particles", "duration", "time_step", "scheme", "backend", "precision", "seed", "bins",
                  "trajectories", "particle_radius", "particle_density", "field_tolerance"},
                 "boundary": {"thermal", "particles"}},
    "convection": {**COMMON, "geometry": ALL, "fluid": ALL, "temperature": ALL,
                   "solute": {"diffusivity", "soret_coefficient", "initial_concentration"}, "laser": ALL,
                   "time": ALL, "flow": {"inertia", "newton_max_iterations"}, "gravity": ALL, "solver": ALL,
                   "probe": ALL,
                   "tracking": {"enabled", "particles", "duration", "time_step", "scheme", "backend", "precision",
                                "seed", "particle_radius", "particle_density", "field_tolerance"},
                   "boundary": {"thermal", "flow", "solute", "particles"}, "region": ALL},
    "phoretic_particle": {**COMMON, "geometry": ALL, "fluid": {"viscosity", "thermal_conductivity", "density"},
                          "temperature": ALL, "particle": ALL, "flow": {"far_field"}, "gravity": ALL,
                          "solver": LINEAR_SOLVER_KEYS},
    "thermoosmotic_flow": {**COMMON, "geometry": ALL, "fluid": {"viscosity", "thermal_conductivity"},
                           "temperature": ALL, "solver": {"linear_solver", "max_memory"}, "boundary": {"thermal", "flow"}},
    "mst": {**COMMON, "mesh": {"resolution"}, "geometry": ALL, "fluid": ALL, "temperature": {"ambient"}, "mst": ALL, "binding": ALL,
            "solute": {"diffusivity", "soret_coefficient", "initial_concentration"},
            "time": {"steps", "scheme", "first_step"}, "flow": {"inertia", "newton_max_iterations"},
            "gravity": ALL, "solver": LINEAR_SOLVER_KEYS, "boundary": {"thermal", "flow"}, "region": ALL},
    "aerosol": {**COMMON, "mesh": {"resolution", "degree"}, "geometry": ALL, "temperature": ALL, "gas": ALL,
                "aerosol": ALL, "gravity": ALL, "tracking": {"particles", "duration", "time_step", "backend", "seed"},
                "boundary": {"particles"}},
}
KIND_SHAPES = {"soret_cell": ("two_wall_cell",), "tracking": ("two_wall_cell",),
               "convection": ("two_wall_cell", "chamber", "channel", "chip"),
               "phoretic_particle": ("particle_box",), "thermoosmotic_flow": ("two_wall_cell",),
               "aerosol": ("wafer",), "mst": ("capillary",)}
# temperature keys each shape uses (a mesh file: the kind's entry under None)
SHAPE_TEMPERATURES = {"two_wall_cell": ("hot", "cold"), "chamber": ("ambient",), "channel": ("ambient",),
                      "chip": ("ambient",), "particle_box": ("reference", "gradient"),
                      "wafer": ("hot", "cold"), "capillary": ("ambient",)}
FILE_TEMPERATURES = {"soret_cell": ("hot", "cold"), "tracking": ("hot", "cold"), "convection": ("reference",),
                     "phoretic_particle": ("reference", "gradient"), "thermoosmotic_flow": ("hot", "cold"),
                     "aerosol": ("hot", "cold")}
WHY_UNUSED = {"gravity": "it has no flow", "laser": "only chamber and chip geometries of kind 'convection' are "
              "laser-heated", "particle": "only kind 'phoretic_particle' resolves a particle",
              "time": "it is steady", "tracking": "it tracks no particles", "flow": "it has no flow",
              "solute": "it has no solute", "region": "its regions are fixed", "gas": "only kind 'aerosol' has a gas",
              "aerosol": "only kind 'aerosol' tracks aerosol particles", "mst": "only kind 'mst' has an MST "
              "instrument", "binding": "only kind 'mst' titrates a ligand"}


def _has_solids(case: "Case") -> bool:
    return any(not spec.is_fluid for spec in case.region.values())


def _stokes_einstein(case: "Case") -> bool:
    return case.solute is not None and any(hasattr(law, "radius") for law in case.solute.diffusivity_laws())


def _sedimentation(case: "Case") -> bool:
    return case.tracking.particle_radius is not None


def _particle_weight(case: "Case") -> bool:
    return case.particle is not None and case.particle.density is not None


# keys that act only in some settings: (kinds, section, key, used(case), why not)
CONDITIONAL_KEYS = [
    (("soret_cell", "tracking"), "fluid", "viscosity", _stokes_einstein,
     "only a Stokes-Einstein solute.diffusivity uses it"),
    (("soret_cell", "tracking", "thermoosmotic_flow"), "fluid", "thermal_conductivity", _has_solids,
     "the liquid alone conducts between fixed temperatures, so T does not depend on k (it acts with solid "
     "regions of a mesh file)"),
    (("tracking",), "fluid", "density", _sedimentation, "only sedimentation (tracking.particle_radius) uses it"),
    (("phoretic_particle",), "fluid", "density", _particle_weight, "only particle.density (buoyancy) uses it"),
    (("tracking",), "", "gravity", _sedimentation, "only sedimentation (tracking.particle_radius) uses it"),
    (("phoretic_particle",), "", "gravity", _particle_weight, "only a particle with particle.density feels it"),
    (("phoretic_particle",), "particle", "density", lambda case: any(case.gravity),
     "without gravity the particle has no weight"),
    (("soret_cell", "tracking", "convection", "mst", "phoretic_particle"), "solver", "rtol",
     lambda case: case.solver.linear_solver != "direct", "only the iterative linear solver uses it"),
    (("mst",), "mst", "seed", lambda case: case.mst.noise > 0, "without mst.noise the traces have no noise"),
    (("mst",), "fluid", "thermal_expansion", lambda case: any(case.gravity),
     "without gravity the buffer stays at rest (no buoyancy)"),
    (("mst",), "fluid", "viscosity", lambda case: any(case.gravity) or _stokes_einstein(case),
     "without gravity the buffer stays at rest, and a constant solute.diffusivity does not use it"),
    (("soret_cell",), "solute", "dufour", lambda case: not case.time.transient and not case.solute.states,
     "the Dufour coupling is solved for the steady cell of an ordinary solute (not transient, not with states)"),
    (("convection",), "solver", "continuation", lambda case: not case.time.transient,
     "a transient run needs no continuation"),
    (("convection",), "time", "outputs", lambda case: case.time.transient, "the run is steady"),
    (("convection",), "time", "first_step", lambda case: case.time.transient, "the run is steady"),
    (("convection",), "laser", "schedule", lambda case: case.time.transient,
     "a steady run has the laser on (time.transient = true switches it)"),
    (("convection",), "", "probe", lambda case: case.time.transient, "probes record time series of a transient run"),
    (("soret_cell", "convection"), "time", "end", lambda case: case.time.transient, "the run is steady"),
    (("soret_cell", "convection"), "time", "steps", lambda case: case.time.transient, "the run is steady"),
    (("soret_cell",), "time", "scheme", lambda case: case.time.transient, "the run is steady"),
    (("soret_cell", "convection"), "output", "snapshots", lambda case: case.time.transient and case.output.fields,
     "only a transient run with output.fields writes snapshots"),
    (("soret_cell", "convection"), "output", "animation", lambda case: case.time.transient and case.output.pictures,
     "only a transient run with output.pictures is animated"),
]
# checkpoints: only runs with a time loop that writes them (thermocfd.checkpoint)
CONDITIONAL_KEYS += [(("soret_cell",), "output", key, lambda case: case.time.transient,
                      "only a transient run writes checkpoints") for key in ("checkpoint_interval", "checkpoint_steps")]
CONDITIONAL_KEYS += [(("convection",), "output", key, lambda case: case.time.transient or bool(case.tracking.enabled),
                      "only a transient run or particle tracking (tracking.enabled = true) writes checkpoints")
                     for key in ("checkpoint_interval", "checkpoint_steps")]
CONDITIONAL_KEYS += [(("phoretic_particle", "thermoosmotic_flow"), "output", key, lambda case: False,
                      "a steady solve has no time loop to checkpoint") for key in ("checkpoint_interval",
                                                                                    "checkpoint_steps")]
CONDITIONAL_KEYS += [(("mst",), "flow", key, lambda case: any(case.gravity),
                      "without gravity the buffer stays at rest (no flow is solved)")
                     for key in ("inertia", "newton_max_iterations")]
_TRACKING_KEYS = ("particles", "duration", "time_step", "scheme", "backend", "precision", "seed",
                  "particle_radius", "particle_density", "field_tolerance")
CONDITIONAL_KEYS += [(("convection",), "tracking", key, lambda case: bool(case.tracking.enabled),
                      "tracking is off (tracking.enabled = true tracks particles in the flow)") for key in _TRACKING_KEYS]


CONDITIONAL_KEYS += [(("aerosol",), "output", key, lambda case: False, why) for key, why in (
    ("checkpoint_interval", "the aerosol run is short and writes no checkpoints"),
    ("checkpoint_steps", "the aerosol run is short and writes no checkpoints"),
    ("snapshots", "the aerosol run is steady"), ("animation", "the aerosol run is steady"))]


def condition_families(case: "Case") -> set[str]:
    """The boundary-condition families a case uses (particles only where particles are tracked)."""
    used = KIND_USAGE[case.kind].get("boundary")
    families = set(used) if isinstance(used, set) else set()
    if case.kind == "convection" and not case.tracking.enabled:
        families.discard("particles")
    if case.solute is not None and case.solute.states:  # a closed cell: no-flux walls only
        families.discard("solute")
    if case.kind == "mst" and not any(case.gravity):  # the buffer at rest
        families.discard("flow")
    return families


def inactive_keys(case: "Case") -> dict[str, str]:
    """Keys (dotted) that have no effect in this case's setting, with the reason."""
    out = {}
    for kinds, section, key, used, why in CONDITIONAL_KEYS:
        if case.kind in kinds and not used(case):
            out[f"{section}.{key}" if section else key] = why
    if not case.output.pictures:
        out["pictures"] = "output.pictures = false"
    return out


def reject_inactive(case: "Case") -> None:
    """A key given in the case file that has no effect in this setting is an error."""
    for kinds, section, key, used, why in CONDITIONAL_KEYS:
        if case.kind not in kinds:
            continue
        owner = case if not section else getattr(case, section)
        if owner is not None and key in owner.model_fields_set and not used(case):
            name = f"{section}.{key}" if section else key
            raise CaseError(name, MISSING, f"has no effect here: {why}")
    for name, spec in case.boundary.items():
        if getattr(spec.thermal, "schedule", None) is not None and not (case.kind == "convection"
                                                                       and case.time.transient):
            raise CaseError(f"boundary.{name}.thermal.schedule", MISSING, "has no effect here: only a transient "
                            "convection run (time.transient = true) follows schedules")
        if spec.solute is not None and case.solute is not None and case.solute.states:
            raise CaseError(f"boundary.{name}.solute", MISSING, "has no effect here: a species with internal "
                            "states lives in a closed cell (no-flux walls)")
        if spec.flow is not None and case.kind == "mst" and not any(case.gravity):
            raise CaseError(f"boundary.{name}.flow", MISSING, "has no effect here: without gravity the buffer "
                            "stays at rest (no flow is solved)")
        if spec.particles is not None and "particles" not in condition_families(case):
            raise CaseError(f"boundary.{name}.particles", MISSING, "has no effect here: tracking is off "
                            "(tracking.enabled = true tracks particles in the flow)")
    if not case.output.pictures and case.pictures.model_fields_set:
        key = sorted(case.pictures.model_fields_set)[0]
        raise CaseError(f"pictures.{key}", MISSING, "has no effect: output.pictures = false")


class Case(Section):
    """A validated case: every section in SI, laws as objects, conditions resolved."""

    case: CaseSection
    geometry: Optional[Geometry] = None
    mesh: MeshSection = Field(default_factory=MeshSection)
    fluid: FluidSection = Field(default_factory=FluidSection)
    temperature: Optional[TemperatureSection] = None
    laser: Optional[LaserSection] = None
    particle: Optional[ParticleSection] = None
    solute: Optional[SoluteSection] = None
    time: TimeSection = Field(default_factory=TimeSection)
    flow: FlowSection = Field(default_factory=FlowSection)
    tracking: TrackingSection = Field(default_factory=TrackingSection)
    solver: SolverSection = Field(default_factory=SolverSection)
    output: OutputSection = Field(default_factory=OutputSection)
    pictures: PicturesSection = Field(default_factory=PicturesSection)
    gravity: Vector("m/s^2") = Field(default_factory=lambda: [0.0, 0.0, 0.0])
    boundary: dict[str, BoundarySpec] = Field(default_factory=dict, description="conditions per boundary name")
    region: dict[str, RegionSpec] = Field(default_factory=dict, description="material and sources per region name")
    probe: dict[str, ProbeSpec] = Field(default_factory=dict, description="transient: named probes (probes.csv)")
    gas: GasSection = Field(default_factory=GasSection)
    aerosol: Optional[AerosolSection] = None
    mst: Optional[MSTSection] = None
    binding: Optional[BindingSection] = None
    source: Optional[str] = Field(None, exclude=True, description="the case file (set by load_case)")

    @property
    def kind(self) -> str:
        return self.case.kind

    @property
    def shape(self) -> str | None:
        """The geometry preset, or None for a mesh file."""
        return None if self.geometry is None else self.geometry.shape

    @property
    def dimension(self) -> int | None:
        return getattr(self.geometry, "dimension", 3 if self.shape == "particle_box" else None)

    def to_dict(self) -> dict[str, Any]:
        """The resolved inputs (SI, laws as tables, preset conditions filled in) for
        summary.json; they parse back with :func:`case_from_dict` to the same case."""
        usage = KIND_USAGE[self.kind]
        inactive = inactive_keys(self)
        out = {}
        for section, value in self.model_dump(mode="json", exclude_none=True).items():
            used = usage.get(section)
            if used is None or section in inactive:
                continue
            if isinstance(value, dict):
                value = {key: v for key, v in value.items() if f"{section}.{key}" not in inactive}
            if used is not ALL and isinstance(value, dict) and section not in ("boundary", "region"):
                value = {key: v for key, v in value.items() if key in used}
            if section == "mesh" and self.mesh.file is None:
                value = {key: v for key, v in value.items() if key not in ("unit", "tags")}
            out[section] = value
        return out


# --- errors ----------------------------------------------------------------------------------
def _unknown_key_reason(key: str, known) -> str:
    close = difflib.get_close_matches(key, list(known), n=1)
    return "unknown key" + (f"; did you mean {close[0]!r}?" if close else f"; known keys: {', '.join(sorted(known))}")


def _section_model(name: str):
    special = {"boundary": BoundarySpec, "region": RegionSpec}.get(name)
    if special is not None:
        return special
    annotation = Case.model_fields[name].annotation
    inner = [arg for arg in getattr(annotation, "__args__", ()) if isinstance(arg, type) and issubclass(arg, BaseModel)]
    return inner[0] if inner else annotation  # Optional[Section] -> Section


def _error_from_pydantic(error: pydantic.ValidationError, raw: dict) -> CaseError:
    first = error.errors()[0]
    # drop the tags of tagged unions from the location (geometry.chamber.length -> geometry.length)
    path, node = [], raw
    for part in first["loc"]:
        if isinstance(node, dict) and part in node:
            path.append(str(part))
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            path[-1] = f"{path[-1]}[{part}]" if path else str(part)
            node = node[part]
        elif isinstance(node, dict) and first["type"] in ("missing", "extra_forbidden") and part == first["loc"][-1]:
            path.append(str(part))
            node = MISSING
    key = ".".join(path) or "case"
    context = first.get("ctx") or {}
    inner = context.get("error")
    if isinstance(inner, _LawProblem):
        return CaseError(key + inner.sub_key, inner.value if inner.sub_key else node, inner.reason)
    kind = first["type"]
    if kind == "missing":
        is_section = len(path) == 1 and path[0] in Case.model_fields
        return CaseError(key, MISSING, f"missing required section [{key}]" if is_section else "missing required key")
    if kind == "extra_forbidden":
        if len(path) == 2 and path[0] == "geometry":
            owners = [shape for shape, model in GEOMETRIES.items() if path[1] in model.model_fields]
            if owners:
                shape = raw["geometry"].get("shape")
                return CaseError(key, MISSING, f"not used by geometry.shape {shape!r} (a key of "
                                 f"{', '.join(map(repr, owners))})")
        parent = _model_at(path[:-1], raw)
        known = list(parent.model_fields) if parent is not None else []
        return CaseError(key, MISSING, _unknown_key_reason(path[-1], [k for k in known if k != "source"]))
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        tag = "shape" if path and path[-1] == "geometry" else "type"
        options = context.get("expected_tags", "")
        if kind == "union_tag_not_found":
            return CaseError(f"{key}.{tag}", MISSING, f"missing: name the {tag}, one of {options}")
        return CaseError(f"{key}.{tag}", context.get("tag"), f"unknown {tag}; choose one of {options}")
    if kind in ("literal_error", "enum"):
        return CaseError(key, node, f"must be one of {context.get('expected', '')}".replace(" or ", ", "))
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return CaseError(key, node, "expected a table (a [section] of key = value lines)")
    if kind in ("list_type", "too_short", "too_long"):
        return CaseError(key, node, first["msg"].replace("List should have", "expected"))
    reason = first["msg"].removeprefix("Value error, ")
    return CaseError(key, node, reason)


def _model_at(path: list[str], raw: dict):
    """The pydantic model describing the table at ``path`` (for did-you-mean hints)."""
    model = Case
    node = raw
    for i, part in enumerate(path):
        node = node.get(part, {}) if isinstance(node, dict) else {}
        if i == 0 and part in ("boundary", "region"):
            continue
        if i == 1 and path[0] in ("boundary", "region"):
            model = _section_model(path[0])
            continue
        field = model.model_fields.get(part)
        if field is None:
            return None
        model = _model_of_annotation(field.annotation, node)
        if model is None:
            return None
    return model


def _model_of_annotation(annotation, node):
    import typing

    candidates = [annotation]
    while candidates:
        a = candidates.pop()
        if isinstance(a, type) and issubclass(a, BaseModel):
            tag = node.get("type", node.get("shape")) if isinstance(node, dict) else None
            shape_or_type = a.model_fields.get("type") or a.model_fields.get("shape")
            if tag is None or shape_or_type is None or tag in typing.get_args(shape_or_type.annotation):
                return a
            continue
        candidates.extend(typing.get_args(a))
    return None


# --- usage: keys the chosen kind or shape does not use ----------------------------------------
MOVED = {  # keys of earlier case files -> where they live now
    "heater": "the stripe is geometry.heater_start/heater_end, its power [boundary.heater] thermal = "
              "{type = 'heat_flux', value = ...}",
    "walls": "the slip is [boundary.walls] flow = {type = 'slip', slip_coefficient = ...}",
    "flow.mean_speed": "the inflow is [boundary.inlet] flow = {type = 'inflow', mean_speed = ...}",
    "tracking.walls": "wall kinds are per boundary: [boundary.NAME] particles = {type = 'adsorb'} (or 'reflect', "
                      "'exit')",
    "tracking.sticking_probability": "[boundary.NAME] particles = {type = 'adsorb', sticking_probability = ...}",
}


def _reject_moved(raw: dict) -> None:
    for old, where in MOVED.items():
        section, _, key = old.partition(".")
        table = raw.get(section)
        if table is not None and (not key or (isinstance(table, dict) and key in table)):
            raise CaseError(old, MISSING, f"moved: {where}")


def _reject_unused(raw: dict) -> None:
    _reject_moved(raw)
    kind = raw["case"]["kind"]
    usage = KIND_USAGE[kind]
    for section, value in raw.items():
        if section not in Case.model_fields or section == "source":
            continue  # unknown: pydantic says so, with a hint
        used = usage.get(section)
        if used is None:
            why = WHY_UNUSED.get(section, "")
            raise CaseError(section, MISSING, f"not used by kind {kind!r}" + (f" ({why})" if why else ""))
        if used is ALL or not isinstance(value, dict):
            continue
        if section in ("boundary", "region"):
            for name, spec in value.items():
                for family in (spec if isinstance(spec, dict) else {}):
                    if family in BoundarySpec.model_fields and family not in used:
                        raise CaseError(f"{section}.{name}.{family}", MISSING, f"not used by kind {kind!r}")
            continue
        for key in value:
            if key not in used and key in _section_model(section).model_fields:
                raise CaseError(f"{section}.{key}", MISSING, f"not used by kind {kind!r}")
    geometry = raw.get("geometry")
    shape = geometry.get("shape", KIND_SHAPES[kind][0]) if isinstance(geometry, dict) else None
    if isinstance(geometry, dict) and not isinstance(shape, str):
        raise CaseError("geometry.shape", shape, f"expected a string, one of {', '.join(map(repr, KIND_SHAPES[kind]))}")
    if isinstance(geometry, dict) and shape in GEOMETRIES and shape not in KIND_SHAPES[kind]:
        raise CaseError("geometry.shape", shape, f"not used by kind {kind!r} (it takes "
                        f"{', '.join(map(repr, KIND_SHAPES[kind]))})")
    mesh = raw.get("mesh") if isinstance(raw.get("mesh"), dict) else {}
    if mesh.get("file") is not None and geometry is not None:
        raise CaseError("geometry", MISSING, "not used with mesh.file (the mesh file is the geometry)")
    if mesh.get("file") is None:
        for key in ("unit", "tags"):
            if key in mesh:
                raise CaseError(f"mesh.{key}", MISSING, "not used without mesh.file")
    temperature = raw.get("temperature")
    if isinstance(temperature, dict):
        if mesh.get("file") is not None:
            used, owner = FILE_TEMPERATURES[kind], "a mesh file"
        else:
            shape = shape or KIND_SHAPES[kind][0]
            used, owner = SHAPE_TEMPERATURES.get(shape, ()), f"geometry.shape {shape!r}"
        for key in temperature:
            if key not in used and key in TemperatureSection.model_fields:
                raise CaseError(f"temperature.{key}", MISSING, f"not used by {owner} (it uses "
                                f"{', '.join('temperature.' + k for k in used)})")


# --- entry points ------------------------------------------------------------------------------
def parse_override(text: str) -> tuple[list[str], Any]:
    """``section.key=value`` -> (path, value); value is TOML ("310 K" needs no quotes)."""
    if "=" not in text:
        raise CaseError(text, MISSING, "--set expects section.key=value")
    key, _, value_text = text.partition("=")
    key = key.strip()
    path = key.split(".")
    if not key or any(not part.strip() for part in path):
        raise CaseError(key or text, MISSING, "--set expects section.key=value")
    try:
        value = tomllib.loads(f"v = {value_text.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = value_text.strip()  # a bare string such as 310 K or water
    return path, value


def apply_overrides(raw: dict, overrides: list[str]) -> dict:
    for text in overrides:
        path, value = parse_override(text)
        table = raw
        for i, part in enumerate(path[:-1]):
            table = table.setdefault(part, {})
            if not isinstance(table, dict):
                raise CaseError(".".join(path[:i + 1]), table, f"--set {text}: not a table")
        table[path[-1]] = value
    return raw


def case_from_dict(raw: dict, source: str | None = None) -> Case:
    """Validate a case given as a dictionary (what TOML parses into)."""
    if not isinstance(raw.get("case"), dict):
        raise CaseError("case", MISSING, "missing required section [case] (with kind = ...)")
    kind = raw["case"].get("kind")
    if not isinstance(kind, str) or kind not in KIND_USAGE:
        raise CaseError("case.kind", kind if kind is not None else MISSING,
                        f"unknown kind; available: {', '.join(sorted(KIND_USAGE))}")
    _reject_unused(raw)
    raw = dict(raw)
    default_shape = KIND_SHAPES[kind][0]
    if isinstance(raw.get("geometry"), dict) and "shape" not in raw["geometry"]:
        raw["geometry"] = {"shape": default_shape, **raw["geometry"]}
    if raw.get("geometry") is None and not (isinstance(raw.get("mesh"), dict) and raw["mesh"].get("file")) \
            and default_shape in ("particle_box", "capillary"):
        raw["geometry"] = {"shape": default_shape}
    try:
        case = Case.model_validate({**raw, "source": source})
    except pydantic.ValidationError as error:
        raise _error_from_pydantic(error, raw) from None
    from .presets import resolve

    return resolve(case)


def load_case(path: str | Path, overrides: list[str] | None = None) -> Case:
    """Read, override (``--set``), validate and convert a TOML case file."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise CaseError(str(path), MISSING, "case file not found") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as error:
        raise CaseError(str(path), MISSING, f"cannot read the case file ({error.__class__.__name__})") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise CaseError(str(path), MISSING, f"not valid TOML: {error}") from None
    apply_overrides(raw, overrides or [])
    return case_from_dict(raw, source=str(path))


def case_json_schema() -> dict:
    """JSON Schema of case files: one variant per kind, with only the sections and keys
    that kind uses (editors validate and complete case files with it)."""
    variants = []
    for kind, usage in KIND_USAGE.items():
        fields: dict[str, Any] = {}
        for section, used in usage.items():
            field = Case.model_fields[section]
            annotation = field.annotation
            if section == "case":
                annotation = pydantic.create_model(f"{kind}_case", __base__=CaseSection,
                                                   kind=(Literal[kind], ...))
            elif section == "geometry":
                shapes = KIND_SHAPES[kind]
                options = tuple(GEOMETRIES[s] for s in shapes)
                annotation = Optional[options[0] if len(options) == 1 else
                                      Annotated[Union[options], Field(discriminator="shape")]]
            elif section == "boundary":
                spec = pydantic.create_model(f"{kind}_boundary", __base__=Section,
                                             **{f: (BoundarySpec.model_fields[f].annotation, None) for f in used})
                annotation = dict[str, spec]
            elif used is not ALL:
                model = _section_model(section)
                subset = pydantic.create_model(
                    f"{kind}_{section}", __base__=Section,
                    **{name: (f.annotation, f) for name, f in model.model_fields.items() if name in used})
                annotation = Optional[subset]
            required = section == "case" or (section == "solute" and kind in ("soret_cell", "tracking", "convection"))
            fields[section] = (annotation, ... if required else None)
        variants.append(pydantic.create_model(f"{kind}", __base__=Section, **fields))
    adapter = pydantic.TypeAdapter(Union[tuple(variants)])
    schema = adapter.json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "thermocfd case file"
    return schema


def schema_text() -> str:
    return json.dumps(case_json_schema(), indent=2)
