"""Built-in geometries as presets: a mesh with named regions and boundaries plus default
conditions, the same thing an imported mesh (``mesh.file``) with a ``[boundary]`` and
``[region]`` table gives.

Each preset is registered under its ``geometry.shape``; :func:`resolve` (called by the
case loader) checks a validated case across sections and fills the preset's default
conditions into ``case.boundary`` and ``case.region``, so that summary.json's resolved
inputs say exactly what ran. :func:`build_domain` makes the mesh. Nothing here reads TOML.
"""

from __future__ import annotations

from .case import (CONDITIONAL_KEYS, FILE_TEMPERATURES, KIND_USAGE, SHAPE_TEMPERATURES, BoundarySpec, Case,
                   RegionSpec, condition_families, reject_inactive)
from . import plausibility
from .errors import MISSING, CaseError

PRESETS: dict[str, "Preset"] = {}


def register(cls):
    PRESETS[cls.shape] = cls()
    return cls


class Preset:
    """A built-in geometry: names, default conditions, checks and the mesh builder."""

    shape: str = ""

    def boundaries(self, case: Case) -> list[str]:
        raise NotImplementedError

    def regions(self, case: Case) -> dict[str, dict]:
        return {"fluid": {"material": "fluid"}}

    def default_conditions(self, case: Case) -> dict[str, dict]:
        """{boundary: {family: spec table}} for the families the kind uses."""
        raise NotImplementedError

    def interior(self, case: Case) -> set[str]:
        """Boundaries that are interfaces inside the mesh (heaters between two materials)."""
        return set()

    def check(self, case: Case) -> None:
        """Cross-section checks of the geometry's inputs."""

    def build(self, case: Case):
        raise NotImplementedError


def _wall_defaults(names, thermal: dict | None) -> dict[str, dict]:
    """No-slip, no-flux, reflecting walls with one thermal condition (None: insulated)."""
    out = {}
    for name in names:
        out[name] = {"thermal": thermal or {"type": "insulated"}, "flow": {"type": "no_slip"},
                     "solute": {"type": "no_flux"}, "particles": {"type": "reflect"}}
    return out


@register
class TwoWallCell(Preset):
    shape = "two_wall_cell"

    def boundaries(self, case):
        return ["hot", "cold", "walls"]

    def default_conditions(self, case):
        t = case.temperature
        out = _wall_defaults(["walls"], None)
        out.update(_wall_defaults(["hot"], {"type": "temperature", "value": t.hot}))
        out.update(_wall_defaults(["cold"], {"type": "temperature", "value": t.cold}))
        if case.kind == "thermoosmotic_flow":  # an open channel: the ends are traction-free
            out["hot"]["flow"] = out["cold"]["flow"] = {"type": "pressure", "value": 0.0}
        return out

    def check(self, case):
        t = case.temperature
        if t.hot <= t.cold:
            raise CaseError("temperature.hot", t.hot, f"must be above temperature.cold = {t.cold:g} K")

    def build(self, case):
        from .fem.mesh import two_wall_cell

        g = case.geometry
        height = g.height if g.height is not None else 0.25 * g.length
        depth = None if g.dimension == 2 else (g.depth if g.depth is not None else 0.25 * g.length)
        if case.kind == "thermoosmotic_flow":
            return _thermoosmotic_channel(case, height)
        return two_wall_cell(g.length, height, depth, case.mesh.resolution)


def _thermoosmotic_channel(case: Case, height: float):
    """The structured channel of the thermo-osmotic flow kind (scaled by its height)."""
    import numpy as np

    from .fem.mesh import structured_domain

    g = case.geometry
    n_across = max(4, int(round(8 * case.mesh.resolution)))
    n_along = max(8, int(round(n_across * g.length / height)))
    sides = {"hot": lambda x: np.isclose(x[0], 0.0), "cold": lambda x: np.isclose(x[0], g.length / height),
             "walls": lambda x: np.isclose(x[1], 0.0) | np.isclose(x[1], 1.0)}
    return structured_domain([g.length / height, 1.0], [n_along, n_across], sides, length_scale=height)


