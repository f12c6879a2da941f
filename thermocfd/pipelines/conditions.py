"""The case's named-boundary and named-region tables as solver objects.

One translation for every pipeline: ``[boundary.NAME] thermal/flow/solute/particles``
become the condition dataclasses of :mod:`thermocfd.fem.heat`, :mod:`thermocfd.fem.stokes`
and :mod:`thermocfd.fem.transport`, and the tracker's wall kinds; ``[region.NAME]``
becomes per-region conductivities, heat capacities and heat sources.
"""

from __future__ import annotations

import numpy as np
from mpi4py import MPI

from ..case import BoundarySpec, Case, RegionSpec
from ..errors import CaseError, MISSING
from ..fem import compat
from ..fem.heat import ConvectiveCooling, FixedTemperature, HeaterPower, HeatFlux
from ..fem.mesh import Domain, plane_normal_axis
from ..fem.stokes import NoSlip, Pressure, PrescribedVelocity, ThermoOsmoticSlip
from ..fem.convection import Symmetry
from ..fem.transport import FixedConcentration, Outflow
from ..physics.flows import duct_flow_profile


def thermal_conditions(boundaries: dict[str, BoundarySpec]) -> list:
    """Heat conditions (insulated boundaries need none)."""
    out = []
    for name, spec in boundaries.items():
        bc = spec.thermal
        if bc is None or bc.type == "insulated":
            continue
        if bc.type == "temperature":
            out.append(FixedTemperature(name, bc.value))
        elif bc.type == "heat_flux":
            out.append(HeatFlux(name, bc.value))
        elif bc.type == "heater_power":
            out.append(HeaterPower(name, bc.power))
        elif bc.type == "convective":
            out.append(ConvectiveCooling(name, bc.coefficient, bc.ambient))
    return out


def solute_conditions(boundaries: dict[str, BoundarySpec]) -> list:
    out = []
    for name, spec in boundaries.items():
        bc = spec.solute
        if bc is None or bc.type == "no_flux":
            continue
        out.append(FixedConcentration(name, bc.value) if bc.type == "concentration" else Outflow(name))
    return out


def flow_conditions(boundaries: dict[str, BoundarySpec], domain: Domain) -> list:
    """Flow conditions; an inflow becomes the fully developed profile on its planar inlet."""
    out = []
    for name, spec in boundaries.items():
        bc = spec.flow
        if bc is None:
            continue
        if bc.type == "no_slip":
            out.append(NoSlip(name))
        elif bc.type in ("pressure", "outflow"):
            out.append(Pressure(name, bc.value))
        elif bc.type == "slip":
            out.append(ThermoOsmoticSlip(name, bc.slip_coefficient))
        elif bc.type == "symmetry":
            out.append(Symmetry(name))
        elif bc.type == "inflow":
            out.append(PrescribedVelocity(name, inflow_profile(domain, name, bc.mean_speed, bc.flow_rate)))
    return out


def inlet_frame(domain: Domain, boundary: str) -> tuple[int, float, np.ndarray, np.ndarray]:
    """(normal axis, inward sign, lower corner, upper corner) of a planar, axis-aligned
    inlet, physical coordinates (m)."""
    axis, lower, upper = plane_normal_axis(domain, boundary)
    if axis is None:
        raise CaseError(f"boundary.{boundary}.flow", "inflow", "a fully developed inflow needs a plane inlet "
                        "normal to a coordinate axis")
    from ..fem.mesh import mesh_bounds

    lo, hi = mesh_bounds(domain.mesh)
    centre = 0.5 * (lo[axis] + hi[axis]) * domain.length_scale
    return axis, (1.0 if centre > lower[axis] else -1.0), lower, upper


def inflow_profile(domain: Domain, boundary: str, mean_speed: float | None, flow_rate: float | None):
    """The fully developed laminar profile (parabola in 2D, rectangular-duct series in 3D)
    on a planar inlet, as ``f(x) -> (gdim, N)`` of the physical coordinates."""
    axis, inward, lower, upper = inlet_frame(domain, boundary)
    across = [i for i in range(domain.dim) if i != axis]
    widths = [upper[i] - lower[i] for i in across]
    if mean_speed is None:
        # a 2D section of a channel of known width (a chip's x-z section): the same mean speed
        depth = domain.metadata.get("depth") if domain.dim == 2 else widths[1]
        if depth is None:
            raise CaseError(f"boundary.{boundary}.flow.flow_rate", flow_rate, "a 2D cross-section has no flow "
                            "rate in m^3/s: give mean_speed")
        mean_speed = flow_rate / (widths[0] * depth)

    def profile(x: np.ndarray) -> np.ndarray:
        s = [(x[i] - lower[i]) / w for i, w in zip(across, widths)]
        value = np.zeros((domain.dim, x.shape[1]))
        if domain.dim == 2:
            shape = 6.0 * s[0] * (1.0 - s[0])
        else:
            shape = duct_flow_profile(s[0], s[1], widths[0] / widths[1])
        value[axis] = inward * mean_speed * np.clip(shape, 0.0, None)
        return value

    return profile


