"""Case files: TOML parsed into dataclasses, validated, converted to SI.

This is the only module that reads TOML. Each section is a dataclass whose fields carry
their SI unit and physical checks in ``metadata``; one generic parser walks them, so an
unknown key, a missing key, a wrong type, a wrong unit or a non-physical value always
produces a :class:`~thermocfd.errors.CaseError` that names the key, the value and the
reason.

Physics laws (viscosity, diffusivity, Soret coefficient) are given as a number, a law
name, or a table ``{law = "...", <parameters>}`` and become the law objects of
:mod:`thermocfd.physics`.
"""

from __future__ import annotations

import dataclasses
import difflib
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal

from . import physics
from .physics import water
from .errors import MISSING, CaseError
from .units import to_si

# --- physical checks -----------------------------------------------------------------


def positive(value: float) -> str | None:
    return None if value > 0 else "must be positive"


def nonnegative(value: float) -> str | None:
    return None if value >= 0 else "must not be negative"


def absolute_temperature(value: float) -> str | None:
    return None if value > 0 else "is not a physical temperature (must be above 0 K)"


def at_least(bound: float) -> Callable[[float], str | None]:
    def check(value: float) -> str | None:
        return None if value >= bound else f"must be at least {bound:g}"

    return check


def quantity(unit: str = "", check: Callable[[Any], str | None] | None = None,
             default: Any = dataclasses.MISSING, doc: str = "") -> Any:
    """A dataclass field holding an SI float (or vector of floats) with a unit and a check."""
    metadata = {"unit": unit, "check": check, "doc": doc}
    if default is dataclasses.MISSING:
        return field(metadata=metadata)
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=metadata)
    return field(default=default, metadata=metadata)


# --- law tables ----------------------------------------------------------------------
# law name -> (constructor, {parameter: (SI unit, check)})
_LawTable = dict[str, tuple[Callable[..., Any], dict[str, tuple[str, Any]]]]

SORET_LAWS: _LawTable = {
    "constant": (physics.ConstantSoret, {"value": ("1/K", None)}),
    "piazza": (physics.PiazzaSoret, {"s_inf": ("1/K", None), "t_star": ("K", absolute_temperature),
                                     "t0": ("K", positive)}),
    "heat_of_transport": (physics.HeatOfTransportSoret, {"heat_of_transport": ("J", None)}),
}
VISCOSITY_LAWS: _LawTable = {
    "constant": (physics.ConstantViscosity, {"value": ("Pa*s", positive)}),
    "water": (physics.WaterViscosity, {}),
}

def _water_or_constant(unit: str, check, water_law) -> _LawTable:
    return {"constant": (water.ConstantProperty, {"value": (unit, check)}), "water": (water_law, {})}


FLUID_PROPERTY_LAWS: dict[str, tuple[str, Any, _LawTable]] = {
    # key: (SI unit, check, laws); "water" is the correlation of thermocfd.physics.water
    "density": ("kg/m^3", positive, _water_or_constant("kg/m^3", positive, water.WaterDensity)),
    "thermal_conductivity": ("W/(m*K)", positive,
                             _water_or_constant("W/(m*K)", positive, water.WaterThermalConductivity)),
    "heat_capacity": ("J/(kg*K)", positive, _water_or_constant("J/(kg*K)", positive, water.WaterHeatCapacity)),
    "thermal_expansion": ("1/K", None, _water_or_constant("1/K", None, water.WaterThermalExpansion)),
}
DIFFUSIVITY_LAWS: _LawTable = {
    "constant": (physics.ConstantDiffusivity, {"value": ("m^2/s", positive)}),
    # the viscosity law comes from [fluid] (see _parse_solute)
    "stokes_einstein": (physics.StokesEinsteinDiffusivity, {"radius": ("m", positive)}),
}


