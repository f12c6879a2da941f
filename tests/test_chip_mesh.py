"""Chip meshes (PDMS on glass, layered slabs) and the .msh export round trip.

Exact geometry: region volumes and boundary areas (P1 cells: straight-sided, so exact up
to round-off, except the polygonal post cylinders); heater stripes are interior facets.
"""

import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from mpi4py import MPI

from mpirun import needs_mpirun, on_two_ranks
from thermocfd.errors import ThermocfdError
from thermocfd.fem import compat
from thermocfd.fem import mesh as meshes
from thermocfd.fem.chip_mesh import ChipGeometryError, layered_slab, pdms_glass_chip

ROOT = Path(__file__).resolve().parents[1]
UM = 1e-6

# a small chip (lengths in m) that meshes in a few seconds
CHIP = dict(channel_width=100 * UM, channel_height=50 * UM, channel_length=500 * UM, glass_thickness=200 * UM,
            pdms_thickness=300 * UM, pdms_margin=100 * UM)
HEATERS = [(100 * UM, 200 * UM), (300 * UM, 350 * UM)]

# reference topology of dolfinx/basix simplices: the vertices of local facet i
FACET_VERTICES = {2: [[1, 2], [0, 2], [0, 1]], 3: [[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]]}


def _cells(mesh):
    tdim = mesh.topology.dim
    dofmap = mesh.geometry.dofmap
    cells = np.asarray(dofmap.array if hasattr(dofmap, "array") else dofmap)
    imap = mesh.topology.index_map(tdim)
    return cells.reshape(imap.size_local + imap.num_ghosts, -1)


def _simplex_measure(p: np.ndarray) -> np.ndarray:
    """Volume (or area, length) of simplices given as (n, k+1, 3) vertex arrays."""
    edges = p[:, 1:] - p[:, :1]
    gram = np.einsum("nid,njd->nij", edges, edges)
    return np.sqrt(np.abs(np.linalg.det(gram))) / math.factorial(edges.shape[1])


def measures(domain) -> dict[str, float]:
    """Volume of every region and area of every boundary (scaled units), for straight
    (P1) cells, summed over ranks; interior and exterior facets alike."""
    mesh, comm = domain.mesh, domain.comm
    tdim = mesh.topology.dim
    cells = _cells(mesh)
    x = mesh.geometry.x
    owned = mesh.topology.index_map(tdim).size_local
    region = np.full(cells.shape[0], -1)
    region[domain.cell_tags.indices] = domain.cell_tags.values
    volume = _simplex_measure(x[cells[:owned, :tdim + 1]])
    out = {f"region:{n}": float(volume[region[:owned] == t].sum()) for n, t in domain.regions.items()}
    mesh.topology.create_connectivity(tdim - 1, tdim)
    mesh.topology.create_connectivity(tdim, tdim - 1)
    f2c, c2f = mesh.topology.connectivity(tdim - 1, tdim), mesh.topology.connectivity(tdim, tdim - 1)
    facets = domain.facet_tags.indices
    keep = facets < mesh.topology.index_map(tdim - 1).size_local
    facets, values = facets[keep], domain.facet_tags.values[keep]
    nodes = np.empty((facets.size, tdim), dtype=np.int64)
    for row, f in enumerate(facets):
        c = f2c.links(f)[0]
        local = int(np.flatnonzero(c2f.links(c) == f)[0])
        nodes[row] = cells[c, FACET_VERTICES[tdim][local]]
    area = _simplex_measure(x[nodes]) if facets.size else np.zeros(0)
    out.update({f"boundary:{n}": float(area[values == t].sum()) for n, t in domain.boundaries.items()})
    keys = sorted(out)
    total = comm.allreduce(np.array([out[k] for k in keys]), op=MPI.SUM)
    return dict(zip(keys, map(float, total)))


