"""The block preconditioner of the 3D Stokes solver: its iteration counts stay within a
bound and flat under refinement (a regression of the preconditioner shows up here first),
and both velocity blocks give the direct solver's answer.

Sphere translating in a closed box, P2-P1 on curved cells, GMRES at rtol 1e-8. Measured
(translation solve; larger sizes in benchmarks/bench_stokes.py): the Laplacian block
49-52 iterations and the strain block 30-31 from 16k to 87k dofs.
"""

import math

import dolfinx.fem
import numpy as np
import pytest

from thermocfd.fem import compat
from thermocfd.fem.mesh import structured_domain
from thermocfd.fem.mobility import MobilityProblem
from thermocfd.fem.particle_mesh import sphere_in_box
from thermocfd.fem.stokes import Boussinesq, NoSlip, PrescribedVelocity, Pressure, StokesProblem

from petsc_checks import assert_same_action, assert_same_vector

MAX_ITERATIONS = {"laplacian": 56, "strain": 33}
RESOLUTIONS = (0.4, 0.75)  # about 10k and 22k dofs


def translation_drag(domain, **options):
    """Drag / (6 pi mu a U) of the unit translation along x, and the Krylov iterations."""
    problem = MobilityProblem(domain, 1.0, **options)
    stokes = problem.stokes
    stokes.set_rigid_motion("particle", (1.0, 0.0, 0.0), scaled=True)
    stokes.solve()
    drag = -stokes._rigid_loads_scaled("particle")[0] / (6.0 * math.pi)
    iterations = stokes.iterations[-1] if stokes.iterations else 0
    dofs = stokes.A.getSize()[0]
    stokes.destroy()
    return drag, iterations, dofs


@pytest.fixture(scope="module")
def domains():
    return [sphere_in_box(1.0, 6.0, surface_size=0.3, far_size=1.5, resolution=r) for r in RESOLUTIONS]


@pytest.mark.parametrize("velocity_block", ["laplacian", "strain"])
def test_iterations_bounded_and_flat(domains, velocity_block):
    runs = [translation_drag(d, velocity_block=velocity_block) for d in domains]
    print(velocity_block, [(dofs, its) for _, its, dofs in runs])
    assert runs[1][2] > 1.6 * runs[0][2]  # the second mesh is really finer
    iterations = [its for _, its, _ in runs]
    assert max(iterations) <= MAX_ITERATIONS[velocity_block], iterations
    assert iterations[1] <= 1.2 * iterations[0] + 2, iterations
    # the preconditioner changes the path, not the answer: the direct solver's drag
    direct = translation_drag(domains[0], solver="direct")[0]
    assert abs(runs[0][0] / direct - 1.0) < 1e-7


def test_krylov_operator_is_the_monolithic_matrix(domains):
    """The Krylov solver's operator (a MatNest with a BAIJ velocity block, applied to the
    monolithic vectors) is MUMPS's monolithic AIJ matrix, row for row; the strain block's
    AIJ copy for hypre is the nest's velocity block, with the dimension as block size."""
    iterative = MobilityProblem(domains[0], 1.0, velocity_block="strain").stokes
    direct = MobilityProblem(domains[0], 1.0, solver="direct").stokes
    assert iterative.A.getType() == "nest" and direct.A.getType() != "nest"
    assert_same_action(iterative.A, direct.A, direct.b.duplicate())  # monolithic vectors for both
    velocity = iterative.A.getNestSubMatrix(0, 0)
    assert velocity.getType().endswith("baij") and "baij" not in iterative.velocity_matrix.getType()
    assert iterative.velocity_matrix.getBlockSize() == 3
    assert_same_action(iterative.velocity_matrix, velocity, velocity.createVecRight())
    iterative.destroy()
    direct.destroy()


def dolfinx_right_hand_side(stokes):
    """The right-hand side as dolfinx's block assembly with lifting makes it."""
    b = compat.create_vector_block(stokes._L)
    with b.localForm() as local:
        local.set(0.0)
    compat.assemble_vector_block(b, stokes._L, stokes._a, stokes.bcs)
    if stokes.null_space is not None:
        stokes.null_space.remove(b)
    return b


def test_right_hand_side_is_dolfinx_lifting(domains):
    """The right-hand side (the Dirichlet data lifted by one product with the operator's
    columns at the Dirichlet dofs) is dolfinx's lifting: for a rigid motion of the particle
    (solids, pinned pressures, null space), and for a channel with inflow, a pressure outlet
    and buoyancy (a load form too)."""
    stokes = MobilityProblem(domains[0], 1.0).stokes
    stokes.set_rigid_motion("particle", (0.3, -1.0, 0.5), (0.2, 0.7, -1.1), scaled=True)
    assert_same_vector(stokes.assemble_rhs(), dolfinx_right_hand_side(stokes))
    stokes.destroy()

    sides = {"inlet": lambda x: np.isclose(x[0], 0.0), "outlet": lambda x: np.isclose(x[0], 4.0),
             "walls": lambda x: np.isclose(x[1], 0.0) | np.isclose(x[1], 1.0)}
    channel = structured_domain([4.0, 1.0], [12, 4], sides, length_scale=1e-6)
    T = dolfinx.fem.Function(compat.function_space(channel.mesh, "Lagrange", 2))
    compat.interpolate(T, lambda x: 300.0 + 0.5 * x[0] * x[1])
    flow = StokesProblem(channel, 1e-3, [NoSlip("walls"), Pressure("outlet", 2.0),
                                         PrescribedVelocity("inlet", lambda x: np.array([x[1] * (1e-6 - x[1]) * 1e8,
                                                                                         0 * x[1], 0 * x[1]]))],
                         temperature=T, buoyancy=Boussinesq(1000.0, 2e-4, 300.0, (0.0, -9.81, 0.0)),
                         velocity_scale=1e-4)
    assert_same_vector(flow.assemble_rhs(), dolfinx_right_hand_side(flow))
    flow.destroy()


def test_unknown_velocity_block_is_refused(domains):
    with pytest.raises(ValueError, match="velocity_block"):
        MobilityProblem(domains[0], 1.0, velocity_block="vector")
