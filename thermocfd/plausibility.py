"""Plausibility before work: values that pass the type checks but cannot be meshed or
solved are refused at validation, with a :class:`~thermocfd.errors.CaseError` naming the
key, the value, the range that works and why.

Called at the end of :func:`thermocfd.presets.resolve` (no dolfinx, no mesh is built).
:func:`estimate` gives the cell, dof and memory estimate for the pipelines to log.

Bounds and why:

* geometry lengths within [1 nm, 1 m]: a continuum model of a liquid in a microfluidic
  device; below a nanometre the liquid is not a continuum, above a metre it is no longer a
  microfluidic chip (and the mesh would be unresolvable at the micrometre features).
  Within one geometry the smallest length must be at least 1e-6 of the largest: the
  builders put at least 2-4 cells across the smallest length, so a smaller ratio means
  cells flatter than 1:1e6 (the assembled matrices lose all digits) or more than 1e6
  cells along the longest edge.
* mesh.resolution within [0.01, 50]: 50 is 1200 cells along a two-wall cell (about 3e9
  tetrahedra in 3D); below 0.01 every builder clamps to its minimum cell counts or makes
  cells larger than the domain.
* temperatures at most 1e4 K (above it no liquid exists; the laws are fitted near 300 K).
* diffusivities, viscosities, thermal conductivities (and densities, heat capacities)
  finite and within [1e-30, 1e30] in SI: products and squares of them appear in the forms
  and in the mass matrix scaling, and overflow or underflow double precision outside.
* the Soret potential Phi = int S_T dT over the temperature span of the case at most
  700 in magnitude: the Slotboom weight exp(-(Phi(T) - Phi(T_ref))) overflows double
  precision above exp(709). For heater- or laser-driven geometries the span is not known
  before the solve: validation asks that a rise of 1 K above the known temperatures stays
  below the limit (|S_T| below ~700/K, which every measured colloid is), and the
  convection pipeline checks the computed span before the solute is solved.
* the solver's memory estimate (see :func:`estimate`) at most the machine's memory
  (``MemTotal`` of /proc/meminfo) or ``solver.max_memory`` where the kind reads it.
"""

from __future__ import annotations

import math
from typing import Any

from .errors import CaseError

MIN_LENGTH = 1e-9
MAX_LENGTH = 1.0
MIN_LENGTH_RATIO = 1e-6
MIN_RESOLUTION = 0.01
MAX_RESOLUTION = 50.0
MAX_TEMPERATURE = 1e4
MIN_COEFFICIENT = 1e-30
MAX_COEFFICIENT = 1e30
MAX_SORET_EXPONENT = 700.0

# Measured on the 2-core development machine (/usr/bin/time -v, maximum resident set size,
# `thermocfd run` of a Soret cell, direct MUMPS LU):
#   3D, two_wall_cell resolution 5 (648,000 tetrahedra, 116,281 P1 dofs): 2.41 GB peak,
#       45.9 s wall;
#   2D, resolution 40 (460,800 triangles, 231,601 P1 dofs): 1.05 GB peak, 15.5 s wall;
#   taking 0.35 GB for the interpreter with dolfinx, PETSc and the JIT loaded (an
#   assumption; `thermocfd check` alone peaks at 0.06 GB)
# -> MUMPS (with the mesh, forms and factors) takes about 17.7 kB per dof in 3D at 1.2e5
#    dofs, 3.0 kB per dof in 2D at 2.3e5 dofs. Fill in nested-dissection LU grows like N^(4/3) in 3D
#    and N log N in 2D; the estimate scales from the measured point that way.
BASE_BYTES = 0.35e9
BYTES_PER_DOF_3D, DOFS_3D = 17.7e3, 1.16e5
BYTES_PER_DOF_2D, DOFS_2D = 3.0e3, 2.32e5
# cells per h^d of a gmsh Delaunay mesh of size h (equilateral: 2.3 triangles, 8.5 tets)
TRIANGLES_PER_H2 = 2.3
TETS_PER_H3 = 8.5


def check(case) -> None:
    """Refuse values that cannot be meshed or solved (CaseError naming the key)."""
    _check_resolution(case)
    _check_lengths(case)
    _check_temperatures(case)
    _check_coefficients(case)
    _check_soret(case)
    _check_memory(case)


