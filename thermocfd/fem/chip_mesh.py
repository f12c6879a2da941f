"""gmsh builders for the common microfluidic device: a PDMS channel bonded to a glass slide
with thin-film heater stripes, and layered slabs for conjugate-heat checks.

Both return a :class:`~thermocfd.fem.mesh.Domain` whose regions are the materials and
whose boundaries carry the names below; the solids and the liquid share conforming
interfaces (OpenCASCADE fragments), so conjugate conduction needs no interface
conditions, and the heater stripes are interior facets a flux source can be put on.

:func:`pdms_glass_chip` (coordinates scaled by the channel height):

* regions ``fluid`` (the liquid), ``glass`` (the slide, ``z in [-glass_thickness, 0]``),
  ``pdms`` (the moulded block, ``z in [0, pdms_thickness]``, posts included);
* boundaries ``inlet`` / ``outlet`` (the liquid's cut faces ``x = 0`` / ``x = L``),
  ``heater_1``, ``heater_2``, ... (stripes on the glass top ``z = 0``: interior facets),
  ``glass_bottom``, ``pdms_top``, ``outer_sides`` (the solids' other outer faces:
  ``+-y`` sides and their ``x = 0`` / ``x = L`` end faces), ``channel_walls`` (the
  liquid/solid interface outside the heater stripes and posts: the no-slip walls) and
  ``posts`` (the post surfaces, interior facets, only if there are posts).

In 2D the chip is the x-z cross-section along the channel axis (y of the mesh = z of the
chip): glass below, the liquid of height h, PDMS above; heater stripes are segments.

:func:`layered_slab`: layers stacked along y (2D) or z (3D), regions named by the
caller, boundaries ``bottom``, ``top``, ``sides`` and ``interface_1`` ... between
consecutive layers (counted from the bottom).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from mpi4py import MPI

from ..errors import ThermocfdError
from .mesh import FIELD_SIZES_ONLY, Domain, _gmsh, _to_domain, generate_mesh, structured


class ChipGeometryError(ThermocfdError):
    """Chip dimensions that cannot be meshed (non-positive size, heater off the chip...)."""


def _positive(**values: float) -> None:
    for key, value in values.items():
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
            raise ChipGeometryError(f"{key} must be a positive length in metres, got {value!r}")


def _num(v: float) -> str:
    return f"{float(v):.17g}"


def _check_chip(channel_width, channel_height, channel_length, glass_thickness, pdms_thickness,
                pdms_margin, heaters, heater_width, posts, dimension, resolution):
    _positive(channel_width=channel_width, channel_height=channel_height, channel_length=channel_length,
              glass_thickness=glass_thickness, pdms_thickness=pdms_thickness, pdms_margin=pdms_margin,
              heater_width=heater_width, resolution=resolution)
    if dimension not in (2, 3):
        raise ChipGeometryError(f"dimension must be 2 or 3, got {dimension!r}")
    if pdms_thickness <= channel_height * (1 + 1e-6):
        raise ChipGeometryError(f"pdms_thickness = {pdms_thickness!r} m must exceed the channel height "
                                f"{channel_height!r} m (the channel is moulded into the PDMS)")
    chip_width = channel_width + 2 * pdms_margin
    if dimension == 3 and heater_width > chip_width * (1 + 1e-12):
        raise ChipGeometryError(f"heater_width = {heater_width!r} m is wider than the chip "
                                f"({chip_width!r} m = channel width + 2 margins)")
    intervals = []
    for i, heater in enumerate(heaters, start=1):
        try:
            start, end = (float(v) for v in heater)
        except (TypeError, ValueError):
            raise ChipGeometryError(f"heater {i}: expected (start, end) in metres, got {heater!r}") from None
        if not (0.0 <= start < end <= channel_length * (1 + 1e-12)):
            raise ChipGeometryError(f"heater {i}: (start, end) = ({start!r}, {end!r}) m must satisfy "
                                    f"0 <= start < end <= channel_length = {channel_length!r} m")
        intervals.append((start, end, i))
    intervals.sort()
    for (a0, b0, i0), (a1, b1, i1) in zip(intervals, intervals[1:]):
        if a1 < b0 - 1e-12 * channel_length:
            raise ChipGeometryError(f"heaters {i0} and {i1} overlap ({a0!r}-{b0!r} m and {a1!r}-{b1!r} m)")
    if posts and dimension == 2:
        raise ChipGeometryError("posts need dimension = 3 (in the x-z cross-section a post would close "
                                "the channel)")
    for i, post in enumerate(posts, start=1):
        try:
            x, y, r = (float(v) for v in post)
        except (TypeError, ValueError):
            raise ChipGeometryError(f"post {i}: expected (x, y, radius) in metres, got {post!r}") from None
        _positive(**{f"post {i} radius": r})
        gap = min(x - r, channel_length - x - r, channel_width / 2 - abs(y) - r)
        if gap <= 1e-3 * r:
            raise ChipGeometryError(f"post {i} at ({x!r}, {y!r}) m, radius {r!r} m, touches or crosses the "
                                    "channel wall, inlet or outlet; it must lie inside the channel")
        for j, other in enumerate(posts[:i - 1], start=1):
            xo, yo, ro = (float(v) for v in other)
            if math.hypot(x - xo, y - yo) - r - ro <= 1e-3 * min(r, ro):
                raise ChipGeometryError(f"posts {j} and {i} overlap or touch")


def pdms_glass_chip(channel_width: float, channel_height: float, channel_length: float,
                    glass_thickness: float, pdms_thickness: float, pdms_margin: float,
                    heaters: Sequence[tuple[float, float]] = (), heater_width: float | None = None,
                    posts: Sequence[tuple[float, float, float]] = (), dimension: int = 3,
                    resolution: float = 1.0, comm: MPI.Comm = MPI.COMM_WORLD, *,
                    growth: float = 0.8) -> Domain:
    """A PDMS-on-glass chip: a rectangular channel moulded into a PDMS block bonded to a
    glass slide, with thin-film heater stripes on the glass under the channel.

    All lengths in metres. The channel is ``x in [0, L]``, ``y in [-w/2, w/2]``,
    ``z in [0, h]`` (its floor is the glass); the chip is ``L`` long and extends
    ``pdms_margin`` beyond the channel in ``+-y``. ``heaters`` are (start, end) intervals
    along x; each stripe is ``heater_width`` wide across y (default ``1.5 w``; ignored in
    2D), centred on the channel. ``posts`` are (x, y, radius) cylinders of PDMS through
    the channel height (3D only). In 2D (``dimension=2``) the mesh is the x-z section
    along the channel, its second coordinate being the chip's z.

    Cells: ``h/(4 resolution)`` in the liquid (at least 4 across the height),
    ``h/(8 resolution)`` on the heater stripes, ``2 pi r/24`` on posts, growing at the
    rate ``growth`` (size increase per unit distance; 0.8 keeps the mean-ratio quality of
    every tetrahedron above about 0.3) to ``min(glass_thickness, pdms_thickness)/(2
    resolution)`` far away in the solids. The liquid dominates the count: a 100 x 50 um x
    2 mm channel on 1 mm glass under 2 mm PDMS (0.5 mm margins) has about 13k / 57k / 308k
    tetrahedra at resolution 0.5 / 1 / 2 without heaters, 18k / 74k / 371k with one
    400 um stripe. Coordinates are scaled by ``channel_height``.

    Regions ``fluid``, ``glass``, ``pdms``; boundaries ``inlet``, ``outlet``,
    ``heater_<i>`` (in the order given), ``glass_bottom``, ``pdms_top``, ``outer_sides``,
    ``channel_walls`` and, with posts, ``posts`` (see the module docstring).
    """
    heaters = [tuple(h) for h in heaters]
    posts = [tuple(p) for p in posts]
    if heater_width is None:
        heater_width = 1.5 * channel_width
    _check_chip(channel_width, channel_height, channel_length, glass_thickness, pdms_thickness,
                pdms_margin, heaters, heater_width, posts, dimension, resolution)
    _positive(growth=growth)
    gdim = dimension
    ell = float(channel_height)
    L, w, g, p = channel_length / ell, channel_width / ell, glass_thickness / ell, pdms_thickness / ell
    W = w + 2 * pdms_margin / ell
    hw = heater_width / ell
    heater_rel = [(a / ell, b / ell) for a, b in heaters]
    post_rel = [(x / ell, y / ell, r / ell) for x, y, r in posts]
    h_fluid = 0.25 / resolution
    h_heater = 0.125 / resolution
    h_far = max(0.5 * min(g, p) / resolution, h_fluid)
    boundary_names = (["inlet", "outlet"] + [f"heater_{i}" for i in range(1, len(heaters) + 1)]
                      + ["glass_bottom", "pdms_top", "outer_sides", "channel_walls"]
                      + (["posts"] if posts else []))
    region_names = ["fluid", "glass", "pdms"]

    gmsh = _gmsh()
    error = None
    if comm.rank == 0:
        gmsh.model.add("pdms_glass_chip")
        occ = gmsh.model.occ
        try:
            if gdim == 3:
                glass = occ.addBox(0, -W / 2, -g, L, W, g)
                pdms = occ.addBox(0, -W / 2, 0, L, W, p)
                channel = occ.addBox(0, -w / 2, 0, L, w, 1.0)
                cylinders = [occ.addCylinder(x, y, 0, 0, 0, 1.0, r) for x, y, r in post_rel]
                stripes = [occ.addRectangle(a, -hw / 2, 0, b - a, hw) for a, b in heater_rel]
            else:
                glass = occ.addRectangle(0, -g, 0, L, g)
                pdms = occ.addRectangle(0, 0, 0, L, p)
                channel = occ.addRectangle(0, 0, 0, L, 1.0)
                cylinders = []
                stripes = [occ.addLine(occ.addPoint(a, 0, 0), occ.addPoint(b, 0, 0)) for a, b in heater_rel]
            objects = [(gdim, glass), (gdim, pdms), (gdim, channel)] + [(gdim, c) for c in cylinders]
            tools = [(gdim - 1, s) for s in stripes]
            _, children = occ.fragment(objects, tools) if tools else occ.fragment(objects[:1], objects[1:])
            occ.synchronize()

            def kids(i: int, dim: int) -> set[int]:
                return {tag for d, tag in children[i] if d == dim}

            glass_v, pdms_v, channel_v = kids(0, gdim), kids(1, gdim), kids(2, gdim)
            post_v = set().union(*[kids(3 + i, gdim) for i in range(len(cylinders))])
            heater_s = [kids(len(objects) + i, gdim - 1) for i in range(len(stripes))]
            fluid_v = channel_v - post_v
            pdms_v = (pdms_v - channel_v) | post_v
            if glass_v & (pdms_v | fluid_v) or not fluid_v:
                raise ChipGeometryError("internal error: the chip's volumes overlap after fragmenting")
            region_of = {v: "glass" for v in glass_v}
            region_of.update({v: "pdms" for v in pdms_v})
            region_of.update({v: "fluid" for v in fluid_v})

            groups: dict[str, list[int]] = {name: [] for name in boundary_names}
            heater_of = {s: i for i, tags in enumerate(heater_s, start=1) for s in tags}
            tol = 1e-7 * max(L, W, g + p)
            vertical = gdim - 1  # the chip's z axis in mesh coordinates
            for _, s in gmsh.model.getEntities(gdim - 1):
                if s in heater_of:
                    groups[f"heater_{heater_of[s]}"].append(s)
                    continue
                up = [v for v in gmsh.model.getAdjacencies(gdim - 1, s)[0]]
                regions = [region_of[v] for v in up]
                com = occ.getCenterOfMass(gdim - 1, s)
                if len(up) == 1:
                    if regions[0] == "fluid":
                        groups["inlet" if abs(com[0]) < tol else "outlet" if abs(com[0] - L) < tol
                               else "channel_walls"].append(s)
                    elif abs(com[vertical] + g) < tol:
                        groups["glass_bottom"].append(s)
                    elif abs(com[vertical] - p) < tol:
                        groups["pdms_top"].append(s)
                    else:
                        groups["outer_sides"].append(s)
                elif "fluid" in regions:
                    groups["posts" if any(v in post_v for v in up) else "channel_walls"].append(s)
            for tag, name in enumerate(region_names, start=1):
                gmsh.model.addPhysicalGroup(gdim, sorted(v for v, r in region_of.items() if r == name), tag)
                gmsh.model.setPhysicalName(gdim, tag, name)
            for tag, name in enumerate(boundary_names, start=1):
                if not groups[name]:
                    raise ChipGeometryError(f"internal error: no faces found for boundary {name!r}")
                gmsh.model.addPhysicalGroup(gdim - 1, sorted(groups[name]), tag)
                gmsh.model.setPhysicalName(gdim - 1, tag, name)

            _size_fields(gmsh, gdim, L, w, hw, heater_rel, post_rel, h_fluid, h_heater, h_far, growth)
            generate_mesh(gmsh, gdim, {**FIELD_SIZES_ONLY, "Mesh.Algorithm": 6, "Mesh.Algorithm3D": 1})
        except Exception as exc:  # gmsh raises bare Exceptions
            gmsh.model.remove()
            error = str(exc) if isinstance(exc, ThermocfdError) else f"gmsh could not mesh the chip: {exc}"
    error = comm.bcast(error, root=0)
    if error:
        raise ChipGeometryError(error)
    metadata = {"builder": "pdms_glass_chip", "dimension": dimension, "channel_width": channel_width,
                "channel_height": channel_height, "channel_length": channel_length,
                "glass_thickness": glass_thickness, "pdms_thickness": pdms_thickness,
                "pdms_margin": pdms_margin, "chip_width": channel_width + 2 * pdms_margin,
                "heaters": [list(map(float, h)) for h in heaters], "heater_width": heater_width,
                "posts": [list(map(float, q)) for q in posts], "resolution": resolution}
    return _to_domain(gmsh, comm, gdim, ell, metadata)


def _size_fields(gmsh, gdim, L, w, hw, heaters, posts, h_fluid, h_heater, h_far, growth) -> None:
    """Background size: exact distances (MathEval) to the channel, the stripes and the posts.

    Why analytic: gmsh's Distance field samples surfaces at points, which on the long,
    thin channel walls gives a distance error of a sample spacing; a box distance is exact.
    """
    n = _num
    z = "z" if gdim == 3 else "y"
    # distance to the channel box [0,L] x [-w/2,w/2] x [0,1] (inside: 0); x is never outside
    channel_d = (f"Sqrt(Max(0,Abs(y)-{n(w / 2)})^2+Max(0,Max(-{z},{z}-1))^2)" if gdim == 3
                 else "Max(0,Max(-y,y-1))")
    sizes = [f"Min({n(h_far)},{n(h_fluid)}+{n(growth)}*{channel_d})"]
    for a, b in heaters:
        dx = f"Max(0,Max({n(a)}-x,x-{n(b)}))"
        lateral = f"+Max(0,Abs(y)-{n(hw / 2)})^2" if gdim == 3 else ""
        d = f"Sqrt({dx}^2{lateral}+{z}^2)"
        sizes.append(f"Min({n(h_far)},{n(h_heater)}+{n(growth)}*{d})")
    for x, y, r in posts:
        h_post = min(h_fluid, 2 * math.pi * r / 24)
        d = f"Sqrt(Max(0,Sqrt((x-{n(x)})^2+(y-{n(y)})^2)-{n(r)})^2+Max(0,Max(-z,z-1))^2)"
        sizes.append(f"Min({n(h_far)},{n(h_post)}+{n(growth)}*{d})")
    field = gmsh.model.mesh.field
    tags = []
    for expression in sizes:
        f = field.add("MathEval")
        field.setString(f, "F", expression)
        tags.append(f)
    fmin = field.add("Min")
    field.setNumbers(fmin, "FieldsList", tags)
    field.setAsBackgroundMesh(fmin)


def layered_slab(thicknesses: Sequence[tuple[str, float]], width: float, dimension: int = 2,
                 cells_per_layer: int = 4, comm: MPI.Comm = MPI.COMM_WORLD, *,
                 cells_across: int | None = None, length_scale: float | None = None) -> Domain:
    """Layers stacked along y (2D) or z (3D), bottom first: ``[("glass", 1e-3), ("fluid",
    50e-6), ("pdms", 2e-3)]``; lateral extent ``[0, width]`` (3D: ``[0, width]^2``).

    Regions are named as given (repeated names share a region). Boundaries: ``bottom``,
    ``top``, ``sides`` and ``interface_1`` ... ``interface_{n-1}`` (between layer i and
    i+1, from the bottom: interior facets). The mesh is structured: ``cells_per_layer``
    cells across each layer's thickness and ``cells_across`` (default
    ``cells_per_layer``) laterally. Coordinates are scaled by ``length_scale`` (default:
    the thinnest layer).
    """
    layers = []
    for i, item in enumerate(thicknesses, start=1):
        try:
            name, thickness = item
        except (TypeError, ValueError):
            raise ChipGeometryError(f"layer {i}: expected (name, thickness), got {item!r}") from None
        if not isinstance(name, str) or not name:
            raise ChipGeometryError(f"layer {i}: the region name must be a non-empty string, got {name!r}")
        _positive(**{f"layer {i} ({name}) thickness": thickness})
        layers.append((name, float(thickness)))
    if not layers:
        raise ChipGeometryError("layered_slab needs at least one layer")
    _positive(width=width)
    if dimension not in (2, 3):
        raise ChipGeometryError(f"dimension must be 2 or 3, got {dimension!r}")
    cells_across = cells_per_layer if cells_across is None else cells_across
    for key, value in (("cells_per_layer", cells_per_layer), ("cells_across", cells_across)):
        if not (isinstance(value, (int, np.integer)) and value >= 1):
            raise ChipGeometryError(f"{key} must be a positive integer, got {value!r}")
    ell = float(length_scale or min(t for _, t in layers))
    gdim = dimension
    region_names = list(dict.fromkeys(name for name, _ in layers))
    gmsh = _gmsh()
    if comm.rank == 0:
        gmsh.model.add("layered_slab")
        occ = gmsh.model.occ
        Wr = width / ell
        levels = np.concatenate([[0.0], np.cumsum([t for _, t in layers])]) / ell
        entities = []
        for k in range(len(layers)):
            lo, hi = levels[k], levels[k + 1]
            entities.append(occ.addRectangle(0, lo, 0, Wr, hi - lo) if gdim == 2
                            else occ.addBox(0, 0, lo, Wr, Wr, hi - lo))
        objects = [(gdim, e) for e in entities]
        if len(objects) > 1:
            _, children = occ.fragment(objects[:1], objects[1:])
            layer_v = [[t for d, t in children[k] if d == gdim] for k in range(len(layers))]
        else:
            layer_v = [[entities[0]]]
        occ.synchronize()
        for tag, name in enumerate(region_names, start=1):
            vols = sorted({v for (n, _), vs in zip(layers, layer_v) if n == name for v in vs})
            gmsh.model.addPhysicalGroup(gdim, vols, tag)
            gmsh.model.setPhysicalName(gdim, tag, name)
        axis = gdim - 1
        tol = 1e-9 * max(Wr, levels[-1])
        groups: dict[str, list[int]] = {"bottom": [], "top": [], "sides": []}
        groups.update({f"interface_{k}": [] for k in range(1, len(layers))})
        for _, s in gmsh.model.getEntities(gdim - 1):
            com = occ.getCenterOfMass(gdim - 1, s)
            box = gmsh.model.getBoundingBox(gdim - 1, s)
            flat = abs(box[axis + 3] - box[axis]) < 1e-6 * max(1.0, levels[-1])  # gmsh pads boxes
            level = int(np.argmin(np.abs(levels - com[axis])))
            if not flat or abs(levels[level] - com[axis]) > tol:
                groups["sides"].append(s)
            elif level == 0:
                groups["bottom"].append(s)
            elif level == len(layers):
                groups["top"].append(s)
            else:
                groups[f"interface_{level}"].append(s)
        for tag, (name, tags) in enumerate(groups.items(), start=1):
            gmsh.model.addPhysicalGroup(gdim - 1, sorted(tags), tag)
            gmsh.model.setPhysicalName(gdim - 1, tag, name)
        structured(gmsh, gdim, lambda along: cells_per_layer if along == axis else cells_across)
        gmsh.model.mesh.generate(gdim)
    metadata = {"builder": "layered_slab", "layers": [[n, t] for n, t in layers], "width": width,
                "dimension": dimension}
    return _to_domain(gmsh, comm, gdim, ell, metadata)


__all__ = ["ChipGeometryError", "pdms_glass_chip", "layered_slab"]
