"""Affine cells of curved meshes at the affine quadrature degree (fem/quadrature.py): the
split forms assemble to the unsplit tensors, on one rank and on two."""

import json
import os
import sys
from pathlib import Path

import dolfinx.fem
import dolfinx.fem.petsc
import numpy as np
import pytest
import ufl
from mpi4py import MPI
from petsc4py import PETSc
from ufl.algorithms.compute_form_data import compute_form_data

from mpirun import needs_mpirun, on_two_ranks
from thermocfd.fem import compat, particle_mesh, quadrature
from thermocfd.fem.curved_mesh import curve_to_second_order
from thermocfd.fem.particle_mesh import SphereSpec, spheres_in_box

ROOT = Path(__file__).resolve().parents[1]
SPHERE = SphereSpec((0.0, 0.0, 0.0), 1.0)


def sphere_in_box(comm=MPI.COMM_SELF):
    return spheres_in_box([SPHERE], (-2.5, -2.0, -2.0), (2.5, 2.0, 2.0), surface_size=0.5, far_size=1.2,
                          comm=comm)


@pytest.fixture(scope="module")
def domain():
    return sphere_in_box()


def test_curved_cells_are_those_with_an_edge_node_on_the_sphere(domain):
    """An edge node on the sphere makes a cell curved (the straight chord's midpoint lies
    inside); every other cell of the sphere-in-box mesh is affine."""
    nodes = domain.mesh.geometry.x[compat.cell_geometry_nodes(domain.mesh)]
    radius = np.linalg.norm(nodes[:, 4:, :], axis=2)  # the six edge nodes (after 4 vertices)
    expected = np.flatnonzero(np.any(np.abs(radius - 1.0) < 1e-12, axis=1))
    curved = quadrature.curved_cells(domain.mesh)
    assert 0 < len(curved) < domain.num_cells() // 2
    assert np.array_equal(np.sort(curved), expected)


def test_a_straight_second_order_mesh_has_no_curved_cells_and_keeps_its_forms(monkeypatch):
    monkeypatch.setattr(particle_mesh, "curve_to_second_order", lambda gmsh, projections:
                        curve_to_second_order(gmsh, {}))
    straight = sphere_in_box()
    assert straight.mesh.geometry.cmap.degree == 2
    assert len(quadrature.curved_cells(straight.mesh)) == 0
    V = compat.function_space(straight.mesh, "Lagrange", 2)
    form = ufl.inner(ufl.grad(ufl.TrialFunction(V)), ufl.grad(ufl.TestFunction(V))) * straight.dx()
    assert quadrature.split_cell_integrals(form) is form


def strain(domain):
    V = compat.function_space(domain.mesh, "Lagrange", 2, shape=(3,))
    u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
    return 2 * ufl.inner(ufl.sym(ufl.grad(u)), ufl.sym(ufl.grad(v))) * domain.dx("fluid")


def divergence(domain):
    V = compat.function_space(domain.mesh, "Lagrange", 2, shape=(3,))
    Q = compat.function_space(domain.mesh, "Lagrange", 1)
    return -ufl.div(ufl.TrialFunction(V)) * ufl.TestFunction(Q) * domain.dx()


def temperature(domain):
    T = dolfinx.fem.Function(compat.function_space(domain.mesh, "Lagrange", 2))
    compat.interpolate(T, lambda x: 1.0 + 0.1 * x[0] * x[1] + 0.05 * x[2] ** 2)
    return T


def weighted_mass_and_surface(domain):
    """A P2 coefficient, both regions by their ids, and a facet integral that the split
    leaves alone."""
    T = temperature(domain)
    u, v = ufl.TrialFunction(T.function_space), ufl.TestFunction(T.function_space)
    ids = tuple(domain.region_tag(name) for name in domain.regions)
    return (1.0 + T ** 2) * u * v * domain.dx()(ids) + T * u * v * domain.ds("xmin")