def _parse_law(value: object, key: str, laws: _LawTable, unit: str, check, extra: dict | None = None):
    """Number -> the 'constant' law; "name" -> a parameterless law; table -> any law."""
    if isinstance(value, str) and value.strip() in laws and not laws[value.strip()][1]:
        return laws[value.strip()][0]()
    if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        number = to_si(value, unit, key)
        _apply_check(check, number, key, value)
        return laws["constant"][0](number)
    if not isinstance(value, dict):
        raise CaseError(key, value, f"expected a number in {unit}, a law name or a table "
                        f"{{law = ...}} with law one of {sorted(laws)}")
    if "law" not in value:
        raise CaseError(f"{key}.law", MISSING, f"missing: name the law, one of {sorted(laws)}")
    name = value["law"]
    if name not in laws:
        raise CaseError(f"{key}.law", name, f"unknown law; choose one of {sorted(laws)}")
    constructor, parameters = laws[name]
    _reject_unknown({k for k in value if k != "law"}, parameters, key)
    kwargs = dict(extra or {}) if name in ("stokes_einstein",) else {}
    for parameter, (parameter_unit, parameter_check) in parameters.items():
        sub_key = f"{key}.{parameter}"
        if parameter not in value:
            raise CaseError(sub_key, MISSING, f"missing parameter of law {name!r}")
        number = to_si(value[parameter], parameter_unit, sub_key)
        _apply_check(parameter_check, number, sub_key, value[parameter])
        kwargs[parameter] = number
    return constructor(**kwargs)


def law_to_dict(law: Any) -> dict[str, Any]:
    """A law object as a JSON-able table that parses back to the same law."""
    for laws in (SORET_LAWS, VISCOSITY_LAWS, DIFFUSIVITY_LAWS,
                 *(table for _, _, table in FLUID_PROPERTY_LAWS.values())):
        for name, (constructor, parameters) in laws.items():
            if type(law) is constructor:
                # exactly the table's parameters (stokes_einstein's viscosity is [fluid]'s)
                return {"law": name, **{p: getattr(law, p) for p in parameters}}
    raise TypeError(f"not a law: {law!r}")


# --- sections --------------------------------------------------------------------------
KINDS: dict[str, tuple[str, ...]] = {
    # case.kind -> sections that must be present
    "soret_cell": ("geometry", "temperature", "solute"),
    "tracking": ("geometry", "temperature", "solute"),
    "convection": ("geometry", "temperature", "solute"),
    "phoretic_particle": ("particle", "temperature"),
    "thermoosmotic_flow": ("geometry", "temperature", "walls"),
}


@dataclass
class CaseSection:
    kind: str = quantity(doc="which pipeline runs")
    name: str = quantity(default="")
    description: str = quantity(default="")


@dataclass
class GeometrySection:
    length: float = quantity("m", positive, doc="two_wall_cell: hot-to-cold wall distance L (along x); "
                                                "chamber: lateral width")
    shape: Literal["two_wall_cell", "chamber", "channel"] = quantity(default="two_wall_cell")
    dimension: int = quantity(default=2, doc="2 (rectangle) or 3 (box)")
    height: float | None = quantity("m", positive, default=None,
                                    doc="two_wall_cell: extent along y (default L/4); chamber: thickness "
                                        "along the vertical (y in 2D, z in 3D)")
    depth: float | None = quantity("m", positive, default=None, doc="extent along z in 3D (default L/4)")


@dataclass
class MeshSection:
    resolution: float = quantity("", positive, default=1.0, doc="refines the whole mesh (larger = finer)")
    degree: int = quantity(default=1, doc="Lagrange degree of T and c (1 or 2)")
    file: str | None = quantity(default=None, doc="a mesh file instead of the builder: gmsh .msh with physical "
                                "groups, or any format meshio reads, with integer cell/facet tags")
    unit: float = quantity("m", positive, default=1.0, doc="length of one coordinate unit of the mesh file")
    tags: dict[str, int] = quantity(default={}, doc="names of the file's integer tags, e.g. {fluid = 1, hot = 2}")


@dataclass
class FluidSection:
    """Properties: a number (SI or with unit), "water", or a law table."""

    viscosity: Any = quantity("Pa*s", positive, default="water")
    density: Any = quantity("kg/m^3", positive, default="water")
    thermal_conductivity: Any = quantity("W/(m*K)", positive, default="water")
    heat_capacity: Any = quantity("J/(kg*K)", positive, default="water")
    thermal_expansion: Any = quantity("1/K", None, default="water")

    def at(self, temperature: float) -> physics.FluidProperties:
        """Numbers at a reference temperature (viscosity stays a law of T)."""
        return physics.FluidProperties(
            float(self.density.at(temperature)), self.viscosity,
            float(self.thermal_conductivity.at(temperature)), float(self.heat_capacity.at(temperature)),
            float(self.thermal_expansion.at(temperature)))


