"""Thermo-osmotic flow along channel walls (plug flow u = chi dT/dx with open ends),
Poiseuille flow from a pressure drop, and the Boussinesq hydrostatic state (no flow)."""

import dolfinx.fem
import numpy as np
import pytest
import ufl

from thermocfd.fem import compat
from thermocfd.fem.mesh import structured_domain
from thermocfd.fem.stokes import (Boussinesq, NoSlip, PrescribedVelocity, Pressure, StokesProblem,
                                  ThermoOsmoticSlip)

from petsc_checks import assert_same_action

L, H = 4e-6, 1e-6  # m
SIDES = {
    "inlet": lambda x: np.isclose(x[0], 0.0),
    "outlet": lambda x: np.isclose(x[0], L / H),
    "walls": lambda x: np.isclose(x[1], 0.0) | np.isclose(x[1], 1.0),
}


def channel():
    return structured_domain([L / H, 1.0], [16, 4], SIDES, length_scale=H)


def temperature_field(domain, f):
    T = dolfinx.fem.Function(compat.function_space(domain.mesh, "Lagrange", 2))
    compat.interpolate(T, f(domain.physical_coordinates()))
    return T


def test_thermo_osmotic_plug_flow():
    domain = channel()
    gradient, chi = 2e4, 3e-10  # K/m, m^2/(s K)
    T = temperature_field(domain, lambda x: 300.0 + gradient * x[0])
    problem = StokesProblem(domain, 1e-3, [ThermoOsmoticSlip("walls", chi), Pressure("inlet", 0.0),
                                           Pressure("outlet", 0.0)],
                            temperature=T, velocity_scale=chi * gradient)
    assert not problem.has_null_space
    problem.update_slip()
    u, _ = problem.solve()
    speed = chi * gradient  # towards hot (+x) for chi > 0
    values = compat.evaluate(u, np.array([[1.0, 0.5, 0.0], [3.0, 0.2, 0.0], [2.0, 1.0, 0.0]]))
    assert np.allclose(values * problem.velocity_scale, [[speed, 0.0]] * 3, rtol=0, atol=1e-8 * speed)


def test_poiseuille_inflow_and_free_outflow():
    """Parabolic inflow, traction-free outlet (sigma n = 0): Poiseuille upstream of the
    outlet's (exponentially decaying) end effect, with dp/dx = -2 mu u_max (2/H)^2 / 2."""
    domain = channel()
    mu, u_max = 1e-3, 1e-4

    def inflow(x):
        y = x[1] / H
        return np.array([4 * u_max * y * (1 - y), 0 * y, 0 * y])

    problem = StokesProblem(domain, mu, [NoSlip("walls"), PrescribedVelocity("inlet", inflow),
                                         Pressure("outlet", 0.0)], velocity_scale=u_max)
    u, p = problem.solve()
    y = np.array([0.25, 0.5])
    points = np.column_stack([np.full(2, 1.0), y, np.zeros(2)])
    values = compat.evaluate(u, points) * problem.velocity_scale
    assert np.allclose(values[:, 0], inflow(points.T * H)[0], rtol=2e-3)
    pressures = compat.evaluate(p, np.array([[0.5, 0.5, 0.0], [1.5, 0.5, 0.0]])) * problem.pressure_scale
    gradient = (pressures[1] - pressures[0]) / H
    assert abs(gradient / (-8 * mu * u_max / H**2) - 1) < 1e-2


def test_boussinesq_stable_stratification_is_at_rest():
    domain = channel()
    T = temperature_field(domain, lambda x: 300.0 + 1e5 * x[1])  # hot on top
    problem = StokesProblem(domain, 1e-3, [NoSlip("walls"), NoSlip("inlet"), NoSlip("outlet")],
                            temperature=T, buoyancy=Boussinesq(1000.0, 2e-4, 300.0, (0.0, -9.81, 0.0)),
                            velocity_scale=1e-6)
    assert problem.has_null_space
    u, p = problem.solve()
    norm = np.sqrt(domain.comm.allreduce(dolfinx.fem.assemble_scalar(dolfinx.fem.form(
        ufl.inner(u, u) * ufl.dx)), op=__import__("mpi4py").MPI.SUM))
    assert norm * problem.velocity_scale < 1e-12
    # the pressure balances the buoyancy: dp/dy = -rho0 beta (T - T0) g_y varies with y
    assert np.ptp(p.x.array) > 0


@pytest.mark.parametrize("velocity_block", ["laplacian", "strain"])
def test_temperature_dependent_viscosity_law(velocity_block):
    """mu(T) through a viscosity law: a uniform temperature reproduces the constant-mu flow,
    and set_temperature() reassembles the operator and the preconditioner's blocks (warmer
    water: faster flow), with either velocity block."""
    from thermocfd.physics.viscosity import WaterViscosity

    domain = channel()
    law = WaterViscosity()
    conditions = [NoSlip("walls"), NoSlip("outlet"),
                  PrescribedVelocity("inlet", lambda x: np.array([4e-4 * x[1] / H * (1 - x[1] / H), 0 * x[1]]))]
    T = temperature_field(domain, lambda x: 300.0 + 0.0 * x[0])
    varying = StokesProblem(domain, law, conditions, temperature=T, velocity_scale=1e-4,
                            velocity_block=velocity_block)
    constant = StokesProblem(domain, float(law.viscosity(300.0)), conditions, velocity_scale=1e-4)
    (_, p1), (_, p2) = varying.solve(), constant.solve()
    drop = lambda problem, p: float(np.ptp(p.x.array)) * problem.pressure_scale  # noqa: E731
    d1, d2 = drop(varying, p1), drop(constant, p2)
    assert abs(d1 / d2 - 1) < 1e-8
    varying.set_temperature(temperature_field(domain, lambda x: 340.0 + 0.0 * x[0]))
    _, p3 = varying.solve()
    ratio = law.viscosity(340.0) / law.viscosity(300.0)
    assert abs(drop(varying, p3) / d1 - ratio) < 1e-6
    if velocity_block == "strain":  # hypre's AIJ copy follows the reassembled operator block
        block = varying.A.getNestSubMatrix(0, 0)
        assert_same_action(varying.velocity_matrix, block, block.createVecRight())