def viscosity_law(domain):
    """A non-polynomial integrand: no degree integrates it exactly."""
    T = temperature(domain)
    u, v = ufl.TrialFunction(T.function_space), ufl.TestFunction(T.function_space)
    return ufl.exp(-1.0 / T) * ufl.inner(ufl.grad(u), ufl.grad(v)) * domain.dx()


def explicit_degree(domain):
    S = compat.function_space(domain.mesh, "Lagrange", 1)
    x = ufl.SpatialCoordinate(domain.mesh)
    return x[0] ** 2 * ufl.TestFunction(S) * domain.dx(metadata={"quadrature_degree": 3})


def mean_temperature(domain):
    return temperature(domain) * domain.dx()


def assembled(form):
    """The assembled tensor of a compiled form: a PETSc matrix or vector, or a number."""
    rank = len(form.function_spaces)
    if rank == 2:
        A = dolfinx.fem.petsc.assemble_matrix(form)
        A.assemble()
        return A
    if rank == 1:
        b = dolfinx.fem.petsc.assemble_vector(form)
        b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        return b
    return MPI.COMM_WORLD.allreduce(dolfinx.fem.assemble_scalar(form), op=MPI.SUM)


def relative_difference(a, b) -> float:
    """max |a - b| / max |a| of two assembled tensors."""
    if isinstance(a, float):
        return abs(a - b) / abs(a)
    difference = a.copy()
    difference.axpy(-1.0, b) if isinstance(a, PETSc.Vec) else \
        difference.axpy(-1.0, b, structure=PETSc.Mat.Structure.DIFFERENT_NONZERO_PATTERN)
    return difference.norm(PETSc.NormType.INFINITY) / a.norm(PETSc.NormType.INFINITY)


def norm(tensor) -> float:
    return tensor if isinstance(tensor, float) else tensor.norm()


FORMS = {"strain": strain, "divergence": divergence, "weighted mass and surface": weighted_mass_and_surface,
         "viscosity law": viscosity_law, "explicit degree": explicit_degree, "mean temperature": mean_temperature}
# Exact integrands agree to round-off; a non-polynomial one differs by the quadrature error
# of UFL's own estimate for it on an affine mesh (degree 6 here: 1.4e-7).
TOLERANCE = {"viscosity law": 1e-6}


@pytest.mark.parametrize("name", FORMS)
def test_split_forms_assemble_to_the_unsplit_tensors(domain, name):
    form = FORMS[name](domain)
    split = quadrature.split_cell_integrals(form)
    cells = form.integrals_by_type("cell")
    split_cells = split.integrals_by_type("cell")
    assert len(split_cells) == 2 * len(cells)  # an affine and a curved part each
    assert split.integrals_by_type("exterior_facet") == form.integrals_by_type("exterior_facet")
    for itg in cells:
        degree = itg.metadata().get("quadrature_degree")
        parts = [s for s in split_cells if s.integrand() == itg.integrand()]
        assert {s.metadata().get("quadrature_degree") for s in parts} == \
            ({degree} if degree else {quadrature.affine_degree(itg.integrand()), None})
    reference = assembled(dolfinx.fem.form(form))
    assert relative_difference(reference, assembled(quadrature.compile_form(form))) < TOLERANCE.get(name, 1e-12)


def test_the_strain_form_drops_to_degree_two_on_affine_cells(domain):
    form = quadrature.split_cell_integrals(strain(domain))
    degrees = sorted(str(itg.metadata().get("quadrature_degree")) for itg in form.integrals())
    assert degrees == ["2", "None"]  # UFL gives the curved part 5 (det J is cubic)


def ufl_estimate(form) -> int:
    data = compute_form_data(form, do_apply_function_pullbacks=True, do_apply_integral_scaling=True,
                             do_apply_geometry_lowering=True, do_estimate_degrees=True,
                             preserve_geometry_types=(ufl.classes.Jacobian,), do_apply_restrictions=True)
    return max(itg.metadata()["estimated_polynomial_degree"] for group in data.integral_data
               for itg in group.integrals)