@register
class Chamber(Preset):
    shape = "chamber"

    def boundaries(self, case):
        return ["bottom", "top", "sides"]

    def default_conditions(self, case):
        return _wall_defaults(self.boundaries(case), {"type": "temperature", "value": case.temperature.ambient})

    def check(self, case):
        if case.laser is None:
            raise CaseError("laser", MISSING, "a chamber needs a heat source: add a [laser] section")

    def build(self, case):
        from .fem.mesh import chamber

        g = case.geometry
        height = g.height if g.height is not None else 0.25 * g.length
        return chamber(g.length, height, g.dimension, case.mesh.resolution, case.laser.position[:2],
                       case.laser.waist)


@register
class Channel(Preset):
    shape = "channel"

    def boundaries(self, case):
        return ["inlet", "outlet", "heater", "walls"]

    def default_conditions(self, case):
        ambient = {"type": "temperature", "value": case.temperature.ambient}
        out = _wall_defaults(["walls", "heater"], ambient)
        out["heater"]["thermal"] = None  # the heater's power is the user's
        out["inlet"] = {"thermal": ambient, "flow": None,
                        "solute": {"type": "concentration", "value": case.solute.initial_concentration}}
        out["outlet"] = {"thermal": {"type": "insulated"}, "flow": {"type": "outflow", "value": 0.0},
                         "solute": {"type": "outflow"}}
        return out

    def check(self, case):
        g = case.geometry
        if not 0.0 < g.heater_start < g.heater_end < g.length:
            raise CaseError("geometry.heater_end" if g.heater_start > 0 else "geometry.heater_start",
                            [g.heater_start, g.heater_end], f"the heater stripe must lie inside the channel "
                            f"floor (0 < heater_start < heater_end < geometry.length = {g.length:g} m)")

    def build(self, case):
        from .fem.mesh import heated_channel

        g = case.geometry
        height = g.height if g.height is not None else 0.25 * g.length
        return heated_channel(g.length, height, (g.heater_start, g.heater_end), case.mesh.resolution)


@register
class Chip(Preset):
    shape = "chip"

    def heaters(self, case):
        return [f"heater_{i}" for i in range(1, len(case.geometry.heaters) + 1)]

    def boundaries(self, case):
        names = ["inlet", "outlet", "glass_bottom", "pdms_top", "outer_sides", "channel_walls", *self.heaters(case)]
        return names + (["posts"] if case.geometry.posts else [])

    def regions(self, case):
        return {"fluid": {"material": "fluid"}, "glass": {"material": "borosilicate"},
                "pdms": {"material": "pdms"}}

    def default_conditions(self, case):
        ambient = case.temperature.ambient
        outside = {"type": "convective", "coefficient": 10.0, "ambient": ambient}
        out = {name: {"thermal": outside} for name in ("glass_bottom", "pdms_top", "outer_sides")}
        # the liquid enters at the chip's own temperature: at microfluidic speeds conduction
        # along the channel outruns advection (thermal Peclet number << 1), so a cut inlet
        # held at ambient would be an artificial heat sink
        out["inlet"] = {"thermal": {"type": "insulated"}, "flow": None,
                        "solute": {"type": "concentration", "value": case.solute.initial_concentration}}
        out["outlet"] = {"thermal": {"type": "insulated"}, "flow": {"type": "outflow", "value": 0.0},
                         "solute": {"type": "outflow"}}
        for name in self.heaters(case):
            out[name] = {"thermal": None}  # the user's: a heater's power
        for name in self.interior(case) - set(self.heaters(case)):
            out[name] = {}  # liquid-solid interfaces: heat conducts through, the liquid is at rest there
        return out

    def interior(self, case):
        return {"channel_walls", *self.heaters(case), *(["posts"] if case.geometry.posts else [])}

    def check(self, case):
        g = case.geometry
        for i, (start, end) in enumerate(g.heaters):
            if not 0.0 <= start < end <= g.channel_length:
                raise CaseError(f"geometry.heaters[{i}]", [start, end], f"the stripe must lie along the channel "
                                f"(0 <= start < end <= channel_length = {g.channel_length:g} m)")
        for i, (x, y, r) in enumerate(g.posts):
            if not (r > 0 and r < x < g.channel_length - r and abs(y) + r < 0.5 * g.channel_width):
                raise CaseError(f"geometry.posts[{i}]", [x, y, r], "the post must lie inside the channel "
                                "(radius > 0, clear of the side walls, inlet and outlet)")
        if g.dimension == 2 and g.posts:
            raise CaseError("geometry.posts", g.posts, "posts need a 3D chip (geometry.dimension = 3)")
        if case.tracking.enabled:
            raise CaseError("tracking.enabled", True, "the tracker's walls are the faces of the box around the "
                            "mesh: in a chip the particles would wander into the glass and PDMS (not supported)")

    def build(self, case):
        from .fem.chip_mesh import pdms_glass_chip

        g = case.geometry
        domain = pdms_glass_chip(g.channel_width, g.channel_height, g.channel_length, g.glass_thickness,
                                 g.pdms_thickness, g.margin, heaters=[tuple(h) for h in g.heaters],
                                 heater_width=g.heater_width, posts=[tuple(p) for p in g.posts],
                                 dimension=g.dimension, resolution=case.mesh.resolution)
        if g.dimension == 2:  # the x-z section through the channel: a flow rate fills its width
            domain.metadata["depth"] = g.channel_width
        return domain


