"""Newton's method for dolfinx residual forms through PETSc SNES.

One :class:`NewtonSolver` per residual: PETSc's line-search Newton (``newtonls`` with a
backtracking line search) under an options prefix of its own, so that every setting can be
changed from the options database (``-<prefix>snes_linesearch_type l2``, ...). The outcome
is a :class:`NewtonReport` that says in words why SNES stopped; the caller decides whether
that is a failure and what to advise.

The linear solver inside Newton is given as PETSc options: a direct factorisation, or a
Krylov method with a field-split preconditioner whose fields are passed as index sets
(:func:`field_index_sets`), optionally built from a preconditioning form of its own.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Sequence

import dolfinx.fem
import dolfinx.fem.petsc
import numpy as np
from petsc4py import PETSc

from .. import log
from . import compat
from .linear import forget_options, ksp_reason_name, set_options

_counter = itertools.count()

# why SNES stopped, as a user reads it
_REASONS = {
    "CONVERGED_FNORM_ABS": "converged: residual below the absolute tolerance",
    "CONVERGED_FNORM_RELATIVE": "converged: residual reduced by the relative tolerance",
    "CONVERGED_SNORM_RELATIVE": "converged: Newton step at round-off",
    "CONVERGED_ITS": "converged: iteration limit reached as asked",
    "DIVERGED_FUNCTION_DOMAIN": "diverged: residual undefined at the iterate",
    "DIVERGED_FUNCTION_COUNT": "diverged: too many residual evaluations",
    "DIVERGED_LINEAR_SOLVE": "diverged: the linear solver failed",
    "DIVERGED_FNORM_NAN": "diverged: residual is NaN or inf",
    "DIVERGED_MAX_IT": "diverged: iteration limit reached",
    "DIVERGED_LINE_SEARCH": "diverged: the line search found no decrease",
    "DIVERGED_INNER": "diverged: inner solve failed",
    "DIVERGED_LOCAL_MIN": "diverged: stuck in a local minimum of |F|",
    "DIVERGED_DTOL": "diverged: residual grew beyond the divergence tolerance",
    "DIVERGED_JACOBIAN_DOMAIN": "diverged: Jacobian undefined at the iterate",
    "DIVERGED_TR_DELTA": "diverged: trust region collapsed",
}


def snes_reason_name(reason: int) -> str:
    """PETSc's name of a SNES converged reason, e.g. DIVERGED_LINE_SEARCH."""
    names = {value: name for name, value in vars(PETSc.SNES.ConvergedReason).items()
             if isinstance(value, int) and not name.startswith("_")}
    return names.get(reason, f"PETSc reason {reason}")


@dataclass
class NewtonReport:
    """What a nonlinear solve did (summary.json keeps it)."""

    iterations: int = 0
    residuals: list[float] = field(default_factory=list)
    linear_iterations: list[int] = field(default_factory=list)  # per Newton step
    converged: bool = False
    reason: str = ""  # PETSc's name, e.g. CONVERGED_FNORM_RELATIVE
    linear_reason: str = ""  # the KSP's, when the linear solve failed (e.g. DIVERGED_PC_FAILED)
    method: str = "newton"  # or "continuation", "pseudo_transient"
    continuation: list[float] = field(default_factory=list)  # parameter values of converged steps
    pseudo_time_steps: int = 0
    slip_iterations: int = 0  # outer fixed-point iterations of the thermo-osmotic slip

    @property
    def reason_text(self) -> str:
        text = _REASONS.get(self.reason, self.reason)
        return f"{text} ({self.linear_reason})" if self.linear_reason else text

    @property
    def linear_solve_failed(self) -> bool:
        return self.reason == "DIVERGED_LINEAR_SOLVE"

    def absorb(self, other: "NewtonReport") -> None:
        """Add the work of a further solve (continuation steps) to this report."""
        self.iterations += other.iterations
        self.residuals += other.residuals
        self.linear_iterations += other.linear_iterations
        self.converged, self.reason, self.linear_reason = other.converged, other.reason, other.linear_reason

    def summary(self) -> dict:
        return {"method": self.method, "converged": self.converged, "reason": self.reason,
                "reason_text": self.reason_text, "linear_reason": self.linear_reason, "newton_iterations": self.iterations,
                "linear_iterations": self.linear_iterations, "continuation_steps": len(self.continuation),
                "continuation_parameter": self.continuation, "pseudo_time_steps": self.pseudo_time_steps,
                "slip_iterations": self.slip_iterations}


def field_index_sets(W: dolfinx.fem.FunctionSpace, names: Sequence[str],
                     block_sizes: Sequence[int] | None = None) -> list[tuple[str, PETSc.IS]]:
    """(name, IS of the owned global dofs) for each subspace of a mixed space, in order.
    ``block_sizes``: of a vector subspace, whose components dolfinx numbers consecutively
    per node (hypre's BoomerAMG then coarsens each component on its own)."""
    index_map = W.dofmap.index_map
    owned = index_map.size_local * W.dofmap.index_map_bs
    sets = []
    for i, name in enumerate(names):
        _, dofs = compat.collapse(W.sub(i))
        dofs = np.asarray(dofs, dtype=np.int32)
        dofs = np.sort(dofs[dofs < owned])
        global_dofs = np.asarray(index_map.local_to_global(dofs), dtype=PETSc.IntType)
        index_set = PETSc.IS().createGeneral(global_dofs, comm=W.mesh.comm)
        if block_sizes is not None and block_sizes[i] > 1:
            index_set.setBlockSize(block_sizes[i])
        sets.append((name, index_set))
    return sets