def p2_measures(domain) -> dict[str, float]:
    """As :func:`measures` for curved (P2) geometry, by quadrature (UFL forms)."""
    import dolfinx.fem
    import ufl

    mesh = domain.mesh
    V = compat.function_space(mesh, "DG", 0)
    cell_volume = dolfinx.fem.assemble_vector(dolfinx.fem.form(ufl.TestFunction(V) * ufl.dx(degree=4)))
    owned = mesh.topology.index_map(mesh.topology.dim).size_local
    region = np.full(cell_volume.array.size, -1)
    region[domain.cell_tags.indices] = domain.cell_tags.values
    out = {f"region:{n}": float(cell_volume.array[:owned][region[:owned] == t].sum())
           for n, t in domain.regions.items()}
    names = sorted(domain.boundaries)
    weights = [compat.constant(mesh, 0.0) for _ in names]
    ds = ufl.Measure("ds", domain=mesh, subdomain_data=domain.facet_tags, metadata={"quadrature_degree": 4})
    dS = ufl.Measure("dS", domain=mesh, subdomain_data=domain.facet_tags, metadata={"quadrature_degree": 4})
    form = dolfinx.fem.form(sum(c * ds(domain.boundaries[n]) + c * dS(domain.boundaries[n])
                                for c, n in zip(weights, names)))
    for c, n in zip(weights, names):
        for other in weights:
            other.value = 0.0
        c.value = 1.0
        out[f"boundary:{n}"] = float(dolfinx.fem.assemble_scalar(form))
    keys = sorted(out)
    total = domain.comm.allreduce(np.array([out[k] for k in keys]), op=MPI.SUM)
    return dict(zip(keys, map(float, total)))


def chip_exact(dimension: int, heaters, heater_width=None, **geometry) -> dict[str, float]:
    """Exact volumes/areas of the chip without posts, in units of the channel height."""
    h = geometry["channel_height"]
    L, w = geometry["channel_length"] / h, geometry["channel_width"] / h
    g, p = geometry["glass_thickness"] / h, geometry["pdms_thickness"] / h
    W = w + 2 * geometry["pdms_margin"] / h
    hw = (heater_width or 1.5 * geometry["channel_width"]) / h
    lengths = [(b - a) / h for a, b in heaters]
    if dimension == 2:
        out = {"region:fluid": L, "region:glass": L * g, "region:pdms": L * (p - 1),
               "boundary:inlet": 1.0, "boundary:outlet": 1.0, "boundary:glass_bottom": L,
               "boundary:pdms_top": L, "boundary:outer_sides": 2 * (g + p - 1),
               "boundary:channel_walls": 2 * L - sum(lengths)}
        out.update({f"boundary:heater_{i}": s for i, s in enumerate(lengths, start=1)})
        return out
    out = {"region:fluid": L * w, "region:glass": L * W * g, "region:pdms": L * (W * p - w),
           "boundary:inlet": w, "boundary:outlet": w, "boundary:glass_bottom": L * W,
           "boundary:pdms_top": L * W, "boundary:outer_sides": 2 * L * (g + p) + 2 * (W * (g + p) - w),
           "boundary:channel_walls": 2 * L * w + 2 * L - sum(s * min(w, hw) for s in lengths)}
    out.update({f"boundary:{'heater_%d' % i}": s * hw for i, s in enumerate(lengths, start=1)})
    return out


def region_counts(domain) -> dict[str, int]:
    values = domain.cell_tags.values[domain.cell_tags.indices < domain.mesh.topology.index_map(domain.dim).size_local]
    return {n: domain.comm.allreduce(int(np.sum(values == t)), op=MPI.SUM) for n, t in domain.regions.items()}


def assert_measures(got: dict, expected: dict, rel: float) -> None:
    assert sorted(got) == sorted(expected)
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=rel), key


# --- pdms_glass_chip -----------------------------------------------------------------
def test_chip_3d_regions_boundaries_and_heaters():
    start = time.perf_counter()
    d = pdms_glass_chip(**CHIP, heaters=HEATERS, dimension=3, resolution=0.5)
    print(f"\n3D chip (resolution 0.5): {d.num_cells()} tetrahedra {region_counts(d)}, "
          f"{time.perf_counter() - start:.1f} s")
    assert d.dim == 3 and d.length_scale == CHIP["channel_height"]
    assert list(d.regions) == ["fluid", "glass", "pdms"]
    assert set(d.boundaries) == {"inlet", "outlet", "heater_1", "heater_2", "glass_bottom", "pdms_top",
                                 "outer_sides", "channel_walls"}
    assert_measures(measures(d), chip_exact(3, HEATERS, **CHIP), rel=1e-10)
    # the heater stripes are interior facets (glass below, liquid or PDMS above)
    tdim = d.dim
    f2c = d.mesh.topology.connectivity(tdim - 1, tdim)
    region = dict(zip(d.cell_tags.indices, d.cell_tags.values))
    for name in ("heater_1", "heater_2"):
        facets = d.facet_tags.indices[d.facet_tags.values == d.boundaries[name]]
        assert facets.size > 0
        for f in facets:
            adjacent = f2c.links(f)
            assert adjacent.size == 2
            below, above = sorted((region[c] for c in adjacent), key=lambda t: t != d.regions["glass"])
            assert below == d.regions["glass"] and above in (d.regions["fluid"], d.regions["pdms"])


