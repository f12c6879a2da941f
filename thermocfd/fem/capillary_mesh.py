"""gmsh builder for the MST capillary: a glass tube lying along x, filled with buffer,
heated by a vertical laser (along z) focused on its axis at x = 0.

The problem has two mirror planes (gravity and the beam lie in both): ``x = 0``, across
the tube through the focus, and ``y = 0``, the vertical plane through the tube's axis.
The mesh is the quarter ``x >= 0, y >= 0``, four times fewer cells than the whole tube,
with these names (coordinates scaled by the inner radius):

* regions ``buffer`` (``r < R_i``) and ``glass`` (``R_i < r < R_o``), r = sqrt(y^2 + z^2);
* boundaries ``outer`` (the glass's outside ``r = R_o``), ``ends`` (the cut ``x = L/2``,
  buffer and glass: the modelled length ends there), ``mid_plane`` (``x = 0``) and
  ``axial_plane`` (``y = 0``), the mirror planes, and ``inner_wall`` (the buffer-glass
  interface, interior facets).

Cells are ``waist / (2 resolution)`` within a waist of the beam axis, growing by
``growth`` per unit distance to ``min(R_i / 3, wall) / resolution`` (two cells across the
wall at resolution 1... 2 at least), so the focus, where T and c vary over a waist, is
resolved and the far tube is cheap.
"""

from __future__ import annotations

import math

from mpi4py import MPI

from ..errors import ThermocfdError
from .mesh import FIELD_SIZES_ONLY, Domain, _gmsh, _to_domain, generate_mesh

BOUNDARIES = ("outer", "ends", "mid_plane", "axial_plane", "inner_wall")
REGIONS = ("buffer", "glass")


def glass_capillary(inner_radius: float, wall_thickness: float, length: float, waist: float,
                    resolution: float = 1.0, comm: MPI.Comm = MPI.COMM_WORLD, *, growth: float = 0.35) -> Domain:
    """The quarter capillary (m): inner radius R_i, glass wall, modelled ``length`` (the
    quarter holds ``0 <= x <= length/2``), refined around the beam axis x = y = 0."""
    for key, value in (("inner_radius", inner_radius), ("wall_thickness", wall_thickness), ("length", length),
                       ("waist", waist), ("resolution", resolution)):
        if not (math.isfinite(value) and value > 0):
            raise ThermocfdError(f"capillary: {key} must be positive, got {value!r}")
    scale = inner_radius
    r_out = 1.0 + wall_thickness / scale
    half = 0.5 * length / scale
    w = waist / scale
    h_far = min(1.0 / 3.0, 0.5 * (r_out - 1.0)) / resolution
    h_focus = min(0.5 * w / resolution, h_far)
    gmsh = _gmsh()
    error = None
    if comm.rank == 0:
        try:
            gmsh.model.add("capillary")
            occ = gmsh.model.occ
            quarter = occ.addBox(0.0, 0.0, -r_out, half, r_out, 2.0 * r_out)
            outer = occ.addCylinder(0.0, 0.0, 0.0, half, 0.0, 0.0, r_out)
            inner = occ.addCylinder(0.0, 0.0, 0.0, half, 0.0, 0.0, 1.0)
            tube, _ = occ.intersect([(3, outer)], [(3, quarter)], removeTool=False)
            core, _ = occ.intersect([(3, inner)], [(3, quarter)])
            occ.fragment(tube, core)
            occ.synchronize()
            region_of = {}
            for _, v in gmsh.model.getEntities(3):  # the core reaches y = R_i, the glass y = R_o
                region_of[v] = "buffer" if gmsh.model.getBoundingBox(3, v)[4] < 0.5 * (1.0 + r_out) else "glass"
            if sorted(set(region_of.values())) != sorted(REGIONS):
                raise ThermocfdError("internal error: the capillary's volumes did not fragment into buffer and glass")
            groups: dict[str, list[int]] = {name: [] for name in BOUNDARIES}
            tol = 1e-7 * max(half, r_out)
            for _, s in gmsh.model.getEntities(2):
                up = gmsh.model.getAdjacencies(2, s)[0]
                x_lo, y_lo, _, x_hi, y_hi, _ = gmsh.model.getBoundingBox(2, s)
                if len(up) == 2:
                    groups["inner_wall"].append(s)
                elif x_hi - x_lo < 1e-6 * half:  # gmsh pads bounding boxes a little
                    groups["mid_plane" if abs(x_lo + x_hi) < 2e-6 * half + tol else "ends"].append(s)
                elif y_hi - y_lo < 1e-6 * r_out:
                    groups["axial_plane"].append(s)
                else:
                    groups["outer"].append(s)
            for tag, name in enumerate(REGIONS, start=1):
                gmsh.model.addPhysicalGroup(3, sorted(v for v, r in region_of.items() if r == name), tag)
                gmsh.model.setPhysicalName(3, tag, name)
            for tag, name in enumerate(BOUNDARIES, start=1):
                if not groups[name]:
                    raise ThermocfdError(f"internal error: no faces found for the capillary's {name!r}")
                gmsh.model.addPhysicalGroup(2, sorted(groups[name]), tag)
                gmsh.model.setPhysicalName(2, tag, name)
            field = gmsh.model.mesh.field.add("MathEval")
            gmsh.model.mesh.field.setString(
                field, "F", f"Min({h_far!r},{h_focus!r}+{growth!r}*Max(0,Sqrt(x^2+y^2)-{w!r}))")
            gmsh.model.mesh.field.setAsBackgroundMesh(field)
            generate_mesh(gmsh, 3, FIELD_SIZES_ONLY)
        except Exception as exc:  # gmsh raises bare Exceptions
            gmsh.model.remove()
            error = str(exc) if isinstance(exc, ThermocfdError) else f"gmsh could not mesh the capillary: {exc}"
    error = comm.bcast(error, root=0)
    if error:
        raise ThermocfdError(error)
    metadata = {"builder": "glass_capillary", "inner_radius": inner_radius, "wall_thickness": wall_thickness,
                "length": length, "waist": waist, "resolution": resolution,
                "mirror_copies": 4}  # the whole tube is four copies of this quarter
    return _to_domain(gmsh, comm, 3, scale, metadata)