# --- geometry ----------------------------------------------------------------------------
def _lengths(case) -> dict[str, float]:
    g = case.geometry
    if g is None:
        return {}
    out = {}
    for key, value in g.model_dump().items():
        if isinstance(value, float) and key not in ("heater_start",):
            out[f"geometry.{key}"] = value
    if case.shape == "chip":
        for i, (start, end) in enumerate(g.heaters):
            out[f"geometry.heaters[{i}]"] = end - start
        for i, (_, _, radius) in enumerate(g.posts):
            out[f"geometry.posts[{i}]"] = radius
    if case.shape == "channel":
        out["geometry.heater_end"] = g.heater_end - g.heater_start
    if case.shape == "chamber" and case.laser is not None:
        out["laser.waist"] = case.laser.waist
    if case.shape == "particle_box" and case.particle is not None:
        out["particle.radius"] = case.particle.radius
        if case.particle.wall_distance is not None:
            out["particle.wall_distance"] = case.particle.wall_distance - case.particle.radius
    return {key: value for key, value in out.items() if value > 0}


def _check_lengths(case) -> None:
    lengths = _lengths(case)
    for key, value in lengths.items():
        if not MIN_LENGTH <= value <= MAX_LENGTH:
            raise CaseError(key, value, f"outside {MIN_LENGTH:g}-{MAX_LENGTH:g} m: the continuum model of a "
                            "microfluidic device works from a nanometre (a liquid is no continuum below) to a "
                            "metre (no microfluidic chip is larger, and its micrometre features could not be "
                            "meshed)")
    if len(lengths) > 1:
        largest_key = max(lengths, key=lengths.get)
        largest = lengths[largest_key]
        for key, value in lengths.items():
            if value < MIN_LENGTH_RATIO * largest:
                raise CaseError(key, value, f"below {MIN_LENGTH_RATIO:g} of {largest_key} = {largest:g} m: a mesh "
                                "with cells across both lengths would need cells flatter than 1:1e6 or over 1e6 "
                                "cells along the longest edge; keep the ratio of the lengths of one geometry "
                                "above 1e-6")


def _check_resolution(case) -> None:
    r = case.mesh.resolution
    if case.mesh.file is None and not MIN_RESOLUTION <= r <= MAX_RESOLUTION:
        raise CaseError("mesh.resolution", r, f"outside {MIN_RESOLUTION:g}-{MAX_RESOLUTION:g}: 1 is the default "
                        "mesh, 50 already puts 1200 cells along a two-wall cell (about 3e9 tetrahedra in 3D), and "
                        "below 0.01 the builders' minimum cell counts or cells larger than the domain take over")


# --- temperatures and coefficients -------------------------------------------------------
def _known_temperatures(case) -> dict[str, float]:
    out = {}
    t = case.temperature
    if t is not None:
        for key in ("hot", "cold", "ambient", "reference"):
            value = getattr(t, key)
            if value is not None:
                out[f"temperature.{key}"] = value
    for name, spec in case.boundary.items():
        thermal = spec.thermal
        if thermal is None:
            continue
        if thermal.type == "temperature":
            out[f"boundary.{name}.thermal.value"] = thermal.value
        elif thermal.type == "convective":
            out[f"boundary.{name}.thermal.ambient"] = thermal.ambient
    return out


def _check_temperatures(case) -> None:
    for key, value in _known_temperatures(case).items():
        if value > MAX_TEMPERATURE:
            raise CaseError(key, value, f"above {MAX_TEMPERATURE:g} K: no liquid exists there (and the property "
                            "laws are fitted near room temperature)")


HEATED_RISE = 1.0  # K: the least a heater- or laser-driven case warms above its known temperatures


def temperature_range(case) -> tuple[float, float] | None:
    """(T_min, T_max) known before the solve: the case's fixed temperatures, and for
    heater- or laser-driven geometries at least a rise of HEATED_RISE above them."""
    known = list(_known_temperatures(case).values())
    if not known:
        return None
    low, high = min(known), max(known)
    heated = case.laser is not None or case.shape in ("chamber", "channel", "chip") or any(
        spec.thermal is not None and spec.thermal.type in ("heat_flux", "heater_power")
        for spec in case.boundary.values()) or any(spec.heat_source is not None for spec in case.region.values())
    if heated:
        high = high + HEATED_RISE
    return low, high