def test_chip_3d_liquid_cells_and_grading():
    """About h/4 in the liquid with at least 4 cells across its height, h/8 on the heater."""
    d = pdms_glass_chip(**CHIP, heaters=HEATERS[:1], dimension=3, resolution=1.0)
    print(f"\n3D chip (resolution 1): {d.num_cells()} tetrahedra {region_counts(d)}")
    got = measures(d)

    def facet_size(name):  # side of the equilateral triangle of the mean facet area
        count = np.sum(d.facet_tags.values == d.boundaries[name])
        return math.sqrt(got[f"boundary:{name}"] / count * 4 / math.sqrt(3))

    assert 0.18 < facet_size("inlet") < 0.3
    assert 0.09 < facet_size("heater_1") < 0.15
    x = d.mesh.geometry.x  # mesh nodes on the inlet's vertical edge x = 0, y = w/2
    w = CHIP["channel_width"] / CHIP["channel_height"]
    on_edge = (np.abs(x[:, 0]) < 1e-9) & (np.abs(x[:, 1] - w / 2) < 1e-9) & (x[:, 2] > -1e-9) & (x[:, 2] < 1 + 1e-9)
    assert np.sum(on_edge) >= 5
    fluid = d.cell_tags.indices[d.cell_tags.values == d.regions["fluid"]]
    assert compat.cell_diameters(d.mesh, fluid).max() < 0.6  # longest edges, channel heights


def test_chip_2d_cross_section():
    d = pdms_glass_chip(**CHIP, heaters=HEATERS, dimension=2, resolution=1.0)
    print(f"\n2D chip: {d.num_cells()} triangles {region_counts(d)}")
    assert d.dim == 2
    assert set(d.boundaries) == {"inlet", "outlet", "heater_1", "heater_2", "glass_bottom", "pdms_top",
                                 "outer_sides", "channel_walls"}
    assert_measures(measures(d), chip_exact(2, HEATERS, **CHIP), rel=1e-10)
    f2c = d.mesh.topology.connectivity(1, 2)
    for name in ("heater_1", "heater_2"):
        facets = d.facet_tags.indices[d.facet_tags.values == d.boundaries[name]]
        assert facets.size >= 4 and all(f2c.links(f).size == 2 for f in facets)


def test_chip_posts_are_pdms_holes_in_the_liquid():
    r, x0 = 20 * UM, 420 * UM
    posts = [(x0, 0.0, r), (x0 - 60 * UM, 10 * UM, 15 * UM)]
    d = pdms_glass_chip(**CHIP, heaters=HEATERS[:1], heater_width=80 * UM, posts=posts, dimension=3,
                        resolution=0.5)
    print(f"\n3D chip with 2 posts: {d.num_cells()} tetrahedra {region_counts(d)}")
    assert "posts" in d.boundaries
    got = measures(d)
    exact = chip_exact(3, HEATERS[:1], heater_width=80 * UM, **CHIP)
    h = CHIP["channel_height"]
    cylinders = sum(math.pi * (q[2] / h) ** 2 for q in posts)  # volume in h^3 (height 1)
    # the mesh's cylinders are inscribed polygons with >= 24 sides (cells of 2 pi r / 24):
    # their cross-section is 1 - sin(2 pi/N) N/(2 pi) <= 1.2 % smaller than the circle
    removed = exact["region:fluid"] - got["region:fluid"]
    assert 0.985 * cylinders < removed < cylinders
    assert got["region:pdms"] - exact["region:pdms"] == pytest.approx(removed, rel=1e-9)
    assert got["region:glass"] == pytest.approx(exact["region:glass"], rel=1e-10)
    mantle = sum(2 * math.pi * q[2] / h for q in posts)
    assert 0.99 * mantle < got["boundary:posts"] < mantle
    for key in ("inlet", "outlet", "heater_1", "glass_bottom", "pdms_top", "outer_sides"):
        assert got[f"boundary:{key}"] == pytest.approx(exact[f"boundary:{key}"], rel=1e-10), key
    f2c = d.mesh.topology.connectivity(2, 3)
    facets = d.facet_tags.indices[d.facet_tags.values == d.boundaries["posts"]]
    assert all(f2c.links(f).size == 2 for f in facets)