def lagrange(degree: int, vector: bool = False):
    """A Lagrange element on tetrahedra, for UFL alone."""
    if compat.LEGACY:
        return (ufl.VectorElement if vector else ufl.FiniteElement)("Lagrange", ufl.tetrahedron, degree)
    import basix.ufl

    return basix.ufl.element("Lagrange", "tetrahedron", degree, shape=(3,) if vector else None)


def integrands(coordinate_degree: int):
    """Integrands on a UFL-only tetrahedral mesh with the given coordinate degree."""
    mesh = ufl.Mesh(lagrange(coordinate_degree, vector=True))
    V = ufl.FunctionSpace(mesh, lagrange(2, vector=True))
    S = ufl.FunctionSpace(mesh, lagrange(2))
    P = ufl.FunctionSpace(mesh, lagrange(1))
    u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
    s, t = ufl.TrialFunction(S), ufl.TestFunction(S)
    p, q = ufl.TrialFunction(P), ufl.TestFunction(P)
    T = ufl.Coefficient(S)
    x = ufl.SpatialCoordinate(mesh)
    return {"strain": ufl.inner(ufl.sym(ufl.grad(u)), ufl.sym(ufl.grad(v))),
            "laplacian": ufl.inner(ufl.grad(s), ufl.grad(t)), "divergence": ufl.div(u) * q,
            "mass": p * q, "coordinate": x[0] * p * q, "viscosity law": ufl.exp(-1.0 / T) * ufl.inner(ufl.grad(u), ufl.grad(v)),
            "rotation": ufl.inner(ufl.cross(ufl.as_vector((0.0, 0.0, 1.0)), x), v)}


def test_affine_degree_is_the_estimate_on_an_affine_mesh():
    curved, affine = integrands(2), integrands(1)
    for name in curved:
        assert quadrature.affine_degree(curved[name]) == ufl_estimate(affine[name] * ufl.dx), name
        assert ufl_estimate(curved[name] * ufl.dx) > quadrature.affine_degree(curved[name]), name


MPI_SCRIPT = """
import json, sys
sys.path.insert(0, {tests!r})
from mpi4py import MPI
import numpy as np
from test_quadrature import FORMS, assembled, norm, sphere_in_box
import dolfinx.fem
from thermocfd.fem import quadrature
domain = sphere_in_box(MPI.COMM_WORLD)
curved = MPI.COMM_WORLD.allreduce(len(quadrature.curved_cells(domain.mesh)), op=MPI.SUM)
out = {{"curved": curved, "local": MPI.COMM_WORLD.allgather(domain.mesh.topology.index_map(3).size_local)}}
for name, build in FORMS.items():
    form = build(domain)
    out[name] = [norm(assembled(dolfinx.fem.form(form))), norm(assembled(quadrature.compile_form(form)))]
if MPI.COMM_WORLD.rank == 0:
    json.dump(out, open({tmp!r} + "/parallel.json", "w"))
"""


@pytest.mark.mpi
@needs_mpirun
def test_split_forms_on_two_ranks(tmp_path, domain):
    script = tmp_path / "split.py"
    script.write_text(MPI_SCRIPT.format(tests=str(ROOT / "tests"), tmp=str(tmp_path)))
    run = on_two_ranks([sys.executable, script], cwd=ROOT,
                       env={"PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")})
    assert run.returncode == 0, run.stderr[-3000:]
    parallel = json.loads((tmp_path / "parallel.json").read_text())
    assert min(parallel["local"]) > 0
    assert parallel["curved"] >= len(quadrature.curved_cells(domain.mesh))  # ghost cells count twice
    for name in FORMS:
        unsplit, split = parallel[name]
        assert split == pytest.approx(unsplit, rel=TOLERANCE.get(name, 1e-12)), name
        assert split == pytest.approx(norm(assembled(quadrature.compile_form(FORMS[name](domain)))), rel=1e-10), name
