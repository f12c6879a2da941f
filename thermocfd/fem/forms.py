"""UFL variational forms, in scaled units, apart from solver set-up and I/O.

Every function takes UFL coefficients that are already non-dimensional (see the
problem classes in :mod:`thermocfd.fem.heat` and :mod:`thermocfd.fem.transport` for the
scalings) and returns forms; nothing here assembles or solves.
"""

from __future__ import annotations

from typing import Sequence

import ufl

BDF_COEFFICIENTS = {1: (1.0, -1.0), 2: (1.5, -2.0, 0.5)}
"""Backward-differentiation weights: ``(a0 u^{n+1} + a1 u^n + a2 u^{n-1}) / dt``."""


def facet_flux_term(flux, v, measure):
    """``flux v`` on a facet measure: ``ds`` as it is, ``dS`` (an interior facet set, e.g. a
    thin-film heater between two materials) evaluated on the '+' side.

    The test function is continuous, so ``int q v('+') dS`` puts the whole ``q x area``
    into the cells on both sides (no factor 2 from an average).
    """
    if measure.integral_type() == "interior_facet":
        restricted = flux("+") if isinstance(flux, ufl.core.expr.Expr) else flux
        return restricted * v("+") * measure
    return flux * v * measure


def heat_forms(T, v, conductivity, source, dx, *, neumann: Sequence = (), robin: Sequence = (),
               velocity=None, capacity=None, dt=None, history: Sequence = (), sources: Sequence = (),
               extra_flux=None, coefficients: Sequence | None = None):
    """Conduction-advection ``C (dT/dt + u.grad T) - div(k grad T + F) = q``.

    extra_flux: F, a given vector added to the conductive flux (minus a further heat flux
    that does not depend on the unknown T, e.g. the Dufour flux with a lagged coefficient);
    the Neumann data g then prescribe ``(k grad T + F).n``.
    neumann: (inward flux g, ds or dS) pairs, ``k dT/dn = g`` (on an interior facet set
    ``dS``: a surface heater of g per unit area);
    robin: (h, T_ambient, ds) triples, ``-k dT/dn = h (T - T_ambient)``;
    sources: further (q, dx) pairs, volumetric sources on parts of the domain;
    history: previous temperatures T^n, T^{n-1}... for a BDF step of size dt;
    coefficients: the BDF weights (variable steps), default those of constant steps.
    """
    a = ufl.inner(conductivity * ufl.grad(T), ufl.grad(v)) * dx
    L = source * v * dx
    for flux, ds in neumann:
        L += facet_flux_term(flux, v, ds)
    for h, ambient, ds in robin:
        a += h * T * v * ds
        L += h * ambient * v * ds
    for q, measure in sources:
        L += q * v * measure
    if velocity is not None:
        a += capacity * ufl.dot(velocity, ufl.grad(T)) * v * dx
    if extra_flux is not None:
        L -= ufl.inner(extra_flux, ufl.grad(v)) * dx
    if dt is not None:
        alpha = coefficients if coefficients is not None else BDF_COEFFICIENTS[len(history)]
        a += capacity * alpha[0] / dt * T * v * dx
        for weight, T_old in zip(alpha[1:], history):
            L -= capacity * weight / dt * T_old * v * dx
    return a, L


def supg_parameter(velocity, diffusivity, h, degree: int):
    """Streamline-upwind parameter tau, doubly asymptotic in the cell Peclet number.

    ``tau = 1 / sqrt((2|u|/h)^2 + (12 D/h^2)^2)`` with ``h`` divided by the degree: the
    advective limit ``h/(2|u|)`` and the diffusive limit ``h^2/(12 D)`` of the optimal
    ``h/(2|u|) (coth Pe - 1/Pe)`` without dividing by |u| = 0.
    """
    h = h / degree
    speed = ufl.sqrt(ufl.dot(velocity, velocity))
    return 1.0 / ufl.sqrt((2.0 * speed / h) ** 2 + (12.0 * diffusivity / h**2) ** 2)