class NewtonSolver:
    """Solve ``F(u; v) = 0`` for the Function ``u`` with Dirichlet conditions by SNES.

    ``F`` and ``J`` are compiled forms; ``P_correction`` an optional form whose matrix
    added to J's is what the preconditioner sees (the Krylov method sees J): it must
    lie in J's sparsity pattern (so that ``J + correction`` is a copy and one cheap
    assembly, not a second Jacobian assembly).
    ``options``: PETSc options for SNES, KSP and PC without prefix; ``fields``: index
    sets for a field-split preconditioner (``pc_type fieldsplit`` in ``options``).
    """

    def __init__(self, F: dolfinx.fem.Form, J: dolfinx.fem.Form, solution: dolfinx.fem.Function, bcs,
                 options: dict, *, P_correction: dolfinx.fem.Form | None = None,
                 fields: Sequence[tuple[str, PETSc.IS]] = (), name: str = "newton", quiet: bool = False):
        self.F, self.J, self.P_correction = F, J, P_correction
        self.solution = solution
        self.bcs = list(bcs)
        self.quiet = quiet
        comm = solution.function_space.mesh.comm
        self.A = dolfinx.fem.petsc.create_matrix(J)
        self.Pmat = dolfinx.fem.petsc.create_matrix(J) if P_correction is not None else None
        self.b = dolfinx.fem.petsc.create_vector(F)
        self.prefix = f"thermocfd_{name}_{next(_counter)}_"
        self.snes = PETSc.SNES().create(comm)
        self.snes.setOptionsPrefix(self.prefix)
        self._options = {"snes_type": "newtonls", "snes_linesearch_type": "bt", **options}
        set_options(self.prefix, self._options)
        self.snes.setFunction(self._residual, self.b)
        self.snes.setJacobian(self._jacobian, self.A, self.Pmat if self.Pmat is not None else self.A)
        if fields:
            pc = self.snes.getKSP().getPC()
            pc.setType("fieldsplit")
            pc.setFieldSplitIS(*fields)
        self.snes.setFromOptions()
        self.snes.setMonitor(self._monitor)
        self._report = NewtonReport()
        self._solved = False

    # --- SNES callbacks -------------------------------------------------------------
    def _update_solution(self, x: PETSc.Vec) -> None:
        x.ghostUpdate(addv=PETSc.InsertMode.INSERT, mode=PETSc.ScatterMode.FORWARD)
        target = compat.petsc_vector(self.solution)
        if x.handle != target.handle:
            x.copy(target)
            target.ghostUpdate(addv=PETSc.InsertMode.INSERT, mode=PETSc.ScatterMode.FORWARD)

    def _residual(self, snes: PETSc.SNES, x: PETSc.Vec, b: PETSc.Vec) -> None:
        self._update_solution(x)
        with b.localForm() as local:
            local.set(0.0)
        dolfinx.fem.petsc.assemble_vector(b, self.F)
        compat.apply_lifting(b, [self.J], [self.bcs], [x], -1.0)
        b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        compat.set_bc(b, self.bcs, x, -1.0)

    def _jacobian(self, snes: PETSc.SNES, x: PETSc.Vec, A: PETSc.Mat, P: PETSc.Mat) -> None:
        self._update_solution(x)
        A.zeroEntries()
        dolfinx.fem.petsc.assemble_matrix(A, self.J, bcs=self.bcs)
        A.assemble()
        if self.Pmat is not None:
            if P.assembled:
                A.copy(P, structure=PETSc.Mat.Structure.SAME_NONZERO_PATTERN)
            else:  # a preallocated matrix has no structure to copy values into yet
                dolfinx.fem.petsc.assemble_matrix(P, self.J, bcs=self.bcs)
                P.assemble()  # (adding the correction to a matrix in its first assembly doubled it)
            # the correction's Dirichlet rows and columns are left out; their diagonal is
            # set to 1 again (dolfinx inserts it), as in J
            dolfinx.fem.petsc.assemble_matrix(P, self.P_correction, bcs=self.bcs)
            P.assemble()

    def _monitor(self, snes: PETSc.SNES, iteration: int, norm: float) -> None:
        report = self._report
        report.residuals.append(float(norm))
        if iteration > 0:
            report.linear_iterations.append(snes.getKSP().getIterationNumber())
            if not self.quiet:
                initial = max(report.residuals[0], 1e-300)
                log.info(f"  Newton {iteration}: |F| = {norm:.3e} (relative {norm / initial:.1e}), "
                         f"{report.linear_iterations[-1]} linear iterations")

    # --- public API -----------------------------------------------------------------
    def solve(self, rtol: float = 1e-9, max_iterations: int = 25) -> NewtonReport:
        """Run SNES from the current solution; the solution holds the last iterate."""
        self.snes.setTolerances(rtol=rtol, atol=1e-300, stol=1e-11, max_it=max_iterations)
        self._report = report = NewtonReport()
        x = compat.petsc_vector(self.solution).copy()
        self.snes.solve(None, x)
        if not self._solved:
            forget_options(self.prefix, self._options)  # read at the first set-up
            self._solved = True
        self._update_solution(x)
        x.destroy()
        reason = self.snes.getConvergedReason()
        report.reason = snes_reason_name(reason)
        report.iterations = self.snes.getIterationNumber()
        report.converged = reason > 0 and all(math.isfinite(r) for r in report.residuals)
        if report.linear_solve_failed:
            report.linear_reason = ksp_reason_name(self.snes.getKSP().getConvergedReason())
        return report

    def residual_norm(self) -> float:
        """|F| at the current solution."""
        x = compat.petsc_vector(self.solution)
        self._residual(self.snes, x, self.b)
        return self.b.norm()