@register
class ParticleBox(Preset):
    shape = "particle_box"

    def boundaries(self, case):
        return []

    def regions(self, case):
        return {}

    def default_conditions(self, case):
        return {}

    def check(self, case):
        p, g = case.particle, case.geometry
        if p.wall_distance is not None and p.wall_distance <= p.radius:
            raise CaseError("particle.wall_distance", p.wall_distance, f"the particle (radius {p.radius:g} m) "
                            "overlaps the wall: the centre-to-wall distance must exceed the radius")
        if g.length is not None and g.length <= 2 * p.radius:
            raise CaseError("geometry.length", g.length, f"the box must be wider than the particle "
                            f"(diameter {2 * p.radius:g} m)")
        if p.position is not None:
            raise CaseError("particle.position", p.position, "not used by geometry.shape 'particle_box' (the "
                            "particle sits at the box centre, or at (0, 0, wall_distance) near a wall)")
        if g.height is not None and p.wall_distance is None:
            raise CaseError("geometry.height", g.height, "not used without particle.wall_distance (the box "
                            "around a free particle is a cube of edge geometry.length)")

    def build(self, case):
        from .fem.particle_mesh import particle_near_wall, sphere_in_box

        p, g = case.particle, case.geometry
        edge = g.length if g.length is not None else 12.0 * p.radius
        if p.wall_distance is None:
            # the sizes of the verification tests (Anderson within 0.6 %), refined by resolution
            return sphere_in_box(p.radius, 0.5 * edge, surface_size=0.35 * p.radius, far_size=2.0 * p.radius,
                                 resolution=case.mesh.resolution)
        return particle_near_wall(p.radius, p.wall_distance, half_width=0.5 * edge, height=g.height,
                                  surface_size=0.35 * p.radius, far_size=2.0 * p.radius,
                                  resolution=case.mesh.resolution)


@register
class Wafer(Preset):
    """The heated wafer under a showerhead (kind 'aerosol'): particles deposit on the wafer
    and leave through the showerhead (back-diffusion) and the open sides."""

    shape = "wafer"

    def boundaries(self, case):
        return ["wafer", "showerhead", "sides"]

    def default_conditions(self, case):
        return {"wafer": {"particles": {"type": "adsorb"}}, "showerhead": {"particles": {"type": "exit"}},
                "sides": {"particles": {"type": "exit"}}}

    def check(self, case):
        if case.aerosol is None:
            raise CaseError("aerosol", MISSING, "missing required section [aerosol] (with diameter = ...)")
        t = case.temperature
        if t.hot <= t.cold:
            raise CaseError("temperature.hot", t.hot, f"must be above temperature.cold = {t.cold:g} K (the wafer "
                            "is heated)")
        release = case.aerosol.release_height
        if release is not None and release >= case.geometry.gap:
            raise CaseError("aerosol.release_height", release, f"must be below geometry.gap = {case.geometry.gap:g} m")

    def build(self, case):
        """A structured x-y section scaled by the gap, x in [0, W/H]: T depends on the height
        alone, so 60 cells across the gap (times mesh.resolution) and few along x suffice."""
        import numpy as np

        from .fem.mesh import structured_domain

        g = case.geometry
        n_gap = max(8, int(round(60 * case.mesh.resolution)))
        n_width = max(4, int(np.ceil(4 * case.mesh.resolution * g.width / g.gap)))
        sides = {"wafer": lambda x: np.isclose(x[1], 0.0), "showerhead": lambda x: np.isclose(x[1], 1.0),
                 "sides": lambda x: np.isclose(x[0], 0.0) | np.isclose(x[0], g.width / g.gap)}
        return structured_domain([g.width / g.gap, 1.0], [n_width, n_gap], sides, length_scale=g.gap)