@dataclass
class TemperatureSection:
    hot: float | None = quantity("K", absolute_temperature, default=None, doc="two_wall_cell hot wall")
    cold: float | None = quantity("K", absolute_temperature, default=None, doc="two_wall_cell cold wall")
    ambient: float | None = quantity("K", absolute_temperature, default=None, doc="chamber walls")
    reference: float | None = quantity("K", absolute_temperature, default=None,
                                       doc="phoretic_particle: T at the particle centre")
    gradient: list[float] | None = quantity("K/m", None, default=None,
                                            doc="phoretic_particle: far-field temperature gradient")


@dataclass
class ParticleSection:
    """A resolved spherical particle (phoretic_particle)."""

    radius: float = quantity("m", positive)
    slip_coefficient: float = quantity("m^2/(s*K)", None, doc="thermo-osmotic chi; > 0: fluid creeps to hot")
    thermal_conductivity: float = quantity("W/(m*K)", positive, default=0.6, doc="k_p")
    density: float | None = quantity("kg/m^3", positive, default=None, doc="for gravity minus buoyancy")
    wall_distance: float | None = quantity("m", positive, default=None,
                                           doc="centre-to-wall distance h to a plane wall z = 0 (none: no wall)")


@dataclass
class WallsSection:
    """Channel walls with thermo-osmotic slip (thermoosmotic_flow)."""

    slip_coefficient: float = quantity("m^2/(s*K)", None)


@dataclass
class HeaterSection:
    """A resistive heater stripe on the floor of a channel."""

    start: float = quantity("m", None, doc="upstream edge, distance from the inlet")
    end: float = quantity("m", None, doc="downstream edge")
    heat_flux: float = quantity("W/m^2", positive, doc="power per area delivered into the liquid")


@dataclass
class LaserSection:
    power: Any = quantity(doc="beam power: W in 3D, W per metre of depth for a 2D line focus")
    waist: float = quantity("m", positive, doc="1/e^2 intensity radius")
    absorption_coefficient: float = quantity("1/m", positive, default=2400.0, doc="water at 1480 nm")
    position: list[float] = quantity("m", None, default=[0.0, 0.0, 0.0], doc="beam axis (lateral x, y)")


@dataclass
class SoluteSection:
    diffusivity: Any = quantity("m^2/s", positive)
    soret_coefficient: Any = quantity("1/K", None)
    initial_concentration: float = quantity("mol/m^3", positive, default=1.0)


@dataclass
class TimeSection:
    transient: bool = quantity(default=False)
    end: float | None = quantity("s", positive, default=None,
                                 doc="end time (default: 4 estimated relaxation times)")
    steps: int = quantity("", at_least(2), default=200)
    scheme: Literal["bdf2", "backward_euler"] = quantity(default="bdf2")


@dataclass
class FlowSection:
    inertia: bool = quantity(default=False, doc="Navier-Stokes instead of Stokes (Re << 1 in microfluidics)")
    mean_speed: float | None = quantity("m/s", positive, default=None,
                                        doc="channel: mean speed of the pressure-driven (Poiseuille) inflow")
    far_field: Literal["auto", "none"] = quantity(default="auto",
                                                  doc="phoretic_particle: put the particle's own far field "
                                                      "(Stokeslet / Blake) on the outer boundaries")
    newton_max_iterations: int = quantity("", at_least(1), default=25)


@dataclass
class TrackingSection:
    enabled: bool | None = quantity(default=None, doc="convection cases: also track Brownian particles in the "
                                                     "flow (off unless true; case.kind 'tracking' always tracks)")
    particles: int = quantity("", at_least(1), default=100_000)
    duration: float | None = quantity("s", positive, default=None,
                                      doc="tracked time (default: 5 relaxation times of the cell)")
    time_step: float | None = quantity("s", positive, default=None,
                                       doc="default: half the grid-cell diffusion/advection time")
    scheme: Literal["euler", "heun"] = quantity(default="euler")
    backend: Literal["auto", "cpu", "gpu"] = quantity(default="auto")
    precision: Literal["float64", "float32"] = quantity(default="float64")
    seed: int = quantity("", at_least(0), default=0)
    walls: Literal["reflect", "adsorb"] = quantity(default="reflect")
    sticking_probability: float = quantity("", nonnegative, default=1.0)
    bins: int = quantity("", at_least(4), default=20)
    trajectories: int = quantity("", at_least(0), default=200, doc="particles whose paths are written (VTP)")
    particle_radius: float | None = quantity("m", positive, default=None, doc="for sedimentation")
    particle_density: float | None = quantity("kg/m^3", positive, default=None, doc="for sedimentation")


