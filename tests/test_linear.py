"""Solvers leave PETSc's global options database as they found it (it holds at most 512
entries per process in PETSc 3.18: a long run or test session would otherwise fill it)."""

import numpy as np
from petsc4py import PETSc

import pytest

from thermocfd.errors import SolverError
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


@pytest.mark.parametrize("linear_solver, conductivity, message", [
    ("direct", float("nan"), "not finite"),       # a non-finite coefficient (a library caller's)
    ("iterative", 1.0, "DIVERGED_MAX_IT"),        # a Krylov solve capped at 1 iteration
])
def test_solver_faults_are_reported_with_what_to_change(linear_solver, conductivity, message):
    sides = {"left": lambda x: np.isclose(x[0], 0.0), "right": lambda x: np.isclose(x[0], 1.0)}
    domain = structured_domain([1.0, 1.0], [8, 8], sides)
    heat = HeatProblem(domain, conductivity, [FixedTemperature("left", 1.0), FixedTemperature("right", 0.0)],
                       linear_solver=linear_solver, rtol=1e-14)
    system = heat._system(0)
    if linear_solver == "iterative":
        system.ksp.setTolerances(max_it=1)
    with pytest.raises(SolverError, match=message) as error:
        heat.solve_steady()
    assert "solver" in str(error.value)
