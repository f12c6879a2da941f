"""Assembled linear systems and PETSc solvers with one options prefix each.

PETSc options are global; every solver here gets its own prefix so that, e.g., the heat
and transport solvers of one run never pick up each other's settings.
"""

from __future__ import annotations

import itertools
import math

import dolfinx.fem
import dolfinx.fem.petsc
from petsc4py import PETSc

from ..errors import SolverError
from ..physics.schedule import bdf2_coefficients
from . import compat
from .quadrature import compile_form

_counter = itertools.count()

DIRECT = {"ksp_type": "preonly", "pc_type": "lu", "pc_factor_mat_solver_type": "mumps"}


# BoomerAMG's settings for 3D (hypre's manual: classical coarsening with the default strength
# threshold 0.25 builds dense coarse levels on 3D stencils). P2 heat of the phoretic
# sphere, 1e6-dof mesh, 2 ranks, rtol 1e-10: 13.5 s with the defaults, 4.6 s with these
# (|dT| 2e-7 K apart, within the tolerance); aggressive coarsening on top: 5.4 s.
BOOMERAMG_3D = {"pc_hypre_boomeramg_strong_threshold": 0.5, "pc_hypre_boomeramg_coarsen_type": "HMIS",
                "pc_hypre_boomeramg_interp_type": "ext+i", "pc_hypre_boomeramg_P_max": 4}


def iterative_options(symmetric: bool, rtol: float, dim: int) -> dict[str, object]:
    """CG (symmetric) or GMRES with BoomerAMG: scalable for large 3D conduction/transport."""
    return {"ksp_type": "cg" if symmetric else "gmres", "ksp_rtol": rtol, "ksp_atol": 0.0,
            "ksp_max_it": 2000, "pc_type": "hypre", "pc_hypre_type": "boomeramg",
            **(BOOMERAMG_3D if dim == 3 else {})}


def set_options(prefix: str, options: dict) -> None:
    """Put a solver's options into PETSc's (global) database under its own prefix."""
    database = PETSc.Options()
    for key, value in options.items():
        database[f"{prefix}{key}"] = value


def forget_options(prefix: str, options: dict) -> None:
    """Remove them once the solver has read them (after its first solve: preconditioners
    and factorisations read theirs at set-up). PETSc 3.18 holds at most 512 options per
    process, which a long run or a test session with many solvers would otherwise fill."""
    database = PETSc.Options()
    for key in options:
        database.delValue(f"{prefix}{key}")


class LinearSystem:
    """``a(u, v) = L(v)`` with Dirichlet conditions: assemble and solve with a KSP.

    The matrix is reassembled only when :meth:`assemble_matrix` is called (time-stepping
    with fixed coefficients reuses the factorisation).
    """

    def __init__(self, a, L, bcs, solution: dolfinx.fem.Function, options: dict, name: str):
        self.a = compile_form(a)
        self.L = compile_form(L)
        self.bcs = list(bcs)
        self.solution = solution
        self.prefix = f"thermocfd_{name}_{next(_counter)}_"
        self.A = dolfinx.fem.petsc.create_matrix(self.a)
        self.b = dolfinx.fem.petsc.create_vector(self.L)
        self.ksp = PETSc.KSP().create(solution.function_space.mesh.comm)
        self.ksp.setOptionsPrefix(self.prefix)
        self._options = dict(options)
        set_options(self.prefix, self._options)
        self.ksp.setFromOptions()
        self.ksp.setOperators(self.A)
        self.iterations = 0
        self.assemble_matrix()

    def assemble_for(self, key) -> None:
        """Reassemble the matrix only when ``key`` (e.g. the time step) has changed."""
        if getattr(self, "_assembled_for", None) != key:
            self.assemble_matrix()
            self._assembled_for = key

    def assemble_matrix(self) -> None:
        self.A.zeroEntries()
        dolfinx.fem.petsc.assemble_matrix(self.A, self.a, bcs=self.bcs)
        self.A.assemble()
        self.ksp.setOperators(self.A)

    def solve(self) -> dolfinx.fem.Function:
        with self.b.localForm() as local:
            local.set(0.0)
        dolfinx.fem.petsc.assemble_vector(self.b, self.L)
        dolfinx.fem.petsc.apply_lifting(self.b, [self.a], bcs=[self.bcs])
        self.b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        dolfinx.fem.petsc.set_bc(self.b, self.bcs)
        x = compat.petsc_vector(self.solution)
        self.ksp.solve(self.b, x)
        if self._options:
            forget_options(self.prefix, self._options)
            self._options = {}
        reason = self.ksp.getConvergedReason()
        if reason < 0:
            name = ksp_reason_name(reason)
            advice = ("the matrix could not be factorised or preconditioned: a coefficient is not finite or "
                      "vanishes somewhere, or the problem is singular (nothing fixes the level of the solution)"
                      if "PC" in name else "the iterative solver did not converge: use solver.linear_solver = "
                      "'direct', or a looser solver.rtol")
            raise SolverError(f"the linear solver {self.prefix} failed ({name} after "
                              f"{self.ksp.getIterationNumber()} iterations): {advice}")
        if not math.isfinite(x.norm()):  # a direct solve of a matrix with NaN/inf entries "converges"
            raise SolverError(f"the linear solver {self.prefix} returned NaN or inf: a coefficient of the problem "
                              "is not finite or overflows (check the property laws over the temperature range)")
        self.iterations = self.ksp.getIterationNumber()
        self.solution.x.scatter_forward()
        return self.solution

    def destroy(self) -> None:
        self.ksp.destroy()
        self.A.destroy()
        self.b.destroy()


def ksp_reason_name(reason: int) -> str:
    """PETSc's name of a KSP converged reason, e.g. DIVERGED_ITS."""
    names = {value: name for name, value in vars(PETSc.KSP.ConvergedReason).items() if isinstance(value, int)}
    return names.get(reason, f"PETSc reason {reason}")


def shift_history(history, current) -> None:
    """Before a BDF step: u^{n-1} <- u^n, u^n <- the current solution."""
    history[1].x.array[:] = history[0].x.array
    history[0].x.array[:] = current.x.array


class VariableBDF2:
    """The BDF2 weights of the forms as Constants, set from the step ratio at every step
    (:func:`thermocfd.physics.schedule.bdf2_coefficients`; constant steps: 3/2, -2, 1/2)."""

    def __init__(self, mesh):
        self.weights = [compat.constant(mesh, a) for a in bdf2_coefficients(1.0)]
        self.previous_step: float | None = None

    def set_step(self, dt: float, second_order: bool) -> float:
        """Before a step of size dt: the weights for it (those of a BDF2 step that follows
        the previous one); returns the step ratio."""
        ratio = dt / self.previous_step if second_order and self.previous_step else 1.0
        for constant, value in zip(self.weights, bdf2_coefficients(ratio)):
            constant.value = value
        self.previous_step = dt
        return ratio