def _law_values(law, method: str, temperatures) -> list[float]:
    values = []
    for T in temperatures:
        try:
            values.append(float(getattr(law, method)(T)))
        except (OverflowError, ZeroDivisionError, ValueError):
            values.append(math.inf)
    return values


def _coefficient_laws(case):
    fluid = case.fluid
    yield "fluid.viscosity", fluid.viscosity, "viscosity", "Pa s"
    yield "fluid.thermal_conductivity", fluid.thermal_conductivity, "at", "W/(m K)"
    yield "fluid.density", fluid.density, "at", "kg/m^3"
    yield "fluid.heat_capacity", fluid.heat_capacity, "at", "J/(kg K)"
    if case.solute is not None:
        if case.solute.states:
            for name, spec in case.solute.states.items():
                yield f"solute.states.{name}.diffusivity", spec.diffusivity, "diffusivity", "m^2/s"
        else:
            yield "solute.diffusivity", case.solute.diffusivity, "diffusivity", "m^2/s"


def _samples(case) -> list[float]:
    span = temperature_range(case)
    if span is None:
        return [293.15]
    low, high = span
    return [low + (high - low) * i / 8 for i in range(9)]


def _check_coefficients(case) -> None:
    temperatures = _samples(case)
    for key, law, method, unit in _coefficient_laws(case):
        if type(law).__name__.startswith("Water"):
            continue  # the water correlations: checked against 273-373 K by the case loader
        for value in _law_values(law, method, temperatures):
            if not (math.isfinite(value) and MIN_COEFFICIENT <= abs(value) <= MAX_COEFFICIENT):
                raise CaseError(key, _shown(law), f"evaluates to {value:g} {unit} in the case's temperature range "
                                f"{temperatures[0]:g}-{temperatures[-1]:g} K: it must be finite and within "
                                f"{MIN_COEFFICIENT:g}-{MAX_COEFFICIENT:g} in SI, or its products in the forms "
                                "overflow or underflow double precision")
    numbers = []
    if case.particle is not None:
        numbers.append(("particle.thermal_conductivity", case.particle.thermal_conductivity))
    for name, spec in case.region.items():
        for key in ("thermal_conductivity", "density", "heat_capacity"):
            numbers.append((f"region.{name}.{key}", getattr(spec, key)))
    for key, value in numbers:
        if value is not None and not MIN_COEFFICIENT <= abs(value) <= MAX_COEFFICIENT:
            raise CaseError(key, value, f"outside {MIN_COEFFICIENT:g}-{MAX_COEFFICIENT:g} in SI: its products in "
                            "the forms overflow or underflow double precision")


def _shown(law):
    value = getattr(law, "value", None)
    return value if value is not None else law


def _check_soret(case) -> None:
    if case.solute is None:
        return
    span = temperature_range(case)
    if span is None:
        return
    law = case.solute.soret_law
    check_soret_span(law, *span, heated=span[1] not in _known_temperatures(case).values())


def check_soret_span(law, T_min: float, T_max: float, heated: bool = False) -> None:
    """Refuse a Soret law whose potential int S_T dT changes by more than the Slotboom
    weight can hold over [T_min, T_max] (also called with the computed temperatures)."""
    temperatures = [T_min + (T_max - T_min) * i / 16 for i in range(17)]
    potentials = _law_values(law, "soret_potential", temperatures)
    exponent = max(potentials) - min(potentials) if all(map(math.isfinite, potentials)) else math.inf
    if not exponent <= MAX_SORET_EXPONENT:
        why = f" (heater-driven: at least {HEATED_RISE:g} K above the fixed temperatures)" if heated else ""
        raise CaseError("solute.soret_coefficient", _shown(law), f"the Soret potential int S_T dT changes by "
                        f"{exponent:g} over the temperatures {T_min:g}-{T_max:g} K{why}: the Slotboom "
                        f"weight exp(-int S_T dT) overflows double precision above {MAX_SORET_EXPONENT:g}; "
                        f"|S_T| x temperature span must stay below {MAX_SORET_EXPONENT:g}")