@pytest.mark.parametrize("kwargs, match", [
    (dict(heaters=[(-1e-6, 1e-4)]), "heater 1"),
    (dict(heaters=[(1e-4, 6e-4)]), "heater 1"),
    (dict(heaters=[(1e-4, 3e-4), (2e-4, 4e-4)]), "overlap"),
    (dict(heater_width=1e-3), "heater_width"),
    (dict(posts=[(1e-4, 40 * UM, 20 * UM)]), "post 1"),
    (dict(posts=[(1e-4, 0.0, 20 * UM), (1.3e-4, 0.0, 20 * UM)]), "overlap"),
    (dict(posts=[(1e-4, 0.0, 20 * UM)], dimension=2), "dimension = 3"),
    (dict(pdms_thickness=40 * UM), "pdms_thickness"),
    (dict(channel_width=-1.0), "channel_width"),
    (dict(dimension=1), "dimension"),
])
def test_chip_bad_geometry_is_one_clear_error(kwargs, match):
    args = dict(CHIP, **kwargs)
    with pytest.raises(ChipGeometryError, match=match):
        pdms_glass_chip(**args)
    assert issubclass(ChipGeometryError, ThermocfdError)


# --- layered_slab --------------------------------------------------------------------
LAYERS = [("glass", 1e-3), ("fluid", 50e-6), ("pdms", 2e-3)]


@pytest.mark.parametrize("dimension", [2, 3])
def test_layered_slab_regions_interfaces(dimension):
    d = layered_slab(LAYERS, 1e-3, dimension=dimension, cells_per_layer=4)
    print(f"\nlayered slab {dimension}D: {d.num_cells()} cells")
    assert d.num_cells() == (3 * 4 * 4 * 2 if dimension == 2 else 3 * 4 * 4 * 4 * 6)
    assert list(d.regions) == ["glass", "fluid", "pdms"]
    assert set(d.boundaries) == {"bottom", "top", "sides", "interface_1", "interface_2"}
    ell = 50e-6
    W, T = 1e-3 / ell, sum(t for _, t in LAYERS) / ell
    face = W if dimension == 2 else W * W
    perimeter = 2 if dimension == 2 else 4 * W
    expected = {f"region:{n}": face * t / ell for n, t in LAYERS}
    expected.update({"boundary:bottom": face, "boundary:top": face, "boundary:interface_1": face,
                     "boundary:interface_2": face, "boundary:sides": perimeter * T})
    assert_measures(measures(d), expected, rel=1e-12)
    f2c = d.mesh.topology.connectivity(dimension - 1, dimension)
    for name in ("interface_1", "interface_2"):
        facets = d.facet_tags.indices[d.facet_tags.values == d.boundaries[name]]
        assert all(f2c.links(f).size == 2 for f in facets)


def test_layered_slab_conducts_like_resistances_in_series():
    """Steady conduction T = 1 (bottom), 0 (top): the flux is 1 / sum(t_i / k_i)."""
    import dolfinx.fem
    import dolfinx.fem.petsc
    import ufl

    from thermocfd.physics.materials import material

    k = {"glass": material("borosilicate").thermal_conductivity, "fluid": 0.6,
         "pdms": material("pdms").thermal_conductivity}
    d = layered_slab(LAYERS, 1e-3, dimension=2, cells_per_layer=2, cells_across=2)
    V = compat.function_space(d.mesh, "Lagrange", 1)
    DG = compat.function_space(d.mesh, "DG", 0)
    kappa = dolfinx.fem.Function(DG)
    for name, tag in d.regions.items():
        kappa.x.array[d.cell_tags.indices[d.cell_tags.values == tag]] = k[name]
    u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
    fdim = d.dim - 1
    bcs = []
    for name, value in (("bottom", 1.0), ("top", 0.0)):
        dofs = compat.locate_dofs_topological(V, fdim, d.facet_tags.indices[d.facet_tags.values == d.boundaries[name]])
        bcs.append(dolfinx.fem.dirichletbc(compat.ScalarType(value), dofs, V))
    zero = compat.constant(d.mesh, 0.0)
    problem = dolfinx.fem.petsc.LinearProblem(kappa * ufl.inner(ufl.grad(u), ufl.grad(v)) * ufl.dx, zero * v * ufl.dx,
                                              bcs=bcs, petsc_options={"ksp_type": "preonly", "pc_type": "lu"})
    T = problem.solve()
    n = ufl.FacetNormal(d.mesh)
    flux = dolfinx.fem.assemble_scalar(dolfinx.fem.form(-kappa * ufl.dot(ufl.grad(T), n) * d.ds("top")))
    width = 1e-3 / d.length_scale
    resistance = sum(t / k[name] for name, t in LAYERS) / d.length_scale  # in scaled lengths
    assert flux / width == pytest.approx(1.0 / resistance, rel=1e-10)


