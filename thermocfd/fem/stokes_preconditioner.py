"""Block preconditioners for Taylor-Hood Stokes: ``[[A_u, B^T], [0, -M_p / (2 mu)]]``.

Two velocity blocks A_u, chosen by ``velocity_block``:

* ``"laplacian"`` (the default, fastest per solve): the viscosity-weighted *scalar*
  Laplacian ``L = (mu grad u, grad v)`` on the P2 space, applied to each velocity component
  by one AMG hierarchy (GAMG). With velocity prescribed on the whole boundary,
  ``2 mu eps:eps = mu (grad:grad + div div)`` on H^1_0 lies between ``L (x) I`` and
  ``2 L (x) I``, so the components decouple: the preconditioner matrix has a ninth of the
  entries of the vector block, one AMG set-up serves all components and every V-cycle
  touches a third of the fine-level entries of an AMG on the coupled system.
* ``"strain"`` (fewest iterations): the operator's own vector strain block, one BoomerAMG
  V-cycle with the three components as hypre "functions" (unknown-based systems AMG: the
  block size of the sub-matrix tells hypre). It captures the div-div part that the scalar
  Laplacian misses -- the preconditioned spectrum shrinks from ~[0.09, 3.4] to ~[0.09, 1.3]
  -- at about three times the cost of an iteration.

The pressure block is the Schur-complement surrogate ``M_p / (2 mu)`` (why 2 mu: for the
strain form with Dirichlet walls ``(p, div u)^2 / (2 mu |eps u|^2) <= |p|^2 / (2 mu)``, so
``B A^-1 B^T`` has its spectrum in ``[beta^2, 1] M_p / (2 mu)``, which aligns it with the
velocity block's; the plain ``M_p / mu`` leaves it at [beta^2/2, 1/2] and costs ~15 %
more iterations). It is applied by a few Chebyshev-Jacobi steps with the known spectral
bounds of the Jacobi-scaled P1 mass matrix ([1/2, 5/2] on tetrahedra, [1/2, 2] on
triangles), much closer to ``M_p^-1`` than one Jacobi sweep at negligible cost.

Measured (sphere in a box, P2-P1, 87k dofs, 2 ranks, rtol 1e-8; benchmarks/bench_stokes.py):
translation / rotation solves take 60 / 51 GMRES iterations with the Laplacian block and
``M_p / mu``, 52 / 47 with ``M_p / (2 mu)``, 30 / 24 with the strain block (hypre) and
``M_p / (2 mu)``; with both blocks solved exactly (inner CG) the Laplacian block still
needs 44 / 28: the rest is the Schur complement (the domain's inf-sup constant). GAMG
with rigid-body modes on the strain block: 42 / 39; hypre with aggressive coarsening on
it: 40 / 36; nodal coarsening: 31 / 25 at four times the set-up.

Both inner solvers are PETSc KSPs with options prefixes ``<stokes prefix>velocity_`` and
``<stokes prefix>pressure_``, so every choice here can be overridden from the options
database.
"""

from __future__ import annotations

from petsc4py import PETSc

from .linear import BOOMERAMG_3D


VELOCITY_BLOCKS = ("laplacian", "strain")


def velocity_amg_options(amg: str) -> dict[str, object]:
    """Options for one AMG V-cycle on the velocity block ("hypre" or "gamg")."""
    if amg == "hypre":
        # The usual 3D settings (P_max keeps the operator complexity of the P2 hierarchy
        # low). No aggressive coarsening: on this block it cost ~40 % more MINRES
        # iterations (116 vs 83 at 187k dofs).
        return {"ksp_type": "preonly", "pc_type": "hypre", "pc_hypre_type": "boomeramg", **BOOMERAMG_3D}
    if amg == "gamg":
        return {"ksp_type": "preonly", "pc_type": "gamg", "pc_gamg_threshold": 0.02,
                "mg_levels_ksp_type": "chebyshev", "mg_levels_pc_type": "jacobi"}
    raise ValueError(f"velocity AMG must be 'hypre' or 'gamg', got {amg!r}")