def soret_transport_forms(w, v, weight, diffusivity, source, dx, *, velocity=None,
                          outflow: Sequence = (), dt=None, history: Sequence = (), coefficients=None,
                          weight_new=None, cell_size=None, degree: int = 1, preserve_constants: bool = False):
    """Advection-diffusion-Soret transport in the Slotboom variable ``w = c exp(Phi)``.

    With ``Phi = int S_T dT`` the flux ``J = u c - D grad c - D S_T c grad T`` is exactly
    ``J = weight (u w - D grad w)`` with ``weight = exp(-Phi)``: the thermophoretic drift
    is absorbed into a positive weight (exponential fitting), so the diffusive part is a
    symmetric weighted Laplacian -- an M-matrix for P1 on non-obtuse meshes, hence free of
    oscillations however large ``S_T dT`` is. Advection by ``u`` is stabilised by SUPG on
    the full residual (consistent, so convergence rates are kept).

    The form is conservative: with test function v = 1 the flux and SUPG terms vanish,
    so the discrete total mass ``int weight w`` changes only through sources and open
    boundaries -- to round-off in a closed cell, in steady state and at every time step.

    outflow: ds measures of open boundaries where only advection leaves (``-D dc/dn = 0``).
    history: previous concentrations c^n, c^{n-1} (UFL) for a BDF step of size dt;
    coefficients: its weights (Constants, for variable steps; default the constant-step ones).
    preserve_constants: for an open (flow-through) domain, subtract ``c div u``: a
    Taylor-Hood velocity is divergence-free only against P1, so without this a uniform
    inflow would not stay uniform (P2 solute: errors of several % at the outlet corners
    at cell Peclet numbers ~10). It costs exact conservation, which only a closed cell
    can check; closed cells keep the conservative form.
    """
    flux = weight * diffusivity * ufl.grad(w)  # minus J: diffusion and drift...
    if velocity is not None:
        flux -= weight * velocity * w  # ...and advection
    a = ufl.inner(flux, ufl.grad(v)) * dx
    L = source * v * dx  # pass a zero Constant when there is no source
    if velocity is not None:
        n = ufl.FacetNormal(w.ufl_function_space().mesh)
        for ds in outflow:
            a += weight * ufl.dot(velocity, n) * w * v * ds
        if preserve_constants:
            a -= weight * w * ufl.div(velocity) * v * dx
    residual = None
    if dt is not None:
        alpha = coefficients if coefficients is not None else BDF_COEFFICIENTS[len(history)]
        weight_new = weight if weight_new is None else weight_new
        a += alpha[0] / dt * weight_new * w * v * dx
        old = sum(coefficient / dt * c_old for coefficient, c_old in zip(alpha[1:], history))
        L -= old * v * dx
        residual = alpha[0] / dt * weight_new * w + old
    if velocity is not None and cell_size is not None:
        # Strong residual of dc/dt + div(J) - f, tested with tau u.grad(v) (SUPG).
        # advective form u.grad c of the strong residual: the discrete u's divergence (zero
        # for the exact flow) must not act as a source in the stabilisation
        strong = ufl.div(weight * (velocity * w - diffusivity * ufl.grad(w))) - weight * w * ufl.div(velocity)
        if residual is not None:
            strong = strong + residual
        strong = strong - source
        tau = supg_parameter(velocity, diffusivity, cell_size, degree)
        stabilisation = tau * ufl.dot(velocity, ufl.grad(v)) * strong * dx
        a += ufl.lhs(stabilisation)
        L += ufl.rhs(stabilisation)
    return a, L


def buoyant_flow_residual(u, p, T, v, q, s, dx, *, viscosity, buoyancy, gravity_direction,
                          reference_temperature, conductivity, inertia=None, heat_source=None,
                          neumann: Sequence = (), robin: Sequence = (), flow_dx=None, solid_dx=None,
                          zero=None, sources: Sequence = (), tractions: Sequence = ()):
    """Steady Boussinesq flow coupled to heat transport, as one residual for Newton.

    Scaled with velocity kappa/l (so heat advection has coefficient 1) and pressure
    mu_ref kappa / l^2:

    ``Re (u.grad)u - div(2 mu eps(u)) + grad p = -B (T - T0) g_hat``, ``div u = 0``,
    ``u.grad T = div(k grad T) + q``; ``inertia`` is Re = 1/Pr (None: Stokes flow),
    ``buoyancy`` B = Ra / (dT) for the cavity scalings (rho0 beta |g| l^3 / (mu kappa)).

    Conjugate problems: ``dx`` is every cell (conduction), ``flow_dx`` the fluid cells
    (flow, buoyancy, heat advection and ``heat_source``; default ``dx``), ``solid_dx`` the
    solid cells, where ``zero`` (a zero Constant) times the velocity and pressure mass
    gives their dofs a diagonal entry for the Dirichlet rows that fix them.
    sources: (q, dx) pairs of further volumetric heat sources (any cells);
    neumann: (g, ds or dS) pairs (see :func:`facet_flux_term`);
    tractions: (p, ds) pairs, outlet pressures ``sigma n = -p n``.
    """
    def eps(w):
        return ufl.sym(ufl.grad(w))

    fdx = dx if flow_dx is None else flow_dx
    F = (2.0 * viscosity * ufl.inner(eps(u), eps(v)) - p * ufl.div(v) - q * ufl.div(u)) * fdx
    F += buoyancy * (T - reference_temperature) * ufl.dot(gravity_direction, v) * fdx
    if inertia is not None:
        F += inertia * ufl.dot(ufl.grad(u) * u, v) * fdx
    if flow_dx is None:
        F += (ufl.dot(u, ufl.grad(T)) * s + conductivity * ufl.dot(ufl.grad(T), ufl.grad(s))) * dx
    else:
        F += ufl.dot(u, ufl.grad(T)) * s * flow_dx + conductivity * ufl.dot(ufl.grad(T), ufl.grad(s)) * dx
    if solid_dx is not None:
        F += zero * (ufl.inner(u, v) + p * q) * solid_dx
    if heat_source is not None:
        F -= heat_source * s * fdx
    for source, measure in sources:
        F -= source * s * measure
    for flux, ds in neumann:
        F -= facet_flux_term(flux, s, ds)
    for h, ambient, ds in robin:
        F += h * (T - ambient) * s * ds
    for pressure, ds in tractions:
        F += pressure * ufl.dot(ufl.FacetNormal(ds.ufl_domain()), v) * ds
    return F