# --- write_msh round trip ------------------------------------------------------------
ROUND_TRIP = {
    "two_wall_cell_2d": lambda: meshes.two_wall_cell(100 * UM, 25 * UM, None, 0.5),
    "chamber_3d": lambda: meshes.chamber(200 * UM, 40 * UM, 3, 0.3, (0.0, 0.0), 20 * UM),
    "chip_3d": lambda: pdms_glass_chip(**CHIP, heaters=HEATERS, posts=[(420 * UM, 0.0, 20 * UM)], dimension=3,
                                       resolution=0.5),
    "chip_2d": lambda: pdms_glass_chip(**CHIP, heaters=HEATERS, dimension=2),
    "slab_3d": lambda: layered_slab(LAYERS, 1e-3, dimension=3, cells_per_layer=2),
}


def assert_same_domain(original, back, original_measures, back_measures, rel=1e-12):
    assert back.num_cells() == original.num_cells()
    assert back.regions == original.regions and back.boundaries == original.boundaries
    assert back.length_scale == original.length_scale
    assert sorted(back_measures) == sorted(original_measures)
    for key, value in original_measures.items():
        assert back_measures[key] == pytest.approx(value, rel=rel, abs=1e-300), key


@pytest.mark.parametrize("name", sorted(ROUND_TRIP))
def test_write_msh_round_trip(name, tmp_path):
    d = ROUND_TRIP[name]()
    path = meshes.write_msh(d, tmp_path / f"{name}.msh")
    back = meshes.read_mesh(path, unit=1.0, length_scale=d.length_scale)
    assert_same_domain(d, back, measures(d), measures(back))
    # physical metres in the file
    lower, upper = meshes.mesh_bounds(back.mesh)
    lower0, upper0 = meshes.mesh_bounds(d.mesh)
    assert np.allclose(lower, lower0, rtol=0, atol=1e-12 * np.abs(upper0).max())
    assert np.allclose(upper, upper0, rtol=0, atol=1e-12 * np.abs(upper0).max())


def test_write_msh_round_trip_quadratic_geometry(tmp_path):
    """Curved (P2) particle meshes: gmsh's and dolfinx's node orders differ."""
    meshio = pytest.importorskip("meshio")
    from thermocfd.fem.particle_mesh import sphere_in_box

    d = sphere_in_box(1 * UM, 3 * UM, resolution=0.5)
    path = meshes.write_msh(d, tmp_path / "sphere.msh")
    back = meshes.read_mesh(path, unit=1.0, length_scale=d.length_scale)
    assert_same_domain(d, back, p2_measures(d), p2_measures(back))
    # the file's edge nodes sit near the middle of their edges (a wrong order would not)
    m = meshio.read(path)
    for kind, pairs in (("tetra10", [(0, 1), (1, 2), (0, 2), (0, 3), (1, 3), (2, 3)]),  # meshio (VTK) order
                        ("triangle6", [(0, 1), (1, 2), (0, 2)])):
        c = m.cells_dict[kind]
        p = m.points[c]
        nv = 4 if kind == "tetra10" else 3
        for k, (i, j) in enumerate(pairs):
            edge = np.linalg.norm(p[:, i] - p[:, j], axis=1)
            off = np.linalg.norm(p[:, nv + k] - 0.5 * (p[:, i] + p[:, j]), axis=1)
            assert np.all(off < 0.2 * edge), (kind, k)


