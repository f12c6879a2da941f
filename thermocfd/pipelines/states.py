"""The solute of a two-wall cell as the pipelines need it: one transport solver for an
ordinary solute (Slotboom, :class:`~thermocfd.fem.transport.SoretTransportProblem`) or for
a species with internal states (:class:`~thermocfd.fem.internal_states.InternalStateTransportProblem`),
and the internal-state results: the fast-switching (reduced) model, the finite-rate 1D
reference, the state-resolved fluxes and the entropy production of the cycle.
"""

from __future__ import annotations

import numpy as np

from ..case import Case
from ..fem.internal_states import InternalStateTransportProblem
from ..fem.mesh import Domain, mesh_bounds
from ..fem.transport import SoretTransportProblem
from ..physics import internal_states as states
from ..presets import boundary_conditions
from .common import linear_solver, nodes_per_vertex
from .conditions import solute_conditions


def cell_transport(case: Case, domain: Domain, temperature, liquid: list[str] | None):
    """The solute's transport solver on the cell, in the temperature field (kelvin)."""
    solute = case.solute
    options = dict(degree=case.mesh.degree, reference_temperature=case.temperature.hot,
                   linear_solver=linear_solver(case, domain, nodes_per_vertex(case.mesh.degree, domain.dim)
                                               * max(1, len(solute.states))),
                   rtol=case.solver.linear_rtol(1e-12), **({"regions": liquid} if liquid else {}))
    model = solute.internal_states
    if model is not None:
        return InternalStateTransportProblem(domain, temperature, model, **options)
    return SoretTransportProblem(domain, temperature, solute.diffusivity, solute.soret_coefficient,
                                 boundary_conditions=solute_conditions(boundary_conditions(case, domain)), **options)


def cell_length(domain: Domain) -> float:
    """Hot-to-cold wall distance (m) of a two-wall cell (along x)."""
    lo, hi = mesh_bounds(domain.mesh)
    return float(hi[0] - lo[0]) * domain.length_scale


def fast_switching_results(case: Case, length: float) -> dict:
    """The reduced model's predictions and how fast the switching is (Damkoehler number)."""
    model, t = case.solute.internal_states, case.temperature
    T_mean = 0.5 * (t.hot + t.cold)
    return {
        "c_ratio_fast_switching": states.fast_switching_ratio(model, t.hot, t.cold),
        "soret_coefficient_fast_switching": float(model.soret_coefficient(T_mean)),
        "diffusivity_fast_switching": float(model.mean_diffusivity(T_mean)),
        "damkohler_number": states.damkohler_number(model, length, T_mean),
        "populations_hot": [float(p) for p in model.populations(t.hot)],
        "populations_cold": [float(p) for p in model.populations(t.cold)],
    }


def finite_rate_reference(case: Case, length: float) -> states.CellReference:
    """The steady closed 1D cell with the case's rates (linear T, hot at x = 0)."""
    t = case.temperature
    return states.solve_cell_reference(case.solute.internal_states, length, t.hot, t.cold,
                                       mean_concentration=case.solute.initial_concentration)


def state_results(transport: InternalStateTransportProblem, reference: states.CellReference | None,
                  cross_section: float) -> dict:
    """State-resolved fluxes, the transition flux and the cycle's entropy production
    (integrals in SI), next to the 1D reference where there is one (``cross_section``: m^2
    in 3D, m in 2D: the reference is per unit wall area)."""
    out = dict(transport.flux_norms())
    if reference is not None:
        out["entropy_production_cycle_1d"] = reference.entropy_production_total * cross_section
        out["c_ratio_finite_rate_1d"] = reference.c_ratio_cold_hot
        out["soret_coefficient_finite_rate_1d"] = reference.soret_coefficient_fit
    return out


def reference_profile(reference: states.CellReference, x: np.ndarray) -> np.ndarray:
    """The reference's total density at positions x (m) from the hot wall."""
    return np.interp(x, reference.x, reference.total_density)
