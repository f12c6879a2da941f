"""Solvers leave PETSc's global options database as they found it (it holds at most 512
entries per process in PETSc 3.18: a long run or test session would otherwise fill it)."""

import numpy as np
from petsc4py import PETSc

from thermocfd.fem.heat import FixedTemperature, HeatProblem
from thermocfd.fem.mesh import structured_domain


def test_solvers_do_not_accumulate_petsc_options():
    sides = {"left": lambda x: np.isclose(x[0], 0.0), "right": lambda x: np.isclose(x[0], 1.0)}
    domain = structured_domain([1.0, 1.0], [4, 4], sides)
    before = len(PETSc.Options().getAll())
    for linear_solver in ("direct", "iterative", "direct"):
        HeatProblem(domain, 1.0, [FixedTemperature("left", 1.0), FixedTemperature("right", 0.0)],
                    linear_solver=linear_solver).solve_steady()
    assert len(PETSc.Options().getAll()) == before
