"""gmsh builders for resolved spherical particles in a box, a channel or near a wall.

The particle interiors are meshed as their own regions (so that conduction through the
particle is solved: conjugate heat transfer), and every particle surface is a named
facet group, so the Stokes solver can impose rigid motion plus thermo-osmotic slip there.
The mesh is graded: cells of size ``surface_size`` on the particle surfaces and in the
gaps between a particle and a wall, growing smoothly to ``far_size`` away from them.

Physical names (-> :class:`~thermocfd.fem.mesh.Domain`):

* regions: ``fluid`` and, per particle, its ``name`` (default ``particle``);
* boundaries: ``<name>_surface`` per particle, and the box faces ``xmin``, ``xmax``,
  ``ymin``, ``ymax``, ``zmin``, ``zmax`` (:func:`particle_near_wall` calls the plane
  wall ``wall`` and the rest ``outer``).

Coordinates are scaled by ``length_scale`` (default: the radius of the first particle),
so a unit sphere is the typical mesh.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from mpi4py import MPI

from ..errors import ThermocfdError
from .curved_mesh import curve_to_second_order, sphere_projection
from .mesh import FIELD_SIZES_ONLY, Domain, _gmsh, _to_domain, generate_mesh

FACE_NAMES = ("xmin", "xmax", "ymin", "ymax", "zmin", "zmax")


class GeometryError(ThermocfdError):
    """A particle geometry that cannot be meshed (overlap, non-positive size...)."""


@dataclass(frozen=True)
class SphereSpec:
    """A spherical particle: centre and radius in metres, and its region name."""

    centre: tuple[float, float, float]
    radius: float
    name: str = "particle"

    @property
    def surface(self) -> str:
        return f"{self.name}_surface"


def _check_spheres(spheres: Sequence[SphereSpec], lower: np.ndarray, upper: np.ndarray,
                   min_gap: float) -> None:
    if not spheres:
        raise GeometryError("at least one particle is needed")
    names = [s.name for s in spheres]
    if len(set(names)) != len(names):
        raise GeometryError(f"particle names must be unique, got {names}")
    if np.any(upper <= lower):
        raise GeometryError(f"box extent must be positive, got lower={lower.tolist()} upper={upper.tolist()}")
    for s in spheres:
        if not (s.radius > 0.0 and math.isfinite(s.radius)):
            raise GeometryError(f"particle {s.name!r}: radius must be positive, got {s.radius!r}")
        c = np.asarray(s.centre, dtype=float)
        gaps = np.column_stack([c - lower, upper - c]).ravel() - s.radius  # FACE_NAMES order
        if np.min(gaps) <= min_gap * s.radius:
            face = FACE_NAMES[int(np.argmin(gaps))]
            raise GeometryError(
                f"particle {s.name!r} (centre {c.tolist()}, radius {s.radius:g} m) overlaps or "
                f"touches the wall {face!r}: gap {np.min(gaps):.3g} m; the centre-to-wall "
                "distance must exceed the radius")
    for i, a in enumerate(spheres):
        for b in spheres[i + 1:]:
            distance = float(np.linalg.norm(np.subtract(a.centre, b.centre)))
            if distance - a.radius - b.radius <= min_gap * min(a.radius, b.radius):
                raise GeometryError(
                    f"particles {a.name!r} and {b.name!r} overlap or touch: centre distance "
                    f"{distance:.3g} m, radii {a.radius:g} m and {b.radius:g} m")


def spheres_in_box(spheres: Sequence[SphereSpec], lower: Sequence[float], upper: Sequence[float],
                   *, surface_size: float | None = None, far_size: float | None = None,
                   resolution: float = 1.0, length_scale: float | None = None,
                   face_names: dict[str, str] | None = None, growth: float = 0.25,
                   geometry_order: int = 2, comm: MPI.Comm = MPI.COMM_WORLD) -> Domain:
    """A box [lower, upper] (m) of fluid containing spherical particles.

    surface_size, far_size: cell sizes (m) on the particle surfaces and far away; the
    defaults are radius/4 and box/6, both divided by ``resolution``. Cells grow from
    the surface size at a rate ``growth`` (size increase per unit distance). Gaps between
    a particle and a wall or another particle get cells no larger than a third of the gap.
    face_names: rename box faces, e.g. {"zmin": "wall"}; several faces may share a name.
    geometry_order: 2 (default) for curved, isoparametric cells; 1 for straight-sided.
    """
    lower_a, upper_a = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
    _check_spheres(spheres, lower_a, upper_a, min_gap=1e-3)
    if resolution <= 0:
        raise GeometryError(f"mesh resolution must be positive, got {resolution!r}")
    ell = float(length_scale or spheres[0].radius)
    a_min = min(s.radius for s in spheres)
    h_surface = (surface_size or 0.25 * a_min) / resolution
    h_far = (far_size or float(np.max(upper_a - lower_a)) / 6.0) / resolution
    h_far = max(h_far, h_surface)
    names = {face: face for face in FACE_NAMES}
    names.update(face_names or {})

    gmsh = _gmsh()
    if comm.rank == 0:
        gmsh.model.add("spheres_in_box")
        occ = gmsh.model.occ
        lo, hi = lower_a / ell, upper_a / ell
        box = occ.addBox(*lo, *(hi - lo))
        balls = [occ.addSphere(*(np.asarray(s.centre) / ell), s.radius / ell) for s in spheres]
        _, children = occ.fragment([(3, box)], [(3, b) for b in balls])
        occ.synchronize()
        ball_volumes = [[tag for dim, tag in children[1 + i] if dim == 3] for i in range(len(balls))]
        particle_tags = {t for vols in ball_volumes for t in vols}
        fluid = [tag for _, tag in gmsh.model.getEntities(3) if tag not in particle_tags]

        gmsh.model.addPhysicalGroup(3, fluid, 1)
        gmsh.model.setPhysicalName(3, 1, "fluid")
        surfaces_of = []
        for i, (s, vols) in enumerate(zip(spheres, ball_volumes)):
            gmsh.model.addPhysicalGroup(3, vols, 2 + i)
            gmsh.model.setPhysicalName(3, 2 + i, s.name)
            bnd = gmsh.model.getBoundary([(3, v) for v in vols], oriented=False)
            surfaces_of.append(sorted({tag for _, tag in bnd}))
        sphere_surfaces = {t for tags in surfaces_of for t in tags}
        faces: dict[str, list[int]] = {}
        for _, tag in gmsh.model.getEntities(2):
            if tag in sphere_surfaces:
                continue
            com = np.asarray(occ.getCenterOfMass(2, tag))
            for k, face in enumerate(FACE_NAMES):
                axis, side = divmod(k, 2)
                if abs(com[axis] - (hi if side else lo)[axis]) < 1e-8 * max(1.0, abs(hi[axis])):
                    faces.setdefault(names[face], []).append(tag)
                    break
        tag = 1
        for i, s in enumerate(spheres):
            gmsh.model.addPhysicalGroup(2, surfaces_of[i], tag)
            gmsh.model.setPhysicalName(2, tag, s.surface)
            tag += 1
        for face_name, tags in faces.items():
            gmsh.model.addPhysicalGroup(2, tags, tag)
            gmsh.model.setPhysicalName(2, tag, face_name)
            tag += 1

        # Grading: one threshold field per particle, finer in the gaps (why: the
        # lubrication-like flow in a gap of width g needs several cells across it).
        field = gmsh.model.mesh.field
        thresholds = []
        for i, s in enumerate(spheres):
            c, a = np.asarray(s.centre), s.radius
            gap = min(np.min(c - lower_a - a), np.min(upper_a - c - a))
            for other in spheres:
                if other is not s:
                    gap = min(gap, float(np.linalg.norm(c - np.asarray(other.centre))) - a - other.radius)
            h_s = min(h_surface, gap / 3.0 / resolution) / ell
            dist = field.add("Distance")
            field.setNumbers(dist, "SurfacesList", surfaces_of[i])
            field.setNumber(dist, "NumPointsPerCurve", 40)
            # linear growth h = h_s + growth * distance, capped at the far size
            thr = field.add("Threshold")
            field.setNumber(thr, "InField", dist)
            field.setNumber(thr, "SizeMin", h_s)
            field.setNumber(thr, "SizeMax", h_far / ell)
            field.setNumber(thr, "DistMin", 0.0)
            field.setNumber(thr, "DistMax", max(h_far / ell - h_s, 1e-12) / growth)
            thresholds.append(thr)
        fmin = field.add("Min")
        field.setNumbers(fmin, "FieldsList", thresholds)
        field.setAsBackgroundMesh(fmin)
        generate_mesh(gmsh, 3, {**FIELD_SIZES_ONLY, "Mesh.Algorithm": 6, "Mesh.Algorithm3D": 1})
        if geometry_order == 2:
            # Quadratic (isoparametric) cells follow the sphere: with straight-sided cells
            # the inscribed polyhedron shrinks the radius by ~h^2/(8a), which costs ~1 %
            # in drag and ~3 % in torque at h = a/3; curved cells make that O(h^3).
            projections = {surface: sphere_projection(np.asarray(s.centre) / ell, s.radius / ell)
                           for s, surfaces in zip(spheres, surfaces_of) for surface in surfaces}
            straightened = curve_to_second_order(gmsh, projections)
    straightened = comm.bcast(straightened if comm.rank == 0 and geometry_order == 2 else 0, root=0)
    metadata = {"builder": "spheres_in_box", "lower": lower_a.tolist(), "upper": upper_a.tolist(),
                "straightened_surface_edges": straightened,
                "particles": [{"name": s.name, "centre": list(map(float, s.centre)),
                               "radius": float(s.radius), "surface": s.surface} for s in spheres]}
    return _to_domain(gmsh, comm, 3, ell, metadata)


def sphere_in_box(radius: float, half_width: float | Sequence[float], *,
                  centre: Sequence[float] = (0.0, 0.0, 0.0), **kwargs) -> Domain:
    """One sphere of ``radius`` (m) at ``centre`` in the box ``centre +- half_width``."""
    if not (radius > 0):
        raise GeometryError(f"particle radius must be positive, got {radius!r}")
    c = np.asarray(centre, dtype=float)
    half = np.broadcast_to(np.asarray(half_width, dtype=float), (3,))
    return spheres_in_box([SphereSpec(tuple(c), radius)], c - half, c + half, **kwargs)


def particle_near_wall(radius: float, wall_distance: float, *, half_width: float | None = None,
                       height: float | None = None, **kwargs) -> Domain:
    """A sphere at centre-to-wall distance ``wall_distance`` above the plane wall z = 0.

    The box is [-half_width, half_width]^2 x [0, height] (defaults: 10 radii and
    wall_distance + 10 radii); boundaries ``wall`` (z = 0) and ``outer`` (the rest).
    """
    if not (radius > 0):
        raise GeometryError(f"particle radius must be positive, got {radius!r}")
    if not wall_distance > radius:
        raise GeometryError(f"particle.wall_distance = {wall_distance!r} m: the particle (radius "
                            f"{radius!r} m) overlaps the wall; the centre-to-wall distance must "
                            "exceed the radius")
    half_width = half_width or 10.0 * radius
    height = height or wall_distance + 10.0 * radius
    outer = {face: "outer" for face in FACE_NAMES}
    outer["zmin"] = "wall"
    domain = spheres_in_box([SphereSpec((0.0, 0.0, wall_distance), radius)],
                            (-half_width, -half_width, 0.0), (half_width, half_width, height),
                            face_names=outer, **kwargs)
    domain.metadata.update({"builder": "particle_near_wall", "wall_distance": wall_distance})
    return domain


def channel_with_spheres(length: float, width: float, height: float, spheres: Sequence[SphereSpec],
                         **kwargs) -> Domain:
    """A channel [0, length] x [0, width] x [0, height] with particles inside.

    Boundaries: ``inlet`` (x = 0), ``outlet`` (x = length), ``walls`` (the other faces).
    """
    names = {"xmin": "inlet", "xmax": "outlet", "ymin": "walls", "ymax": "walls",
             "zmin": "walls", "zmax": "walls"}
    names.update(kwargs.pop("face_names", {}) or {})
    return spheres_in_box(spheres, (0.0, 0.0, 0.0), (length, width, height), face_names=names, **kwargs)


def particle_names(domain: Domain) -> list[str]:
    """Region names of the particles of a builder-made or imported domain."""
    described = domain.metadata.get("particles")
    if described:
        return [p["name"] for p in described]
    return [name for name in domain.regions if name != "fluid"]