@register
class Capillary(Preset):
    """The MST capillary: the quarter tube (thermocfd.fem.capillary_mesh), two mirror planes."""

    shape = "capillary"

    def boundaries(self, case):
        return ["outer", "ends", "mid_plane", "axial_plane", "inner_wall"]

    def regions(self, case):
        return {"buffer": {"material": "fluid"}, "glass": {"material": "borosilicate"}}

    def default_conditions(self, case):
        ambient = case.temperature.ambient
        mirror = {"thermal": {"type": "insulated"}, "flow": {"type": "symmetry"}}
        # in the instrument the tube is pressed onto a tray held at the set temperature: the
        # limit of good contact is the glass's outside at that temperature (a tube in air:
        # [boundary.outer] thermal = {type = "convective", ...}); far from the focus (the cut
        # ends, where the tube goes on) it is at that temperature too
        return {"outer": {"thermal": {"type": "temperature", "value": ambient}},
                "ends": {"thermal": {"type": "temperature", "value": ambient}, "flow": {"type": "no_slip"}},
                "mid_plane": mirror, "axial_plane": mirror, "inner_wall": {}}

    def interior(self, case):
        return {"inner_wall"}

    def check(self, case):
        g = case.geometry
        if case.mst is not None and case.mst.waist >= 0.5 * g.inner_diameter:
            raise CaseError("mst.waist", case.mst.waist, f"the IR focus must be narrower than the capillary "
                            f"(inner radius {0.5 * g.inner_diameter:g} m)")
        if g.length < 2.0 * g.inner_diameter:
            raise CaseError("geometry.length", g.length, "model at least two inner diameters of the tube (the "
                            "heated spot spreads over about one)")

    def build(self, case):
        from .fem.capillary_mesh import glass_capillary

        g = case.geometry
        return glass_capillary(0.5 * g.inner_diameter, g.wall_thickness, g.length, case.mst.waist,
                               resolution=case.mesh.resolution)


# --- resolving a case ----------------------------------------------------------------------------
def _merge(defaults: dict[str, dict], given: dict[str, BoundarySpec], families: set[str], names: list[str],
           interior: set[str]) -> dict[str, BoundarySpec]:
    for name in given:
        if name not in names:
            close = [n for n in names if n.startswith(name[:3])]
            raise CaseError(f"boundary.{name}", MISSING, f"the geometry has no boundary {name!r} (it has: "
                            f"{', '.join(names)})" + (f"; did you mean {close[0]!r}?" if close else ""))
        for family in ("flow", "solute", "particles"):
            if name in interior and getattr(given[name], family) is not None:
                raise CaseError(f"boundary.{name}.{family}", MISSING, f"{name!r} is an interface inside the "
                                "chip; only a thermal condition (a heater) acts there")
    out = {}
    for name in names:
        table = {family: spec for family, spec in defaults.get(name, {}).items() if family in families}
        if name in given:
            table.update({family: getattr(given[name], family).model_dump()
                          for family in families if getattr(given[name], family) is not None})
        for family, spec in table.items():
            if spec is None:
                what = {"thermal": "a heater needs its power: thermal = {type = 'heat_flux', value = ...} or "
                                   "{type = 'heater_power', power = ...}",
                        "flow": "an inlet needs its flow: flow = {type = 'inflow', mean_speed = ...} or "
                                "flow_rate = ..."}[family]
                raise CaseError(f"boundary.{name}.{family}", MISSING, what)
        out[name] = BoundarySpec.model_validate(table)
    return out