@dataclass
class SolverSection:
    linear_solver: Literal["direct", "iterative"] = quantity(default="direct")
    rtol: float = quantity("", positive, default=1e-12)


@dataclass
class OutputSection:
    fields: bool = quantity(default=True, doc="write ParaView field files")
    pictures: bool = quantity(default=True, doc="write PNG pictures")
    snapshots: int = quantity("", at_least(1), default=20, doc="field snapshots of a transient run")
    animation: bool = quantity(default=False, doc="GIF of a transient run's concentration")


@dataclass
class PicturesSection:
    """How the PNG pictures look (pyvista, off-screen)."""

    width: int = quantity("", at_least(200), default=1200)
    height: int = quantity("", at_least(200), default=700)
    temperature_colormap: str = quantity(default="inferno", doc="any matplotlib colour map")
    concentration_colormap: str = quantity(default="viridis")
    concentration_scale: Literal["auto", "linear", "log"] = quantity(
        default="auto", doc="auto: log when the concentration spans more than a factor 20")
    concentration_min: float | None = quantity("mol/m^3", None, default=None, doc="fixed colour range")
    concentration_max: float | None = quantity("mol/m^3", None, default=None)
    arrows: int = quantity("", at_least(0), default=150, doc="drift/flow arrows per picture")


@dataclass
class Case:
    case: CaseSection
    geometry: GeometrySection | None = None
    mesh: MeshSection = field(default_factory=MeshSection)
    fluid: FluidSection = field(default_factory=FluidSection)
    temperature: TemperatureSection | None = None
    laser: LaserSection | None = None
    particle: ParticleSection | None = None
    walls: WallsSection | None = None
    heater: HeaterSection | None = None
    solute: SoluteSection | None = None
    time: TimeSection = field(default_factory=TimeSection)
    flow: FlowSection = field(default_factory=FlowSection)
    tracking: TrackingSection = field(default_factory=TrackingSection)
    solver: SolverSection = field(default_factory=SolverSection)
    output: OutputSection = field(default_factory=OutputSection)
    pictures: PicturesSection = field(default_factory=PicturesSection)
    gravity: list[float] = quantity("m/s^2", None, default=[0.0, 0.0, 0.0])
    source: str | None = field(default=None, metadata={"internal": True})

    @property
    def kind(self) -> str:
        return self.case.kind

    def to_dict(self) -> dict[str, Any]:
        """The resolved inputs (SI, laws as tables) for summary.json; they parse back
        with :func:`case_from_dict` (``thermocfd post`` relies on that)."""
        return _to_jsonable(self)


def _to_jsonable(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and type(obj).__module__.startswith("thermocfd.physics"):
        return law_to_dict(obj)
    if dataclasses.is_dataclass(obj):
        return {f.name: _to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)
                if not f.metadata.get("internal") and getattr(obj, f.name) is not None}
    if isinstance(obj, (list, tuple)):
        return [_to_jsonable(v) for v in obj]
    return obj