def conductivities(case: Case, regions: dict[str, RegionSpec], fluid_conductivity: float) -> dict[str, float]:
    return {name: fluid_conductivity if spec.is_fluid else spec.solid().thermal_conductivity
            for name, spec in regions.items()}


def heat_capacities(case: Case, regions: dict[str, RegionSpec], fluid_capacity: float) -> dict[str, float]:
    """Volumetric heat capacities rho c_p (J/(m^3 K))."""
    return {name: fluid_capacity if spec.is_fluid else spec.solid().volumetric_heat_capacity
            for name, spec in regions.items()}


def region_heaters(regions: dict[str, RegionSpec]) -> tuple[list, list]:
    """(HeaterPower conditions, (region, W/m^3) uniform sources) of the region table."""
    heaters, sources = [], []
    for name, spec in regions.items():
        source = spec.heat_source
        if source is None:
            continue
        if source.type == "joule":
            heaters.append(HeaterPower(name, source.power))
        else:
            sources.append((name, source.value))
    return heaters, sources


def tracker_walls(boundaries: dict[str, BoundarySpec], faces: dict[str, list[str]]):
    """The tracker's per-face wall kinds and sticking probabilities from the boundary
    table; ``faces`` maps boundary names to the grid faces ("x-", ...) they cover."""
    kinds = {"reflect": "reflect", "exit": "open", "adsorb": "adsorb"}
    walls, sticking = {}, {}
    for name, spec in boundaries.items():
        bc = spec.particles
        if bc is None:
            continue
        if name not in faces:
            raise CaseError(f"boundary.{name}.particles", bc.type, "the tracker's walls are the faces of the "
                            f"box around the mesh ({', '.join(sorted(faces))}); this boundary is not one")
        for face in faces[name]:
            walls[face] = kinds[bc.type]
            sticking[face] = getattr(bc, "sticking_probability", 1.0)
    return walls, sticking


def require_names(domain: Domain, names, what: str) -> None:
    for name in names:
        if name not in domain.boundaries:
            raise CaseError("mesh.file", MISSING, f"the mesh has no boundary named {name!r}, which {what} needs "
                            f"(it has: {', '.join(sorted(domain.boundaries)) or 'none'})")



def box_faces(domain: Domain) -> dict[str, list[str]]:
    """Which faces of the mesh's bounding box ("x-", "x+", ...) each boundary covers: the
    tracker's walls are those faces. A boundary counts when all its facets lie on them."""
    from ..fem.mesh import mesh_bounds

    lo, hi = mesh_bounds(domain.mesh)
    span = float(np.max(hi - lo))
    fdim = domain.dim - 1
    out = {}
    for name, tag in domain.boundaries.items():
        facets = domain.facet_tags.find(tag)
        x = domain.mesh.geometry.x[compat.entity_nodes(domain.mesh, fdim, facets)] if facets.size \
            else np.zeros((0, 1, 3))
        faces, on_a_face = [], np.zeros(len(x), dtype=bool)
        for axis in range(3):
            for side, plane in (("-", lo[axis]), ("+", hi[axis])):
                here = np.all(np.abs(x[:, :, axis] - plane) < 1e-9 * span, axis=1) if len(x) else np.zeros(0, bool)
                if domain.comm.allreduce(int(here.sum()), op=MPI.SUM) > 0:
                    faces.append("xyz"[axis] + side)
                on_a_face |= here
        if domain.comm.allreduce(int((~on_a_face).sum()), op=MPI.SUM) == 0:
            out[name] = faces
    if domain.dim == 2:  # the 2D tracking grid is a thin layer in z: both z faces reflect
        for faces in out.values():
            faces[:] = [face for face in faces if face[0] != "z"]
    return out