# --- size of the problem -------------------------------------------------------------------
def _cells(case) -> tuple[float, int] | None:
    """Estimated cell count and dimension of a preset's mesh (None for a mesh file)."""
    g, r = case.geometry, case.mesh.resolution
    if g is None:
        return None
    shape = case.shape
    if shape == "two_wall_cell":
        height = g.height if g.height is not None else 0.25 * g.length
        if case.kind == "thermoosmotic_flow":  # presets._thermoosmotic_channel: dolfinx triangles
            n_across = max(4, int(round(8 * r)))
            n_along = max(8, int(round(n_across * g.length / height)))
            return 2.0 * n_across * n_along, 2
        nx = max(2, math.ceil(24 * r))  # fem.mesh.two_wall_cell (transfinite)
        ny = max(2, math.ceil(nx * height / g.length))
        if g.dimension == 2:
            return 2.0 * nx * ny, 2
        depth = g.depth if g.depth is not None else 0.25 * g.length
        nz = max(2, math.ceil(nx * depth / g.length))
        return 6.0 * nx * ny * nz, 3
    if shape == "chamber":  # fem.mesh.chamber: W/24 (at least 4 across) graded to waist/2 near the beam
        height = g.height if g.height is not None else 0.25 * g.length
        h_far = min(g.length / 24.0, height / 4.0) / r
        waist = case.laser.waist if case.laser is not None else h_far
        h_near = min(0.5 * waist, h_far)
        near = min(4.0 * waist, 0.5 * g.length)
        if g.dimension == 2:
            return TRIANGLES_PER_H2 * (g.length * height / h_far ** 2 + 2 * near * height / h_near ** 2), 2
        return TETS_PER_H3 * (g.length ** 2 * height / h_far ** 3 + math.pi * near ** 2 * height / h_near ** 3), 3
    if shape == "channel":  # fem.mesh.heated_channel: H / (12 resolution)
        height = g.height if g.height is not None else 0.25 * g.length
        h = height / (12.0 * r)
        return TRIANGLES_PER_H2 * g.length * height / h ** 2, 2
    if shape == "chip":  # fem.chip_mesh: h/(4 r) in the liquid, h/(8 r) on heaters, min(g, p)/(2 r) far
        h_fluid, h_heater = 0.25 * g.channel_height / r, 0.125 * g.channel_height / r
        h_far = max(0.5 * min(g.glass_thickness, g.pdms_thickness) / r, h_fluid)
        width = g.heater_width if g.heater_width is not None else 1.5 * g.channel_width
        chip_width = g.channel_width + 2 * g.margin
        solids = (g.glass_thickness + g.pdms_thickness) * g.channel_length
        if g.dimension == 2:
            fluid = g.channel_length * g.channel_height / h_fluid ** 2
            heaters = sum(end - start for start, end in g.heaters) * h_heater / h_heater ** 2
            return TRIANGLES_PER_H2 * (fluid + 4 * heaters + solids / h_far ** 2), 2
        fluid = g.channel_length * g.channel_width * g.channel_height / h_fluid ** 3
        heaters = sum(end - start for start, end in g.heaters) * width * h_heater / h_heater ** 3
        # calibrated to the builder's documented counts (57k / 74k tetrahedra at resolution 1)
        return 1.3 * TETS_PER_H3 * (fluid + 1.5 * heaters + solids * chip_width / h_far ** 3), 3
    if shape == "particle_box":  # fem.particle_mesh: 0.35 a / r on the sphere, 2 a / r far away
        p = case.particle
        a = p.radius
        edge = g.length if g.length is not None else 12.0 * a
        h_surface, h_far = 0.35 * a / r, 2.0 * a / r
        volume = edge ** 3
        if p.wall_distance is not None:
            height = g.height if g.height is not None else p.wall_distance + 10 * a
            volume = edge ** 2 * height
            gap = p.wall_distance - a
            h_gap = min(h_surface, gap / 3.0 / r)
            # the gap's refinement: a disc of radius sqrt(a gap) under the sphere
            gap_cells = math.pi * a * max(gap, h_gap) * gap / h_gap ** 3
        else:
            gap_cells = 0.0
        shell = 4.0 * math.pi * a ** 2 * a / h_surface ** 3  # one radius of graded cells around the sphere
        return TETS_PER_H3 * (volume / h_far ** 3 + shell + gap_cells), 3
    if shape == "wafer":  # presets.Wafer: a structured grid, 60 resolution cells across the gap
        n = max(8, round(60 * r))
        m = max(4, math.ceil(4 * r * g.width / g.gap))
        return 2.0 * n * m, 2
    if shape == "capillary":  # fem.capillary_mesh: waist/(2 r) at the beam axis growing by 0.35 to h_far
        r_in, r_out = 0.5 * g.inner_diameter, 0.5 * g.inner_diameter + g.wall_thickness
        waist = case.mst.waist if case.mst is not None else 15e-6
        h_far = min(r_in / 3.0, 0.5 * g.wall_thickness) / r
        h_focus = min(0.5 * waist / r, h_far)
        # the graded column around the beam axis (a quarter of it), 2 r_out high, by the midpoint rule
        steps, near = 400, 0.0
        for k in range(steps):
            d = (k + 0.5) * r_out / steps
            h = min(h_far, h_focus + 0.35 * max(0.0, d - waist))
            near += 0.5 * math.pi * d / h ** 3 * (r_out / steps) * 2.0 * r_out
        rest = math.pi * r_out ** 2 * (0.25 * g.length - 0.5 * r_out) / h_far ** 3
        # calibrated to the builder's counts for the default tube (5.8k / 13k / 30k at 0.5 / 0.75 / 1)
        return 0.65 * TETS_PER_H3 * (near + rest), 3
    return None