def pressure_mass_options(method: str, dim: int) -> dict[str, object]:
    """Options applying ``(M_p / (2 mu))^-1``: "chebyshev" (3 steps) or one "jacobi" sweep."""
    if method == "chebyshev":
        upper = 2.5 if dim == 3 else 2.0
        return {"ksp_type": "chebyshev", "ksp_max_it": 3, "ksp_norm_type": "none",
                "ksp_chebyshev_eigenvalues": f"0.5,{upper}", "pc_type": "jacobi"}
    if method == "jacobi":
        return {"ksp_type": "preonly", "pc_type": "jacobi"}
    raise ValueError(f"pressure preconditioner must be 'chebyshev' or 'jacobi', got {method!r}")


class BlockPreconditioner:
    """petsc4py ``PC`` context (type "python") for the monolithic ``[u; p]`` vector.

    Without ``coupling``: block diagonal ``diag(A_u, M_p/(2 mu))`` (symmetric positive
    definite: MINRES). With ``coupling = B^T`` (the velocity-pressure block of the
    operator): block upper triangular ``[[A_u, B^T], [0, -M_p/(2 mu)]]``, whose preconditioned
    operator has the eigenvalue 1 with multiplicity of the velocity space when the blocks
    are exact -- GMRES needs about half the iterations of MINRES with the diagonal one, at
    the price of one ``B^T`` product per iteration.

    The local part of a block vector is ``[owned velocity dofs (interleaved by component),
    owned pressure dofs]``; a scalar velocity matrix has the P2 nodes in the same order
    (a blocked dolfinx space numbers its nodes like the scalar one), so component ``i`` is
    the strided slice ``u[i::dim]`` and no index sets or scatters are needed. A vector
    velocity matrix (the strain block) takes the velocity part as it is.
    """

    def __init__(self, velocity_ksp: PETSc.KSP, pressure_ksp: PETSc.KSP, dim: int, velocity_size: int,
                 coupling: PETSc.Mat | None = None):
        self.velocity_ksp = velocity_ksp
        self.pressure_ksp = pressure_ksp
        self.dim = dim
        self.velocity_size = velocity_size
        self.coupling = coupling
        L = velocity_ksp.getOperators()[0]
        self._component_in, self._component_out = L.createVecs()
        self._pressure_in, self._pressure_out = pressure_ksp.getOperators()[0].createVecs()
        self._coupled = coupling.createVecLeft() if coupling is not None else None

    def setUp(self, pc: PETSc.PC) -> None:
        self.velocity_ksp.setUp()
        self.pressure_ksp.setUp()

    def apply(self, pc: PETSc.PC, x: PETSc.Vec, y: PETSc.Vec) -> None:
        n, dim = self.velocity_size, self.dim
        x_array = x.getArray(readonly=True)
        y_array = y.getArray()
        self._pressure_in.array[:] = x_array[n:]
        self.pressure_ksp.solve(self._pressure_in, self._pressure_out)
        velocity_rhs = x_array[:n]
        if self.coupling is not None:
            self._pressure_out.scale(-1.0)  # S ~ -M_p/(2 mu)
            self.coupling.mult(self._pressure_out, self._coupled)
            velocity_rhs = velocity_rhs - self._coupled.array_r
        y_array[n:] = self._pressure_out.array_r
        if self._component_in.getLocalSize() == n:  # a vector velocity block: one solve
            self._component_in.array[:] = velocity_rhs
            self.velocity_ksp.solve(self._component_in, self._component_out)
            y_array[:n] = self._component_out.array_r
            return
        for i in range(dim):
            self._component_in.array[:] = velocity_rhs[i:n:dim]
            self.velocity_ksp.solve(self._component_in, self._component_out)
            y_array[i:n:dim] = self._component_out.array_r

    def destroy(self, pc: PETSc.PC | None = None) -> None:
        for obj in (self._component_in, self._component_out, self._pressure_in, self._pressure_out,
                    self._coupled, self.coupling):
            if obj is not None:
                obj.destroy()
