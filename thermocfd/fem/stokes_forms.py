"""UFL forms for incompressible Stokes flow, in scaled units; no assembly here.

``-div(2 mu eps(u)) + grad p = f``, ``div u = 0``, written symmetrically (the
continuity row is ``-q div u``) so that MINRES applies. Scaled units (see
:mod:`thermocfd.fem.stokes`): lengths by l, viscosity by mu_ref, velocity by U; stress
and pressure by ``mu_ref U / l``, body force by ``mu_ref U / l^2``.
"""

from __future__ import annotations

from typing import Sequence

import ufl


def epsilon(u):
    """Rate-of-strain tensor ``(grad u + grad u^T) / 2``."""
    return ufl.sym(ufl.grad(u))


def stokes_forms(u, p, v, q, viscosity, dx, zero, *, body_force=None, tractions: Sequence = (),
                 solid_dx=None):
    """Block forms ``([[a_uu, a_up], [a_pu, a_pp]], [L_u, L_p])`` of the Stokes system.

    tractions: (t, ds) pairs, natural conditions ``sigma n = t`` (e.g. ``t = -p_out n``
    for an outlet at pressure p_out, zero for a free outflow).
    zero: a zero Constant (the right-hand side of continuity, ``0 q dx``).
    solid_dx: measure of the solid cells (outside ``dx``): zero terms there give the
    velocity and pressure dofs inside solids a diagonal entry, so that Dirichlet
    conditions (rigid motion, pinned pressure) can be set on them.
    """
    a_uu = 2.0 * viscosity * ufl.inner(epsilon(u), epsilon(v)) * dx
    a_up = -p * ufl.div(v) * dx
    a_pu = -q * ufl.div(u) * dx
    a_pp = None
    if solid_dx is not None:
        a_uu += zero * ufl.inner(u, v) * solid_dx
        a_pp = zero * p * q * solid_dx
    L_u = zero * v[0] * dx  # keeps the form non-empty (a rank-1 form) without a body force
    if body_force is not None:
        L_u += ufl.inner(body_force, v) * dx
    for traction, ds in tractions:
        L_u += ufl.inner(traction, v) * ds
    L_p = zero * q * dx
    return [[a_uu, a_up], [a_pu, a_pp]], [L_u, L_p]


def scalar_velocity_laplacian(u, v, viscosity, dx, zero, solid_dx=None):
    """``(mu grad u, grad v)`` for one velocity component (scalar P2 trial/test functions):
    the velocity block of the preconditioner, applied to every component."""
    form = viscosity * ufl.inner(ufl.grad(u), ufl.grad(v)) * dx
    if solid_dx is not None:
        form += zero * u * v * solid_dx
    return form


def pressure_mass_form(p, q, viscosity, dx, zero, solid_dx=None):
    """``(p / (2 mu), q)``: spectrally equivalent to the Schur complement ``B A^-1 B^T`` of
    the strain form (uniformly in h, robust for smoothly varying mu, with the local mu),
    its spectrum in ``[beta^2, 1]`` times this (see :mod:`.stokes_preconditioner`)."""
    form = (0.5 / viscosity) * p * q * dx
    if solid_dx is not None:
        form += zero * p * q * solid_dx
    return form


def stress_residual(u_h, p_h, v, viscosity, dx, *, body_force=None):
    """``R(v) = int 2 mu eps(u_h):eps(v) - p_h div v - f.v``: the weak-form residual.

    For v equal to a rigid motion on a particle surface and zero elsewhere,
    ``R(v) = int_boundary (sigma n_fluid) . v`` with n_fluid pointing into the particle,
    so the hydrodynamic force (torque) on the particle is ``-R(v)`` -- the variationally
    consistent reaction, more accurate than integrating ``sigma n`` of the discrete field.
    """
    residual = 2.0 * viscosity * ufl.inner(epsilon(u_h), epsilon(v)) * dx - p_h * ufl.div(v) * dx
    if body_force is not None:
        residual -= ufl.inner(body_force, v) * dx
    return residual


def tangential_projection(vector, normal):
    """``(I - n n) vector``."""
    return vector - ufl.dot(vector, normal) * normal


def thermo_osmotic_slip(slip_coefficient, grad_T, normal):
    """Thermo-osmotic slip velocity ``chi (I - n n) grad T`` (chi > 0: creeps to hot)."""
    return slip_coefficient * tangential_projection(grad_T, normal)


def sphere_normal(x, centre):
    """Exact outward unit normal of a sphere centred at ``centre`` (UFL)."""
    r = x - ufl.as_vector(list(centre))
    return r / ufl.sqrt(ufl.dot(r, r))


def boussinesq_force(density, thermal_expansion, temperature, reference_temperature, gravity):
    """Boussinesq buoyancy ``f = -rho0 beta (T - T0) g`` (hydrostatic part in p)."""
    return -density * thermal_expansion * (temperature - reference_temperature) * gravity