# unknowns per mesh vertex of the largest system each kind factorises (P2 dofs per vertex:
# about 4 in 2D, 8 in 3D including edges)
def _dofs_per_vertex(case, dimension: int) -> float:
    p2 = 4.0 if dimension == 2 else 8.0
    if case.kind in ("soret_cell", "tracking", "aerosol"):
        states = len(case.solute.states) if case.solute is not None and case.solute.states else 1
        return (1.0 if case.mesh.degree == 1 else p2) * states
    if case.kind == "convection":  # Taylor-Hood velocity and pressure with temperature (P2)
        return dimension * p2 + 1.0 + p2
    if case.kind == "phoretic_particle":  # Stokes, Taylor-Hood, plus the particle's rigid modes
        return dimension * p2 + 1.0
    if case.kind == "mst":  # the coupled flow and heat (P2) with gravity; the heat equation alone without
        return dimension * p2 + 1.0 + p2 if any(case.gravity) else p2
    return dimension * p2 + 1.0  # thermoosmotic_flow: Stokes


def _memory_bytes(dofs: float, dimension: int) -> float:
    if dimension == 3:
        return BASE_BYTES + BYTES_PER_DOF_3D * dofs * (max(dofs, 1.0) / DOFS_3D) ** (1.0 / 3.0)
    return BASE_BYTES + BYTES_PER_DOF_2D * dofs * math.log(max(dofs, 2.0)) / math.log(DOFS_2D)


def machine_memory() -> float | None:
    """MemTotal of /proc/meminfo in bytes (None where it cannot be read)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return float(line.split()[1]) * 1024.0
    except OSError:
        return None
    return None


def estimate(case) -> dict[str, Any]:
    """Cells, dofs and solver memory (bytes) estimated for a preset's mesh; empty for a
    mesh file (its size is known once it is read)."""
    cells = _cells(case)
    if cells is None:
        return {}
    count, dimension = cells
    vertices = count / (2.0 if dimension == 2 else 5.5)
    dofs = vertices * _dofs_per_vertex(case, dimension)
    return {"cells": count, "dimension": dimension, "dofs": dofs, "memory_bytes": _memory_bytes(dofs, dimension)}


def _limit(case) -> tuple[float | None, str]:
    given = getattr(case.solver, "max_memory", None)
    if "max_memory" in case.solver.model_fields_set or given is not None:
        if given is None:
            return None, "solver.max_memory = 'none'"
        return given, f"solver.max_memory = {given / 1e9:g} GB"
    total = machine_memory()
    return total, f"this machine's memory (MemTotal {total / 1e9:.3g} GB)" if total else ""


def _check_memory(case) -> None:
    size = estimate(case)
    if not size:
        return
    limit, what = _limit(case)
    if not math.isfinite(size["memory_bytes"]) or (limit is not None and size["memory_bytes"] > limit):
        raise CaseError("mesh.resolution", case.mesh.resolution, f"the mesh would have about {size['cells']:.3g} "
                        f"cells and {size['dofs']:.3g} unknowns, and the direct solver about "
                        f"{size['memory_bytes'] / 1e9:.3g} GB of memory, above {what}: lower mesh.resolution or "
                        "enlarge the smallest geometry lengths (or set solver.max_memory = 'none' or a size, "
                        "e.g. '64 GB', where the kind has a [solver] section)")
