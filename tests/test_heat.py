"""Heat solver: manufactured solutions (P1, P2) with observed rates, a layered slab with
per-region conductivity, and a transient decay with BDF2's second order in time."""

import math

import dolfinx.fem
import numpy as np
import pytest
import ufl
from mpi4py import MPI

import mms
from thermocfd.fem import compat
from thermocfd.fem.heat import ConvectiveCooling, FixedTemperature, HeatFlux, HeatProblem
from thermocfd.fem.mesh import structured_domain

SIDES = {
    "left": lambda x: np.isclose(x[0], 0.0),
    "right": lambda x: np.isclose(x[0], 1.0),
    "bottom": lambda x: np.isclose(x[1], 0.0),
    "top": lambda x: np.isclose(x[1], 1.0),
}


def l2_error(u_h, exact, domain):
    x = domain.physical_coordinates()
    form = dolfinx.fem.form((u_h - exact(x)) ** 2 * ufl.dx(domain=domain.mesh, metadata={"quadrature_degree": 8}))
    return math.sqrt(domain.comm.allreduce(dolfinx.fem.assemble_scalar(form), op=MPI.SUM))


def solve_mms(n, degree, advect):
    domain = structured_domain([1.0, 1.0], [n, n], SIDES)
    capacity = 2.0
    u = (lambda x: ufl.as_vector(mms.velocity(x))) if advect else None

    def source(x):
        T = mms.temperature(x)
        q = -ufl.div(mms.conductivity(x) * ufl.grad(T))
        return q + capacity * ufl.dot(u(x), ufl.grad(T)) if advect else q

    h_robin, ambient = 3.0, 290.0
    bcs = [
        FixedTemperature("left", mms.temperature),
        FixedTemperature("bottom", mms.temperature),
        HeatFlux("right", lambda x: mms.conductivity(x) * ufl.grad(mms.temperature(x))[0]),
        # Robin on top; the flux term makes the manufactured T satisfy it exactly.
        ConvectiveCooling("top", h_robin, ambient),
        HeatFlux("top", lambda x: mms.conductivity(x) * ufl.grad(mms.temperature(x))[1]
                 + h_robin * (mms.temperature(x) - ambient)),
    ]
    problem = HeatProblem(domain, mms.conductivity, bcs, source=source, degree=degree,
                          heat_capacity=capacity if advect else None,
                          velocity=u(domain.physical_coordinates()) if advect else None,
                          conductivity_scale=1.0, capacity_scale=1.0)
    T_h = problem.solve_steady()
    return l2_error(T_h, mms.temperature, domain)


@pytest.mark.parametrize("advect", [False, True], ids=["conduction", "advection"])
@pytest.mark.parametrize("degree", [1, 2])
def test_heat_manufactured_solution_rate(degree, advect):
    ns = [8, 16, 32] if degree == 1 else [4, 8, 16]
    errors = [solve_mms(n, degree, advect) for n in ns]
    rates = mms.observed_rates([1.0 / n for n in ns], errors)
    assert min(rates) > degree + 1 - 0.1, (errors, rates)


def test_layered_slab_per_region_conductivity():
    """Two layers in series: exact piecewise-linear T, reproduced exactly by P1."""
    domain = structured_domain([1.0, 0.25], [20, 4], SIDES)
    # retag cells: x < 0.4 is 'glass', the rest 'water'
    V0 = compat.function_space(domain.mesh, "DG", 0)
    midpoints = dolfinx.mesh.compute_midpoints(domain.mesh, 2, np.arange(domain.cell_tags.indices.size, dtype=np.int32))
    values = np.where(midpoints[:, 0] < 0.4, 1, 2).astype(np.int32)
    domain.cell_tags = dolfinx.mesh.meshtags(domain.mesh, 2, domain.cell_tags.indices, values)
    domain.regions = {"glass": 1, "water": 2}
    k_glass, k_water = 1.1, 0.6
    problem = HeatProblem(domain, {"glass": k_glass, "water": k_water},
                          [FixedTemperature("left", 310.0), FixedTemperature("right", 290.0)])
    T = problem.solve_steady()
    # series resistances: flux = dT / (0.4/k_g + 0.6/k_w)
    flux = 20.0 / (0.4 / k_glass + 0.6 / k_water)
    x = np.array([[0.2, 0.1, 0], [0.4, 0.1, 0], [0.7, 0.1, 0]])
    exact = [310.0 - flux * 0.2 / k_glass, 310.0 - flux * 0.4 / k_glass,
             310.0 - flux * 0.4 / k_glass - flux * 0.3 / k_water]
    assert np.allclose(compat.evaluate(T, x), exact, rtol=0, atol=1e-9)
    del V0


def test_transient_decay_second_order_in_time():
    """T = 300 + exp(-2 pi^2 t) sin(pi x) sin(pi y) with alpha = 1: BDF2 error ~ dt^2."""
    domain = structured_domain([1.0, 1.0], [24, 24], {"all": lambda x: np.full(x.shape[1], True)})
    problem = HeatProblem(domain, 1.0, [FixedTemperature("all", 300.0)], heat_capacity=1.0, degree=2)
    t_end = 0.05
    errors = []
    for steps in (10, 20, 40):
        problem.initialise(lambda x: 300.0 + ufl.sin(math.pi * x[0]) * ufl.sin(math.pi * x[1]))
        for _ in range(steps):
            problem.advance(t_end / steps)
        amplitude = math.exp(-2 * math.pi**2 * t_end)
        errors.append(l2_error(problem.temperature,
                               lambda x: 300.0 + amplitude * ufl.sin(math.pi * x[0]) * ufl.sin(math.pi * x[1]),
                               domain))
    rates = mms.observed_rates([1, 0.5, 0.25], errors)
    assert rates[-1] > 1.8, (errors, rates)
