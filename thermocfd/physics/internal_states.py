"""Thermophoresis from internal states (Liang, Busiello & De Los Rios, arXiv 2102.03197).

A particle switches among internal states i with energies E_i, degeneracies g_i and
diffusivities D_i(T). The rates obey local detailed balance at the local temperature,
Arrhenius over a barrier B_ij = B_ji:

    k_ij = nu_ij exp(-(B_ij - E_i) / (k_B T)),   nu_ji = nu_ij g_i / g_j,

so that ``k_ij g_i exp(-E_i/kT) = k_ji g_j exp(-E_j/kT)``. Each state diffuses with
``J_i = -D_i grad c_i`` (plus advection) and has no thermophoresis of its own.

Fast switching (local equilibrium ``p_i ∝ g_i exp(-E_i/k_B T)``) gives the reduced
model: ``J = -<D>_p grad rho - rho Cov_p(D, E)/(k_B T^2) grad T``, i.e. an effective
diffusivity ``<D>_p`` and ``S_T = Cov_p(D, E) / (k_B T^2 <D>_p)``. When the states'
diffusivities share one temperature law up to constant factors (``D_i = r_i D_0(T)``:
states that differ in size or shape in one solvent), the Soret potential is closed form,
``Phi(T) = ln <r>_p(T)``, and the closed cell's steady state is ``rho <D>_p / D_0 = const``
(for constant D_i: ``rho <D>_p = const``).

Every method takes NumPy values or UFL expressions for T (see :mod:`.mathfuncs`).

Beyond the fast limit: the entropy production of the cycle of state and switching
currents (:func:`cycle_entropy_production`, NumPy or UFL), the closed 1D cell with finite
rates solved to ~1e-9 (:func:`solve_cell_reference`, a reference for the FEM and the
tracker), and its leading-order finite-rate correction (:func:`finite_rate_correction`):
no-flux walls force boundary layers of width ``sqrt(D/k)`` in which the states leave local
equilibrium, so ``c_ratio / fast - 1 = eps + O(1/Da)`` with ``eps ∝ Da^(-1/2)``
(``Da = k L^2 / <D>``; two states: ``eps = -(l_hot S_T,hot + l_cold S_T,cold) |dT/dx|``).
How fast must switching be: for a relative error delta of the ratio, ``Da > Da_0 (eps_0 /
delta)^2`` from any one evaluation (eps_0 at Da_0).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Sequence

import numpy as np

from .constants import BOLTZMANN, GAS_CONSTANT
from .diffusivity import DiffusivityLaw
from .mathfuncs import exp, ln

if TYPE_CHECKING:
    from .soret import SoretLaw


@dataclass(frozen=True)
class InternalState:
    """One internal state: energy E (J), degeneracy g (> 0), diffusivity law D(T) and,
    optionally, a Soret law S_T,i(T) of its own (a bound and a free molecule each have
    thermophoresis; the seed paper's states have none)."""

    name: str
    energy: float
    diffusivity: DiffusivityLaw
    degeneracy: float = 1.0
    soret: SoretLaw | None = None


@dataclass(frozen=True)
class Transition:
    """Switching between states ``initial`` and ``final`` (indices) over a barrier B (J).

    ``rate_prefactor`` is nu for initial -> final (1/s); the reverse prefactor follows
    from detailed balance, ``nu_ji = nu_ij g_i / g_j``.
    """

    initial: int
    final: int
    barrier: float
    rate_prefactor: float


@dataclass(frozen=True)
class InternalStateModel:
    """States and transitions of one species; the rates and the fast-switching limit."""

    states: tuple[InternalState, ...]
    transitions: tuple[Transition, ...] = ()
    _ratios: tuple[float, ...] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        n = len(self.states)
        if n < 1:
            raise ValueError("an internal-state model needs at least one state")
        pairs = set()
        for transition in self.transitions:
            i, j = transition.initial, transition.final
            if not (0 <= i < n and 0 <= j < n) or i == j:
                raise ValueError(f"transition {i} -> {j}: states are 0..{n - 1} and must differ")
            if frozenset((i, j)) in pairs:
                raise ValueError(f"transition between states {i} and {j} given twice")
            pairs.add(frozenset((i, j)))
            if not transition.rate_prefactor > 0:
                raise ValueError("rate prefactors must be positive")
        if any(not s.degeneracy > 0 for s in self.states):
            raise ValueError("degeneracies must be positive")
        object.__setattr__(self, "_ratios", self._proportional_ratios())

    # --- parameters as arrays (what the kernels read) -----------------------------------
    @property
    def size(self) -> int:
        return len(self.states)

    @property
    def energies(self) -> np.ndarray:
        return np.array([s.energy for s in self.states], dtype=np.float64)

    @property
    def degeneracies(self) -> np.ndarray:
        return np.array([s.degeneracy for s in self.states], dtype=np.float64)

    def prefactor_matrix(self) -> np.ndarray:
        """nu_ij (1/s), zero where no transition connects i and j."""
        nu = np.zeros((self.size, self.size))
        g = self.degeneracies
        for t in self.transitions:
            nu[t.initial, t.final] = t.rate_prefactor
            nu[t.final, t.initial] = t.rate_prefactor * g[t.initial] / g[t.final]
        return nu

    def barrier_matrix(self) -> np.ndarray:
        """B_ij = B_ji (J); zero where no transition connects i and j."""
        barrier = np.zeros((self.size, self.size))
        for t in self.transitions:
            barrier[t.initial, t.final] = barrier[t.final, t.initial] = t.barrier
        return barrier

    # --- rates and populations ------------------------------------------------------------
    def rate(self, i: int, j: int, T):
        """k_ij(T) in 1/s (zero if no transition connects i and j)."""
        nu = self.prefactor_matrix()[i, j]
        if nu == 0.0:
            return 0.0 * T
        return nu * exp(-(self.barrier_matrix()[i, j] - self.states[i].energy) / (BOLTZMANN * T))

    def rate_matrix(self, T: float) -> np.ndarray:
        """k_ij at one temperature (NumPy), zero diagonal."""
        nu, barrier, energy = self.prefactor_matrix(), self.barrier_matrix(), self.energies
        with np.errstate(over="ignore"):
            k = nu * np.exp(-(barrier - energy[:, None]) / (BOLTZMANN * float(T)))
        k[nu == 0.0] = 0.0
        return k

    def populations(self, T) -> list:
        """Equilibrium populations ``p_i = g_i exp(-E_i/kT) / Z`` at the local T."""
        shift = min(self.energies)  # keeps the exponentials finite
        weights = [s.degeneracy * exp(-(s.energy - shift) / (BOLTZMANN * T)) for s in self.states]
        total = sum(weights[1:], weights[0])
        return [w / total for w in weights]

    def mean_energy(self, T):
        return sum(p * s.energy for p, s in zip(self.populations(T), self.states))

    # --- the fast-switching (reduced) model -----------------------------------------------
    def mean_diffusivity(self, T):
        """<D>_p(T) (m^2/s): the effective diffusivity of the total density."""
        return sum(p * s.diffusivity.diffusivity(T) for p, s in zip(self.populations(T), self.states))

    def covariance_diffusivity_energy(self, T):
        """Cov_p(D, E) = <D E> - <D><E> (m^2 J/s)."""
        p, mean_energy = self.populations(T), self.mean_energy(T)
        return sum(pi * s.diffusivity.diffusivity(T) * (s.energy - mean_energy) for pi, s in zip(p, self.states))

    @property
    def has_state_soret(self) -> bool:
        """True when some state has a Soret law of its own."""
        return any(s.soret is not None for s in self.states)

    def thermal_diffusivity(self, T):
        """D_T = Cov_p(D, E) / (k_B T^2) + sum_i p_i D_i S_T,i (m^2/(s K)): the total flux of
        c_i = p_i(T) rho is -<D> grad rho - rho D_T grad T, the first term from grad p_i."""
        switching = self.covariance_diffusivity_energy(T) / (BOLTZMANN * T * T)
        own = [p * s.diffusivity.diffusivity(T) * s.soret.soret_coefficient(T)
               for p, s in zip(self.populations(T), self.states) if s.soret is not None]
        return switching + sum(own[1:], own[0]) if own else switching

    def soret_coefficient(self, T):
        """S_T = D_T / <D>_p (1/K); > 0: thermophobic."""
        return self.thermal_diffusivity(T) / self.mean_diffusivity(T)

    def _proportional_ratios(self) -> tuple[float, ...] | None:
        """r_i with D_i(T) = r_i D_0(T) for all T, or None if the laws are not proportional."""
        samples = np.linspace(250.0, 400.0, 7)
        d0 = np.asarray(self.states[0].diffusivity.diffusivity(samples), dtype=float)
        ratios = []
        for state in self.states:
            r = np.asarray(state.diffusivity.diffusivity(samples), dtype=float) / d0
            if np.ptp(r) > 1e-12 * abs(r[0]):
                return None
            ratios.append(float(r[0]))
        return tuple(ratios)

    @property
    def has_closed_form_potential(self) -> bool:
        """True when the states' diffusivities share one temperature law (D_i = r_i D_0(T))
        and no state has a Soret law of its own."""
        return self._ratios is not None and not self.has_state_soret

    def soret_potential(self, T):
        """Phi(T) = int S_T dT = ln <r>_p(T) (needs proportional state diffusivities)."""
        if not self.has_closed_form_potential:
            raise ValueError("the Soret potential of an internal-state model is closed form only when the states' "
                             "diffusivities share one temperature law (D_i = r_i D_0(T)); give every state the "
                             "same law up to a constant factor")
        return ln(sum(p * r for p, r in zip(self.populations(T), self._ratios)))


def two_state_model(energy_difference: float, diffusivities: Sequence[DiffusivityLaw], *,
                    degeneracy_ratio: float = 1.0, barrier: float | None = None,
                    rate_prefactor: float = 1e6) -> InternalStateModel:
    """States 1 (E = 0, g = 1) and 2 (E = dE, g = g2/g1) with one transition over ``barrier``
    (default: the higher of the two energies, i.e. no extra barrier)."""
    barrier = max(0.0, energy_difference) if barrier is None else barrier
    states = (InternalState("state1", 0.0, diffusivities[0], 1.0),
              InternalState("state2", energy_difference, diffusivities[1], degeneracy_ratio))
    return InternalStateModel(states, (Transition(0, 1, barrier, rate_prefactor),))


# --- entropy production of the cycle ------------------------------------------------------
def _squared_norm(gradient):
    """|g|^2 of a UFL vector, of d/dx values (NumPy, 1D) or of a (dim, ...) NumPy array."""
    if hasattr(gradient, "ufl_shape"):
        import ufl

        return ufl.inner(gradient, gradient)
    g = np.asarray(gradient, dtype=float)
    return np.sum(g * g, axis=0) if g.ndim >= 2 else g * g


def transition_pairs(model: InternalStateModel) -> list[tuple[int, int]]:
    """The connected pairs (i, j) in the order the transitions are given."""
    return [(t.initial, t.final) for t in model.transitions]


def transition_flux(model: InternalStateModel, i: int, j: int, T, concentrations):
    """Net transition flux ``r_ij = k_ij c_i - k_ji c_j`` (concentration per second)."""
    return model.rate(i, j, T) * concentrations[i] - model.rate(j, i, T) * concentrations[j]


def diffusion_entropy_production(model: InternalStateModel, T, concentrations, gradients, *,
                                 gas_constant: float = GAS_CONSTANT):
    """``sum_i R D_i |grad c_i|^2 / c_i = sum_i R |J_i|^2 / (D_i c_i)`` in W/(K m^3).

    Molar concentrations (mol/m^3) with R; for number densities (1/m^3) pass
    ``gas_constant=BOLTZMANN``. Each term is >= 0."""
    if model.has_state_soret:
        raise ValueError("the cycle's entropy production is written for states without a Soret law of their own")
    terms = [gas_constant * s.diffusivity.diffusivity(T) * _squared_norm(g) / c
             for s, c, g in zip(model.states, concentrations, gradients)]
    return sum(terms[1:], terms[0])


def transition_entropy_production(model: InternalStateModel, T, concentrations, *,
                                  gas_constant: float = GAS_CONSTANT):
    """``sum_{i<j} R r_ij ln(k_ij c_i / (k_ji c_j))`` in W/(K m^3); each term is >= 0
    (flux and affinity have the same sign). Zero without transitions."""
    terms = []
    for i, j in transition_pairs(model):
        forward = model.rate(i, j, T) * concentrations[i]
        backward = model.rate(j, i, T) * concentrations[j]
        terms.append(gas_constant * (forward - backward) * ln(forward / backward))
    return sum(terms[1:], terms[0]) if terms else 0.0 * T


def cycle_entropy_production(model: InternalStateModel, T, concentrations, gradients, *,
                             gas_constant: float = GAS_CONSTANT):
    """Entropy production of the internal-state cycle, diffusion of every state plus the
    transitions (W/(K m^3), >= 0); NumPy or UFL. In the steady closed cell it is > 0 although
    the total flux vanishes: the state fluxes and the transitions form a cycle of currents."""
    return (diffusion_entropy_production(model, T, concentrations, gradients, gas_constant=gas_constant)
            + transition_entropy_production(model, T, concentrations, gas_constant=gas_constant))


# --- finite switching rates: relaxation, boundary layers, Damkohler number ----------------
def reaction_operator(model: InternalStateModel, T: float) -> np.ndarray:
    """``R`` with ``(R c)_i = sum_j (k_ij c_i - k_ji c_j)``, the loss of state i by switching
    (1/s). Its columns sum to zero (switching conserves particles) and ``R p = 0``."""
    k = model.rate_matrix(T)
    return np.diag(k.sum(axis=1)) - k.T


def relaxation_rate(model: InternalStateModel, T: float) -> float:
    """The slowest relaxation rate of the internal populations (1/s): the smallest nonzero
    eigenvalue of R (two states: k_12 + k_21)."""
    eigenvalues = np.sort(np.linalg.eigvals(reaction_operator(model, T)).real)
    return float(eigenvalues[1])


def _layer_modes(model: InternalStateModel, T: float) -> tuple[np.ndarray, np.ndarray]:
    """Decay rates lambda_m (1/m) and vectors v_m of the boundary-layer modes
    ``c = v exp(-lambda s)``, ``D lambda^2 v = R v`` with lambda > 0 (N - 1 of them)."""
    D = np.array([float(s.diffusivity.diffusivity(T)) for s in model.states])
    mu, vectors = np.linalg.eig(reaction_operator(model, T) / D[:, None])
    order = np.argsort(mu.real)[1:]  # drop the equilibrium mode (mu = 0)
    return np.sqrt(mu.real[order]), vectors.real[:, order]


def boundary_layer_length(model: InternalStateModel, T: float) -> float:
    """Thickness (m) of the widest layer in which the populations leave local equilibrium
    next to a no-flux wall; two states: ``sqrt(D_1 D_2 / (<D>_p (k_12 + k_21)))``."""
    return float(1.0 / _layer_modes(model, T)[0].min())


def damkohler_number(model: InternalStateModel, length: float, T: float) -> float:
    """``Da = k L^2 / <D>_p``: switching (slowest relaxation rate k) against diffusion across L."""
    return relaxation_rate(model, T) * length**2 / float(model.mean_diffusivity(T))


def soret_exponent(model: InternalStateModel, T_from: float, T_to: float) -> float:
    """``int S_T dT`` from T_from to T_to in the fast-switching limit (closed form when the
    diffusivities are proportional, else by quadrature)."""
    if model.has_closed_form_potential:
        return float(model.soret_potential(T_to) - model.soret_potential(T_from))
    from scipy.integrate import quad

    return float(quad(lambda T: float(model.soret_coefficient(T)), T_from, T_to, epsabs=0.0, epsrel=1e-13)[0])


def fast_switching_ratio(model: InternalStateModel, T_hot: float, T_cold: float) -> float:
    """c_cold / c_hot of a closed cell in the fast-switching limit, ``exp(int_cold^hot S_T dT)``;
    constant D_i: ``<D>_p(T_hot) / <D>_p(T_cold)``."""
    return float(np.exp(soret_exponent(model, T_cold, T_hot)))


def finite_rate_correction(model: InternalStateModel, length: float, T_hot: float, T_cold: float,
                           temperature=None) -> float:
    """Leading-order relative correction eps of the closed cell's ratio for finite rates:
    ``c_ratio = fast_switching_ratio (1 + eps) + O(1/Da)``, ``eps ∝ Da^(-1/2)``.

    Why: away from the walls the populations are in local equilibrium up to O(1/Da), but
    each state's own flux ``-D_i d(p_i rho)/dx`` must vanish at a no-flux wall, which local
    equilibrium cannot do; a layer of the width of :func:`boundary_layer_length`, of the
    modes ``D lambda^2 v = R v``, takes it up and shifts the total density at the wall by
    O(layer width x gradient). Two states, constant D_i:
    ``eps = -(l_hot S_T(T_hot) + l_cold S_T(T_cold)) |dT/dx|``. ``temperature``: T(x)
    (default linear, hot at x = 0), its wall gradients by finite differences.
    """
    if temperature is None:
        def temperature(x):
            return T_hot + (T_cold - T_hot) * np.asarray(x) / length
    step = 1e-6 * length
    relative = []
    for wall, inward in ((0.0, 1.0), (length, -1.0)):
        T = float(temperature(wall))
        dT_ds = (float(temperature(wall + inward * step)) - T) / step
        p = np.array([float(v) for v in model.populations(T)])
        energy = model.energies
        dp_dT = p * (energy - p @ energy) / (BOLTZMANN * T * T)
        # inward gradient of the outer (local-equilibrium) states, per unit total density
        gradient = (dp_dT - p * float(model.soret_coefficient(T))) * dT_ds
        rates, modes = _layer_modes(model, T)
        amplitudes = np.linalg.lstsq(modes, gradient, rcond=None)[0] / rates
        relative.append(float(np.sum(modes @ amplitudes)))
    hot_first = float(temperature(0.0)) > float(temperature(length))
    return relative[1] - relative[0] if hot_first else relative[0] - relative[1]


# --- the finite-rate closed cell in 1D: a reference for the FEM and the tracker -----------
@dataclass(frozen=True)
class CellReference:
    """Steady closed 1D cell with finite switching rates (SI; profiles on the finer grid,
    scalars Richardson-extrapolated from two grids, ``error_estimate`` their change)."""

    x: np.ndarray  # m, nodes
    temperature: np.ndarray  # K
    concentrations: np.ndarray  # (N, nodes), mol/m^3
    total_density: np.ndarray
    state_fluxes: np.ndarray  # (N, nodes), mol/(m^2 s), J_i = -D_i dc_i/dx
    transition_fluxes: dict  # (i, j) -> r_ij at the nodes, mol/(m^3 s)
    entropy_production: np.ndarray  # cycle entropy production at the nodes, W/(K m^3)
    c_ratio_cold_hot: float
    soret_coefficient_fit: float  # 1/K, volume-weighted slope of ln rho against T
    entropy_production_total: float  # int sigma dx, W/(K m^2) (per unit cross-section)
    total_amount: float  # mol/m^2 (per unit cross-section)
    error_estimate: dict


def _graded_nodes(length: float, cells: int, layer: float) -> np.ndarray:
    """Nodes on [0, L] clustered at both walls by a smooth tanh map of a uniform grid, so
    that about 5 % of the cells lie within ``layer`` of each wall; uniform if the layer is
    wide. The map does not depend on ``cells``: grids of n and 2n cells are nested and their
    errors scale as n^-2 (what Richardson extrapolation needs)."""
    xi = np.linspace(0.0, 1.0, cells + 1)
    target = (layer / length) / 0.05  # wanted dx/dxi at the wall, in units of L
    if target >= 1.0:
        return length * xi
    from scipy.optimize import brentq

    beta = brentq(lambda b: b / (np.tanh(b) * np.cosh(b) ** 2) - target, 1e-6, 50.0)
    x = 0.5 * length * (1.0 + np.tanh(beta * (2.0 * xi - 1.0)) / np.tanh(beta))
    x[0], x[-1] = 0.0, length
    return x


def _rate_matrices(model: InternalStateModel, T: np.ndarray) -> np.ndarray:
    """k_ij at many temperatures, (len(T), N, N)."""
    nu, barrier, energy = model.prefactor_matrix(), model.barrier_matrix(), model.energies
    exponent = -(barrier - energy[:, None])[None] / (BOLTZMANN * np.asarray(T, dtype=float)[:, None, None])
    return np.where(nu > 0.0, nu * np.exp(np.where(nu > 0.0, exponent, 0.0)), 0.0)


def _solve_cell_grid(model: InternalStateModel, x: np.ndarray, temperature, amount: float):
    """Vertex-centred finite volumes (= P1 with lumped mass, midpoint diffusivities):
    conservative, an M-matrix for any rate, exact mass. Returns c (N, nodes)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.linalg import spsolve

    n_states, nodes = model.size, x.size
    h = np.diff(x)
    dual = np.zeros(nodes)
    dual[:-1] += 0.5 * h
    dual[1:] += 0.5 * h
    T_nodes = temperature(x)
    T_faces = temperature(0.5 * (x[1:] + x[:-1]))
    rows, cols, vals = [], [], []

    def index(i, k):
        return k * n_states + i

    for i, state in enumerate(model.states):
        conductance = np.asarray(state.diffusivity.diffusivity(T_faces), dtype=float) / h
        left, right = np.arange(nodes - 1), np.arange(1, nodes)
        for a, b in ((left, right), (right, left)):  # outflow from a to b
            rows += [index(i, a), index(i, a)]
            cols += [index(i, a), index(i, b)]
            vals += [conductance, -conductance]
    k = _rate_matrices(model, T_nodes)  # (nodes, N, N)
    node = np.arange(nodes)
    for i in range(n_states):
        for j in range(n_states):
            if i != j and np.any(k[:, i, j] > 0):  # i -> j: lost by i, gained by j
                rate = k[:, i, j] * dual
                rows += [index(i, node), index(j, node)]
                cols += [index(i, node), index(i, node)]
                vals += [rate, -rate]
    rows, cols, vals = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
    # the rows sum to zero (particles are conserved): one of them is implied by the others;
    # replace it by c_0 = 1 at the first node (a sparse, banded pin), then rescale
    keep = rows != 0
    size = n_states * nodes
    A = coo_matrix((np.append(vals[keep], 1.0), (np.append(rows[keep], 0), np.append(cols[keep], 0))),
                   shape=(size, size))
    rhs = np.zeros(size)
    rhs[0] = 1.0
    c = spsolve(A.tocsc(), rhs).reshape(nodes, n_states).T
    return c * amount / np.sum(dual * c.sum(axis=0))


def _cell_outputs(model: InternalStateModel, x: np.ndarray, temperature, c: np.ndarray) -> dict:
    """Scalars of one grid (second-order quadratures) and the node profiles."""
    h = np.diff(x)
    dual = np.zeros(x.size)
    dual[:-1] += 0.5 * h
    dual[1:] += 0.5 * h
    T = temperature(x)
    rho = c.sum(axis=0)
    hot, cold = (0, -1) if T[0] > T[-1] else (-1, 0)
    moments = [np.sum(dual * f) for f in (np.ones_like(T), T, T * T, np.log(rho), T * np.log(rho))]
    volume, sum_T, sum_TT, sum_ln, sum_T_ln = moments
    soret_fit = -(volume * sum_T_ln - sum_T * sum_ln) / (volume * sum_TT - sum_T**2)

    T_faces = temperature(0.5 * (x[1:] + x[:-1]))
    face_gradients = np.diff(c, axis=1) / h
    face_c = 0.5 * (c[:, 1:] + c[:, :-1])
    diffusion = diffusion_entropy_production(model, T_faces, face_c, face_gradients)
    transitions = transition_entropy_production(model, T, c)
    entropy_total = float(np.sum(h * diffusion) + np.sum(dual * transitions))

    D_faces = np.array([np.asarray(s.diffusivity.diffusivity(T_faces), dtype=float) for s in model.states])
    face_flux = -D_faces * face_gradients
    flux = np.zeros_like(c)  # nodes: the walls carry none, inside the mean of the two faces
    flux[:, 1:-1] = 0.5 * (face_flux[:, 1:] + face_flux[:, :-1])
    node_gradients = np.gradient(c, x, axis=1)
    return {"c_ratio_cold_hot": float(rho[cold] / rho[hot]), "soret_coefficient_fit": float(soret_fit),
            "entropy_production_total": entropy_total, "T": T, "rho": rho, "flux": flux,
            "sigma": cycle_entropy_production(model, T, c, node_gradients)}


def solve_cell_reference(model: InternalStateModel, length: float, T_hot: float, T_cold: float, *,
                         temperature=None, mean_concentration: float = 1.0,
                         cells: int = 500) -> CellReference:
    """Steady closed cell 0 <= x <= L with finite switching rates:
    ``d/dx(D_i(T) dc_i/dx) + sum_j (k_ji c_j - k_ij c_i) = 0``, ``c_i' = 0`` at both walls,
    total amount ``mean_concentration x L``. ``temperature``: T(x) in K for NumPy x in m
    (default linear, hot at x = 0).

    Solved on nested graded grids of ``cells`` and ``2 cells`` (graded to the boundary
    layers, :func:`boundary_layer_length`); scalars are Richardson-extrapolated
    (``(4 f_2n - f_n) / 3``) and ``error_estimate`` holds ``|f_2n - f_n| / 3``, the
    estimated error of the finer grid's value (the extrapolated one is far better).
    """
    if temperature is None:
        def temperature(x):
            return T_hot + (T_cold - T_hot) * np.asarray(x, dtype=float) / length
    amount = mean_concentration * length
    layer = min(boundary_layer_length(model, T) for T in (T_hot, T_cold)) if model.transitions else length
    outputs = []
    for n in (cells, 2 * cells):
        x = _graded_nodes(length, n, layer)
        c = _solve_cell_grid(model, x, temperature, amount)
        outputs.append(_cell_outputs(model, x, temperature, c))
    coarse, fine = outputs
    scalars = ("c_ratio_cold_hot", "soret_coefficient_fit", "entropy_production_total")
    extrapolated = {key: (4.0 * fine[key] - coarse[key]) / 3.0 for key in scalars}
    T = fine["T"]
    return CellReference(
        x=x, temperature=T, concentrations=c, total_density=fine["rho"], state_fluxes=fine["flux"],
        transition_fluxes={(i, j): transition_flux(model, i, j, T, c) for i, j in transition_pairs(model)},
        entropy_production=fine["sigma"], total_amount=amount,
        error_estimate={key: abs(fine[key] - coarse[key]) / 3.0 for key in scalars}, **extrapolated)
