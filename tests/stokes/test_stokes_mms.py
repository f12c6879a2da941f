"""Taylor-Hood P2-P1 Stokes: manufactured solution with variable viscosity, observed rates
(velocity L2 ~ 3, H1 ~ 2, pressure L2 ~ 2), with the block-preconditioned MINRES solver and
with MUMPS."""

import math

import dolfinx.fem
import numpy as np
import pytest
import ufl
from mpi4py import MPI

import mms
import stokes_mms
from thermocfd.fem.mesh import structured_domain
from thermocfd.fem.stokes import PrescribedVelocity, StokesProblem
from thermocfd.fem.stokes_forms import epsilon

ALL = {"boundary": lambda x: np.full(x.shape[1], True)}


def _integral(expr, domain):
    form = dolfinx.fem.form(expr * ufl.dx(domain=domain.mesh, metadata={"quadrature_degree": 8}))
    return domain.comm.allreduce(dolfinx.fem.assemble_scalar(form), op=MPI.SUM)


def solve_mms(n, solver):
    domain = structured_domain([1.0, 1.0], [n, n], ALL)
    x = domain.physical_coordinates()
    u_ex = ufl.as_vector(stokes_mms.velocity(x))
    p_ex = stokes_mms.pressure(x)
    mu = stokes_mms.viscosity(x)
    force = lambda x_: -ufl.div(2.0 * mu * epsilon(u_ex)) + ufl.grad(p_ex)  # noqa: E731
    problem = StokesProblem(domain, stokes_mms.viscosity, [PrescribedVelocity("boundary", stokes_mms.velocity_numpy)],
                            body_force=force, viscosity_scale=1.0, solver=solver, rtol=1e-12)
    assert problem.has_null_space
    u_h, p_h = problem.solve()
    p_mean = _integral(p_h, domain)  # unit area
    e_u = math.sqrt(_integral(ufl.inner(u_h - u_ex, u_h - u_ex), domain))
    e_gu = math.sqrt(_integral(ufl.inner(ufl.grad(u_h - u_ex), ufl.grad(u_h - u_ex)), domain))
    e_p = math.sqrt(_integral((p_h - p_mean - p_ex) ** 2, domain))
    return (e_u, e_gu, e_p), problem.iterations[-1]


@pytest.mark.parametrize("solver", ["iterative", "direct"])
def test_stokes_manufactured_solution_rates(solver):
    ns = [4, 8, 16]
    results = [solve_mms(n, solver) for n in ns]
    errors = np.array([r[0] for r in results])
    hs = [1.0 / n for n in ns]
    rates_u = mms.observed_rates(hs, errors[:, 0])
    rates_gu = mms.observed_rates(hs, errors[:, 1])
    rates_p = mms.observed_rates(hs, errors[:, 2])
    assert min(rates_u) > 2.8, (errors, rates_u)
    assert min(rates_gu) > 1.85, (errors, rates_gu)
    assert min(rates_p) > 1.8, (errors, rates_p)
    if solver == "iterative":
        iterations = [r[1] for r in results]
        assert max(iterations) < 150, iterations