def test_write_msh_round_trip_quadratic_triangles(tmp_path):
    """A 2D P2 mesh (a disk in a square, curved edges: triangle6 / line3)."""
    gmsh = meshes._gmsh()
    gmsh.model.add("disk_in_square")
    occ = gmsh.model.occ
    square, disk = occ.addRectangle(-2, -2, 0, 4, 4), occ.addDisk(0.3, 0, 0, 1, 1)
    _, children = occ.fragment([(2, square)], [(2, disk)])
    occ.synchronize()
    inside = [t for _, t in children[1]]
    gmsh.model.addPhysicalGroup(2, [t for _, t in gmsh.model.getEntities(2) if t not in inside], 1)
    gmsh.model.setPhysicalName(2, 1, "fluid")
    gmsh.model.addPhysicalGroup(2, inside, 2)
    gmsh.model.setPhysicalName(2, 2, "particle")
    circle = [t for _, t in gmsh.model.getBoundary([(2, t) for t in inside], oriented=False)]
    gmsh.model.addPhysicalGroup(1, circle, 1)
    gmsh.model.setPhysicalName(1, 1, "particle_surface")
    gmsh.model.addPhysicalGroup(1, [t for _, t in gmsh.model.getEntities(1) if t not in circle], 2)
    gmsh.model.setPhysicalName(1, 2, "outer")
    meshes.generate_mesh(gmsh, 2, {"Mesh.MeshSizeMax": 0.5})
    gmsh.model.mesh.setOrder(2)
    d = meshes._to_domain(gmsh, MPI.COMM_WORLD, 2, 1e-6, {})
    original = p2_measures(d)
    assert original["region:particle"] == pytest.approx(math.pi, rel=1e-3)  # curved: close to the circle
    back = meshes.read_mesh(meshes.write_msh(d, tmp_path / "disk.msh"), unit=1.0, length_scale=1e-6)
    assert_same_domain(d, back, original, p2_measures(back))


MPI_SCRIPT = """
import json, sys
sys.path.insert(0, {tests!r})
from mpi4py import MPI
from test_chip_mesh import ROUND_TRIP, interior_facet_measure, measures, region_counts
from thermocfd.fem import mesh as meshes
out = {{}}
for name in ("two_wall_cell_2d", "chip_3d"):
    d = ROUND_TRIP[name]()
    local = d.mesh.topology.index_map(d.dim).size_local
    meshes.write_msh(d, {tmp!r} + "/" + name + ".msh")
    out[name] = {{"cells": d.num_cells(), "measures": measures(d), "regions": d.regions,
                  "interior_facets": interior_facet_measure(d),
                  "boundaries": d.boundaries, "length_scale": d.length_scale,
                  "local": MPI.COMM_WORLD.allgather(local)}}
if MPI.COMM_WORLD.rank == 0:
    json.dump(out, open({tmp!r} + "/parallel.json", "w"))
"""


@pytest.mark.mpi
@needs_mpirun
def test_write_msh_from_two_ranks_reads_back_in_serial(tmp_path):
    script = tmp_path / "write.py"
    script.write_text(MPI_SCRIPT.format(tests=str(ROOT / "tests"), tmp=str(tmp_path)))
    run = on_two_ranks([sys.executable, script], cwd=ROOT,
                       env={"PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")})
    assert run.returncode == 0, run.stderr[-3000:]
    parallel = json.loads((tmp_path / "parallel.json").read_text())
    for name, info in parallel.items():
        assert len(info["local"]) == 2 and min(info["local"]) > 0  # really distributed
        back = meshes.read_mesh(tmp_path / f"{name}.msh", unit=1.0, length_scale=info["length_scale"],
                                comm=MPI.COMM_SELF)
        assert back.num_cells() == info["cells"]
        assert back.regions == info["regions"] and back.boundaries == info["boundaries"]
        got = measures(back)
        for key, value in info["measures"].items():
            assert got[key] == pytest.approx(value, rel=1e-12), (name, key)
        assert interior_facet_measure(back) == pytest.approx(info["interior_facets"], rel=1e-12), name


def interior_facet_measure(domain) -> float:
    """Total measure of the interior facets, assembled by dolfinx (summed over ranks).

    Under MPI this needs both cells of each facet on the facet's rank (shared-facet
    ghosting): interior surfaces such as a particle meshed as a region rely on it."""
    import dolfinx.fem
    import ufl

    one = dolfinx.fem.Constant(domain.mesh, 1.0)
    local = dolfinx.fem.assemble_scalar(dolfinx.fem.form(one * ufl.dS(domain=domain.mesh)))
    return domain.comm.allreduce(local, op=MPI.SUM)


def test_builders_survive_a_users_gmsh_finalize():
    """A dolfinx user's script may end gmsh's session itself; thermocfd's builders then
    start a new one instead of failing with gmsh's 'Could not get last error'."""
    import gmsh

    from thermocfd.fem.mesh import two_wall_cell

    first = two_wall_cell(1e-4, 2.5e-5, None, 0.5)
    gmsh.finalize()
    again = two_wall_cell(1e-4, 2.5e-5, None, 0.5)
    assert again.num_cells() == first.num_cells() > 0