def _common_checks(case: Case) -> None:
    tracking = case.tracking
    if (tracking.particle_radius is None) != (tracking.particle_density is None):
        key = "tracking.particle_density" if tracking.particle_density is None else "tracking.particle_radius"
        raise CaseError(key, MISSING, "sedimentation needs both tracking.particle_radius and "
                        "tracking.particle_density")
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
    if case.mesh.file is not None:
        from pathlib import Path

        path = Path(case.mesh.file)
        if not path.is_absolute() and case.source is not None:
            beside = Path(case.source).parent / path
            path = beside if beside.exists() else path  # case files name meshes relative to the repo root too
        if not path.exists():
            raise CaseError("mesh.file", case.mesh.file, "file not found")
        case.mesh.file = str(path)


def _temperature_checks(case: Case) -> None:
    needed = FILE_TEMPERATURES[case.kind] if case.shape is None else SHAPE_TEMPERATURES[case.shape]
    if case.temperature is None:
        raise CaseError("temperature", MISSING, f"missing required section [temperature] (with "
                        f"{', '.join(needed)})")
    t = case.temperature
    owner = "a mesh file" if case.shape is None else f"geometry.shape = {case.shape!r}"
    for key in needed:
        if getattr(t, key) is None:
            raise CaseError(f"temperature.{key}", MISSING, f"missing required key for {owner}")
    fluid = case.fluid
    water_laws = [name for name in ("viscosity", "density", "thermal_conductivity", "heat_capacity",
                                    "thermal_expansion")
                  if type(getattr(fluid, name)).__name__.startswith("Water") and _fluid_key_used(case, name)]
    for key in needed:
        value = getattr(t, key)
        if water_laws and not isinstance(value, list) and not 273.0 <= value <= 373.0:
            raise CaseError(f"temperature.{key}", value, "outside 273-373 K, the range of the water "
                            f"correlations used for fluid.{', fluid.'.join(water_laws)}")


def _case_dimension(case: Case) -> int:
    return case.dimension if case.geometry is not None else _file_dimension(case.mesh.file)


def _convert_powers(case: Case) -> None:
    """Heater and Joule powers are W in 3D and W per metre of depth in 2D."""
    from .units import to_si

    entries = [(f"boundary.{name}.thermal", spec.thermal) for name, spec in case.boundary.items()
               if spec.thermal is not None and spec.thermal.type == "heater_power"]
    entries += [(f"region.{name}.heat_source", spec.heat_source) for name, spec in case.region.items()
                if spec.heat_source is not None and spec.heat_source.type == "joule"]
    if not entries:
        return
    unit = "W" if _case_dimension(case) == 3 else "W/m"
    for key, owner in entries:
        owner.power = to_si(owner.power, unit, f"{key}.power")
        if owner.power <= 0:
            raise CaseError(f"{key}.power", owner.power, "must be positive")


def _laser_checks(case: Case) -> None:
    from .units import to_si

    laser = case.laser
    if laser is None:
        return
    if case.shape not in ("chamber", "chip", None):
        raise CaseError("laser", MISSING, "a laser heats a geometry.shape = 'chamber' or 'chip' (or a mesh file)")
    dimension = _case_dimension(case)
    unit = "W" if dimension == 3 else "W/m"
    if not isinstance(laser.power, float):
        laser.power = to_si(laser.power, unit, "laser.power")
    if laser.power <= 0:
        raise CaseError("laser.power", laser.power, "must be positive")
    if case.shape == "chamber":
        half = 0.5 * case.geometry.length
        lateral = laser.position[: (2 if dimension == 3 else 1)]
        if any(abs(p) >= half for p in lateral):
            raise CaseError("laser.position", laser.position, f"the beam axis is outside the chamber (|x|, |y| "
                            f"must be below geometry.length/2 = {half:g} m)")


def _file_dimension(path: str) -> int:
    """The dimension of a mesh file's cells (a laser's power unit depends on it)."""
    from .fem.mesh import mesh_file_dimension

    return mesh_file_dimension(path)


def _fluid_key_used(case: Case, key: str) -> bool:
    used = KIND_USAGE[case.kind].get("fluid", set())
    if used != "all" and key not in used:
        return False
    return all(rule(case) for kinds, section, name, rule, _ in CONDITIONAL_KEYS
               if case.kind in kinds and section == "fluid" and name == key)


