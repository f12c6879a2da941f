"""Comparing PETSc vectors and matrix actions in the Stokes tests."""

from petsc4py import PETSc


def assert_same_vector(x: PETSc.Vec, y: PETSc.Vec, rtol: float = 1e-13) -> None:
    """``|x - y| < rtol |y|`` (and y is not zero)."""
    scale = y.norm()
    assert scale > 0
    difference = x.copy()
    difference.axpy(-1.0, y)
    assert difference.norm() < rtol * scale


def assert_same_action(A: PETSc.Mat, B: PETSc.Mat, x: PETSc.Vec) -> None:
    """A and B give the same product on x (randomised here; any vector both accept)."""
    x.setRandom()
    y_a, y_b = x.duplicate(), x.duplicate()
    A.mult(x, y_a)
    B.mult(x, y_b)
    assert_same_vector(y_a, y_b)