# --- the generic parser ----------------------------------------------------------------
def _reject_unknown(keys, known, prefix: str) -> None:
    for key in sorted(keys):
        if key not in known:
            close = difflib.get_close_matches(key, list(known), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known keys: {', '.join(sorted(known))}"
            full = f"{prefix}.{key}" if prefix else key
            raise CaseError(full, MISSING, f"unknown key{hint}")


def _apply_check(check, number, key: str, raw) -> None:
    if check is not None:
        problem = check(number)
        if problem:
            raise CaseError(key, raw, problem)


def _parse_value(annotation: Any, raw: Any, key: str, metadata: dict) -> Any:
    unit, check = metadata.get("unit", ""), metadata.get("check")
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _parse_value(options[0], raw, key, metadata)
    if origin is Literal:
        choices = typing.get_args(annotation)
        if raw not in choices:
            raise CaseError(key, raw, f"must be one of {', '.join(map(repr, choices))}")
        return raw
    if origin is dict:
        if not isinstance(raw, dict):
            raise CaseError(key, raw, "expected a table of name = integer tag")
        for name, tag in raw.items():
            if isinstance(tag, bool) or not isinstance(tag, int) or tag <= 0:
                raise CaseError(f"{key}.{name}", tag, "expected a positive integer tag")
        return dict(raw)
    if origin is list:
        if not isinstance(raw, list) or len(raw) != 3:
            raise CaseError(key, raw, "expected a vector of 3 components")
        values = [to_si(v, unit, f"{key}[{i}]") for i, v in enumerate(raw)]
        return values
    if annotation is bool:
        if not isinstance(raw, bool):
            raise CaseError(key, raw, "expected true or false")
        return raw
    if annotation is int:
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise CaseError(key, raw, "expected an integer")
        _apply_check(check, raw, key, raw)
        return raw
    if annotation is float:
        number = to_si(raw, unit, key)
        _apply_check(check, number, key, raw)
        return number
    if annotation is str:
        if not isinstance(raw, str):
            raise CaseError(key, raw, "expected a string")
        return raw
    if annotation is Any:
        return raw  # laws: resolved by the section's own parser
    raise TypeError(f"no parser for {annotation!r}")  # pragma: no cover - programming error


def _parse_section(cls: type, table: Any, prefix: str) -> Any:
    if not isinstance(table, dict):
        raise CaseError(prefix, table, "expected a table (a [section] of key = value lines)")
    fields = {f.name: f for f in dataclasses.fields(cls) if not f.metadata.get("internal")}
    _reject_unknown(table.keys(), fields, prefix)
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, f in fields.items():
        key = f"{prefix}.{name}" if prefix else name
        if name not in table:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                if _section_type(hints[name]) is not None:
                    raise CaseError(key, MISSING, f"missing required section [{key}]")
                raise CaseError(key, MISSING, "missing required key")
            continue
        annotation = hints[name]
        section_type = _section_type(annotation)
        if section_type is not None:
            kwargs[name] = _parse_section(section_type, table[name], key)
        else:
            kwargs[name] = _parse_value(annotation, table[name], key, dict(f.metadata))
    return cls(**kwargs)


def _section_type(annotation: Any) -> type | None:
    options = typing.get_args(annotation) if typing.get_origin(annotation) in (typing.Union, types.UnionType) \
        else (annotation,)
    for option in options:
        if isinstance(option, type) and dataclasses.is_dataclass(option):
            return option
    return None


# --- semantic checks across sections -----------------------------------------------------
def _finish(case: Case) -> Case:
    if case.case.kind not in KINDS:
        raise CaseError("case.kind", case.case.kind, f"unknown kind; available: {', '.join(sorted(KINDS))}")
    for section in KINDS[case.case.kind]:
        if getattr(case, section) is None:
            raise CaseError(section, MISSING, f"missing required section [{section}] for case.kind = "
                            f"{case.case.kind!r}")
    if case.case.kind in ("soret_cell", "tracking") and case.geometry.shape != "two_wall_cell":
        raise CaseError("geometry.shape", case.geometry.shape, f"case.kind = {case.case.kind!r} needs a "
                        "'two_wall_cell'")
    fluid = case.fluid
    fluid.viscosity = _parse_law(fluid.viscosity, "fluid.viscosity", VISCOSITY_LAWS, "Pa*s", positive)
    for key, (unit, check, laws) in FLUID_PROPERTY_LAWS.items():
        setattr(fluid, key, _parse_law(getattr(fluid, key), f"fluid.{key}", laws, unit, check))
    if case.solute is not None:
        solute = case.solute
        solute.diffusivity = _parse_law(solute.diffusivity, "solute.diffusivity", DIFFUSIVITY_LAWS,
                                        "m^2/s", positive, extra={"viscosity": fluid.viscosity})
        solute.soret_coefficient = _parse_law(solute.soret_coefficient, "solute.soret_coefficient",
                                              SORET_LAWS, "1/K", None)
    if case.geometry is not None:
        if case.geometry.dimension not in (2, 3):
            raise CaseError("geometry.dimension", case.geometry.dimension, "must be 2 or 3")
    tracking = case.tracking
    if (tracking.particle_radius is None) != (tracking.particle_density is None):
        key = "tracking.particle_density" if tracking.particle_density is None else "tracking.particle_radius"
        raise CaseError(key, MISSING, "sedimentation needs both tracking.particle_radius and "
                        "tracking.particle_density")
    if tracking.sticking_probability > 1:
        raise CaseError("tracking.sticking_probability", tracking.sticking_probability, "must be at most 1")
    if case.particle is not None:
        p = case.particle
        if p.wall_distance is not None and p.wall_distance <= p.radius:
            raise CaseError("particle.wall_distance", p.wall_distance, f"the particle (radius {p.radius:g} m) "
                            "overlaps the wall: the centre-to-wall distance must exceed the radius")
        if case.geometry is not None and case.geometry.length <= 2 * p.radius:
            raise CaseError("geometry.length", case.geometry.length, f"the box must be wider than the "
                            f"particle (diameter {2 * p.radius:g} m)")
    if case.laser is not None:
        g = case.geometry
        if g is None or g.shape != "chamber":
            raise CaseError("laser", MISSING, "a laser heats a geometry.shape = 'chamber'")
        unit = "W" if g.dimension == 3 else "W/m"
        case.laser.power = to_si(case.laser.power, unit, "laser.power")
        _apply_check(positive, case.laser.power, "laser.power", case.laser.power)
        lateral = case.laser.position[: (2 if g.dimension == 3 else 1)]
        if any(abs(p) >= 0.5 * g.length for p in lateral):
            raise CaseError("laser.position", case.laser.position, f"the beam axis is outside the chamber "
                            f"(|x|, |y| must be below geometry.length/2 = {0.5 * g.length:g} m)")
    elif case.geometry is not None and case.geometry.shape == "chamber":
        raise CaseError("laser", MISSING, "a chamber needs a heat source: add a [laser] section")
    if case.geometry is not None and case.geometry.shape == "channel":
        g, heater = case.geometry, case.heater
        if heater is None:
            raise CaseError("heater", MISSING, "a channel needs a [heater] stripe (start, end)")
        if not 0.0 < heater.start < heater.end < g.length:
            raise CaseError("heater.end" if heater.start > 0 else "heater.start",
                            [heater.start, heater.end], f"the heater stripe must lie inside the channel "
                            f"floor (0 < start < end < geometry.length = {g.length:g} m)")
        if g.dimension != 2:
            raise CaseError("geometry.dimension", g.dimension, "the heated channel is a 2D cross-section")
        if case.flow.mean_speed is None:
            raise CaseError("flow.mean_speed", MISSING, "a channel needs the mean inflow speed")
    pictures = case.pictures
    for key in ("temperature_colormap", "concentration_colormap"):
        name = getattr(pictures, key)
        if name not in ("inferno", "viridis"):  # the defaults need no check (and no matplotlib import)
            import matplotlib

            if name not in matplotlib.colormaps:
                raise CaseError(f"pictures.{key}", name, "not a matplotlib colour map (e.g. viridis, magma, "
                                "coolwarm, Blues)")
    if (pictures.concentration_min is not None and pictures.concentration_max is not None
            and pictures.concentration_min >= pictures.concentration_max):
        raise CaseError("pictures.concentration_max", pictures.concentration_max,
                        "must be above pictures.concentration_min")
    if case.mesh.degree not in (1, 2):
        raise CaseError("mesh.degree", case.mesh.degree, "must be 1 or 2")
    if case.mesh.file is not None:
        path = Path(case.mesh.file)
        if not path.is_absolute() and case.source is not None:
            path = Path(case.source).parent / path
            if not path.exists():  # case files name meshes relative to the repo root too
                path = Path(case.mesh.file)
        if not path.exists():
            raise CaseError("mesh.file", case.mesh.file, "file not found")
        case.mesh.file = str(path)
    if case.temperature is not None:
        t = case.temperature
        shape = case.geometry.shape if case.geometry is not None else "two_wall_cell"
        chamber = shape != "two_wall_cell" or case.kind == "phoretic_particle"
        needed = {"chamber": ("ambient",), "channel": ("ambient",)}.get(shape, ("hot", "cold"))
        if case.kind == "phoretic_particle":
            needed = ("reference", "gradient")
        for key in needed:
            if getattr(t, key) is None:
                raise CaseError(f"temperature.{key}", MISSING, f"missing required key for geometry.shape = "
                                f"{case.geometry.shape if case.geometry else 'two_wall_cell'!r}")
        if not chamber and t.hot <= t.cold:
            raise CaseError("temperature.hot", t.hot, f"must be above temperature.cold = {t.cold:g} K")
        water_laws = [name for name in ("viscosity", *FLUID_PROPERTY_LAWS)
                      if type(getattr(fluid, name)).__name__.startswith("Water")]
        if water_laws:
            for key in needed:
                value = getattr(t, key)
                if isinstance(value, list):
                    continue
                if not 273.0 <= value <= 373.0:
                    raise CaseError(f"temperature.{key}", value, "outside 273-373 K, the range of the water "
                                    f"correlations used for fluid.{', fluid.'.join(water_laws)}")
    return case


# --- entry points ----------------------------------------------------------------------
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
    case = _parse_section(Case, raw, "")
    case.source = source
    return _finish(case)


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