def resolve(case: Case) -> Case:
    """Cross-section checks, then the preset's default conditions merged under the user's."""
    _common_checks(case)
    reject_inactive(case)
    if case.kind != "phoretic_particle" or case.temperature is not None:
        _temperature_checks(case)
    if case.kind == "mst" and case.mst is None:
        from .case import MSTSection

        case.mst = MSTSection()  # the instrument's defaults
    if case.kind in ("soret_cell", "tracking", "convection", "mst") and case.solute is None:
        raise CaseError("solute", MISSING, f"missing required section [solute] for case.kind = {case.kind!r}")
    if case.kind == "phoretic_particle" and case.particle is None:
        raise CaseError("particle", MISSING, "missing required section [particle] for case.kind = "
                        "'phoretic_particle'")
    _laser_checks(case)
    _convert_powers(case)
    if case.solute is not None:
        case.solute.bind_viscosity(case.fluid.viscosity)
    if case.shape is None:
        plausibility.check(case)
        return case  # names are checked against the mesh when it is read (build_domain)
    preset = PRESETS[case.shape]
    preset.check(case)
    families = condition_families(case)
    interior = preset.interior(case)
    if families:
        case.boundary = _merge(preset.default_conditions(case), case.boundary, families, preset.boundaries(case),
                               interior)
    if "region" in KIND_USAGE[case.kind]:
        regions = preset.regions(case)
        for name in case.region:
            if name not in regions:
                raise CaseError(f"region.{name}", MISSING, f"the geometry has no region {name!r} (it has: "
                                f"{', '.join(regions)})")
            if case.region[name].is_fluid != (regions[name]["material"] == "fluid"):
                raise CaseError(f"region.{name}.material", case.region[name].material, f"region {name!r} of "
                                f"geometry.shape {case.shape!r} is {'the liquid' if regions[name]['material'] == 'fluid' else 'a solid'}")
        case.region = {name: case.region.get(name) or RegionSpec.model_validate(spec) for name, spec in regions.items()}
    if case.kind == "thermoosmotic_flow" and not any(
            spec.flow is not None and spec.flow.type == "slip" for spec in case.boundary.values()):
        raise CaseError("boundary", MISSING, "kind 'thermoosmotic_flow' needs a slipping wall, e.g. "
                        "[boundary.walls] flow = {type = 'slip', slip_coefficient = '3e-10 m^2/(s*K)'}")
    plausibility.check(case)
    return case


def build_domain(case: Case):
    """The mesh of a case: its preset's builder or the user's file (names checked)."""
    if case.shape is not None:
        return PRESETS[case.shape].build(case)
    from .fem.mesh import read_mesh

    m = case.mesh
    domain = read_mesh(m.file, unit=m.unit, names=m.tags)
    for name in case.boundary:
        if name not in domain.boundaries:
            raise CaseError(f"boundary.{name}", MISSING, f"the mesh file has no boundary {name!r} (it has: "
                            f"{', '.join(sorted(domain.boundaries)) or 'none'})")
    for name in case.region:
        if name not in domain.regions:
            raise CaseError(f"region.{name}", MISSING, f"the mesh file has no region {name!r} (it has: "
                            f"{', '.join(sorted(domain.regions)) or 'none'})")
    return domain


def boundary_conditions(case: Case, domain) -> dict[str, BoundarySpec]:
    """Every boundary of the domain with its conditions: a preset's resolved table, or for
    a mesh file the user's entries with insulated / no-slip / no-flux / reflecting walls
    elsewhere (and the two-wall cell's hot/cold temperatures where those names exist)."""
    if case.shape is not None:
        return case.boundary
    families = condition_families(case)
    defaults: dict[str, dict] = _wall_defaults(sorted(domain.boundaries), None)
    t = case.temperature
    for name in ("hot", "cold"):
        if t is not None and getattr(t, name, None) is not None and name in domain.boundaries:
            defaults[name]["thermal"] = {"type": "temperature", "value": getattr(t, name)}
    return _merge(defaults, case.boundary, families, sorted(domain.boundaries), set())


def region_properties(case: Case, domain) -> dict[str, RegionSpec]:
    """Every region of the domain with its material: the case's (resolved) table; a region
    it does not name (a mesh file's, or any region of a kind without a [region] table) is
    liquid."""
    return {name: case.region.get(name) or RegionSpec(material="fluid") for name in sorted(domain.regions)}

