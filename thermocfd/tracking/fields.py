"""Fields sampled on a structured grid: what the tracking kernels read.

A :class:`GridFields` holds node values of T, grad T, u, D(T), D_T(T) (and optionally
grad D and an inside mask) on a uniform axis-aligned grid. The kernels read one record
``[b_x, b_y, b_z, D]`` per node (:meth:`GridFields.node_records`), where the drift
``b = u - D_T grad T + F_ext D / (k_B T) [+ grad D]`` is combined once on the grid, so a
step costs one trilinear interpolation of four numbers.

Build one from NumPy callables (:meth:`GridFields.from_callables`, analytic fields for
tests and simple cases) or from dolfinx Functions (:func:`.sampling.grid_fields_from_dolfinx`).
Time-dependent fields: :class:`FieldSeries` interpolates linearly between snapshots.

Particles with internal states (:mod:`thermocfd.physics.internal_states`) read
``[b_x, b_y, b_z, T, D_0, ..., D_3]`` per node instead
(:meth:`GridFields.state_node_records`): each state's D from its own law at the node T,
and T itself, from which the kernel evaluates the Arrhenius rates at the particle
(:func:`state_rate_parameters`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable, Sequence

import numpy as np

from ..errors import SolverError
from ..physics.constants import BOLTZMANN
from ..physics.internal_states import InternalStateModel
from .kernels_cpu import MAX_STATES, STATE_RECORD

GRAD_D_MODES = ("trilinear", "grid", "none")
"""How the Ito drift gets its ``grad D``: derivative of the trilinear interpolant of D in
the kernel (consistent with the noise amplitude: the default), node values of grad D
interpolated trilinearly (consistent to O(h^2)), or omitted (wrong when D varies; kept to
demonstrate that)."""


def _as3(values, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    if array.size != 3:
        raise ValueError(f"{name} needs 3 components, got {array.size}")
    return array


@dataclass
class GridFields:
    """Node values on the grid ``origin + (i, j, k) * spacing``, ``0 <= i < shape[0]``...

    Scalars have shape ``shape``; vectors ``shape + (3,)``. SI units.
    """

    origin: np.ndarray
    spacing: np.ndarray
    temperature: np.ndarray
    grad_temperature: np.ndarray
    diffusivity: np.ndarray
    thermal_diffusivity: np.ndarray
    velocity: np.ndarray | None = None
    grad_diffusivity: np.ndarray | None = None
    inside: np.ndarray | None = None
    time: float = 0.0
    metadata: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.origin = _as3(self.origin, "origin")
        self.spacing = _as3(self.spacing, "spacing")
        if np.any(self.spacing <= 0):
            raise ValueError("grid spacing must be positive")
        shape = np.shape(self.temperature)
        if len(shape) != 3 or min(shape) < 2:
            raise ValueError(f"grid needs at least 2 nodes per axis, got shape {shape}")
        for name in ("diffusivity", "thermal_diffusivity", "inside"):
            value = getattr(self, name)
            if value is not None and np.shape(value) != shape:
                raise ValueError(f"{name} has shape {np.shape(value)}, expected {shape}")
        for name in ("grad_temperature", "velocity", "grad_diffusivity"):
            value = getattr(self, name)
            if value is not None and np.shape(value) != shape + (3,):
                raise ValueError(f"{name} has shape {np.shape(value)}, expected {shape + (3,)}")

    # --- geometry ------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(int(n) for n in np.shape(self.temperature))

    @property
    def lower(self) -> np.ndarray:
        return self.origin.copy()

    @property
    def upper(self) -> np.ndarray:
        return self.origin + self.spacing * (np.array(self.shape) - 1)

    def axes(self) -> list[np.ndarray]:
        """Node coordinates along each axis."""
        return [self.origin[a] + self.spacing[a] * np.arange(self.shape[a]) for a in range(3)]

    def node_points(self) -> np.ndarray:
        """All node coordinates as an (n_nodes, 3) array, C order (i slowest)."""
        x, y, z = np.meshgrid(*self.axes(), indexing="ij")
        return np.column_stack([x.ravel(), y.ravel(), z.ravel()])

    # --- constructors --------------------------------------------------------------
    @classmethod
    def from_callables(cls, lower: Sequence[float], upper: Sequence[float],
                       shape: Sequence[int], temperature: Callable | float,
                       diffusivity, soret=None, *, velocity: Callable | None = None,
                       grad_temperature: Callable | None = None,
                       thermal_diffusivity: Callable | None = None,
                       inside: Callable | None = None, time: float = 0.0) -> "GridFields":
        """Sample analytic fields at the grid nodes.

        ``temperature(x, y, z)``, ``velocity(x, y, z) -> (ux, uy, uz)`` and
        ``grad_temperature`` take node coordinate arrays; without ``grad_temperature`` it
        is the finite-difference gradient of the node temperatures. ``diffusivity`` is a
        number, a diffusivity law (``.diffusivity(T)``) or a callable of T; D_T is
        ``S_T(T) D(T)`` for a Soret law ``soret`` (or ``thermal_diffusivity(T)``, or 0).
        ``inside(x, y, z) -> bool`` marks the fluid for a non-box geometry.
        """
        lower = _as3(lower, "lower")
        upper = _as3(upper, "upper")
        shape = tuple(int(n) for n in shape)
        spacing = (upper - lower) / (np.array(shape) - 1)
        axes = [lower[a] + spacing[a] * np.arange(shape[a]) for a in range(3)]
        x, y, z = np.meshgrid(*axes, indexing="ij")

        def scalar(value):
            out = value(x, y, z) if callable(value) else value
            return np.broadcast_to(np.asarray(out, dtype=np.float64), shape).copy()

        def vector(value):
            comps = value(x, y, z)
            return np.stack([np.broadcast_to(np.asarray(c, dtype=np.float64), shape)
                             for c in comps], axis=-1)

        T = scalar(temperature)
        grad_T = vector(grad_temperature) if grad_temperature is not None else \
            finite_difference_gradient(T, spacing)
        D = node_diffusivity(diffusivity, T)
        if thermal_diffusivity is not None:
            D_T = np.broadcast_to(np.asarray(thermal_diffusivity(T), dtype=np.float64), shape).copy()
        elif soret is not None:
            D_T = np.asarray(soret.soret_coefficient(T), dtype=np.float64) * D
        else:
            D_T = np.zeros(shape)
        return cls(origin=lower, spacing=spacing, temperature=T, grad_temperature=grad_T,
                   diffusivity=D, thermal_diffusivity=D_T,
                   velocity=vector(velocity) if velocity is not None else None,
                   grad_diffusivity=finite_difference_gradient(D, spacing),
                   inside=np.asarray(inside(x, y, z), dtype=bool) if inside is not None else None,
                   time=time)

    # --- what the kernels read -----------------------------------------------------
    def node_records(self, grad_d: str = "trilinear",
                     external_force: Sequence[float] | None = None,
                     dtype=np.float64, with_inside: bool = False) -> np.ndarray:
        """The (nx, ny, nz, 4) array ``[b_x, b_y, b_z, D]`` the kernels interpolate; with
        ``with_inside`` (nx, ny, nz, 5), the inside mask (1 everywhere without one) as the
        fifth component, so that the kernel's inside test reads the same cache lines.

        ``external_force`` (N, e.g. the buoyant weight) becomes the drift
        ``F / zeta = F D / (k_B T)`` (Stokes-Einstein friction). ``grad_d`` as in
        :data:`GRAD_D_MODES`; ``"trilinear"`` is added inside the kernel, not here.
        """
        if grad_d not in GRAD_D_MODES:
            raise ValueError(f"grad_d must be one of {GRAD_D_MODES}, got {grad_d!r}")
        drift = -self.thermal_diffusivity[..., None] * self.grad_temperature
        if self.velocity is not None:
            drift = drift + self.velocity
        if external_force is not None and np.any(np.asarray(external_force) != 0.0):
            force = _as3(external_force, "external_force")
            mobility = self.diffusivity / (BOLTZMANN * self.temperature)
            drift = drift + mobility[..., None] * force
        if grad_d == "grid":
            grad_D = self.grad_diffusivity if self.grad_diffusivity is not None else \
                finite_difference_gradient(self.diffusivity, self.spacing)
            drift = drift + grad_D
        records = np.empty(self.shape + (5 if with_inside else 4,), dtype=dtype)
        records[..., :3] = drift
        records[..., 3] = self.diffusivity
        if with_inside:
            records[..., 4] = 1.0 if self.inside is None else self.inside
        return records

    def state_diffusivities(self, model: InternalStateModel) -> np.ndarray:
        """Each state's D at the nodes, shape ``(model.size,) + shape`` (m^2/s)."""
        return np.stack([node_diffusivity(state.diffusivity, self.temperature) for state in model.states])

    def state_node_records(self, model: InternalStateModel, dtype=np.float64) -> np.ndarray:
        """The (nx, ny, nz, STATE_RECORD) array ``[b_x, b_y, b_z, T, D_0, ..., D_3]`` of the
        internal-state kernels; unused state slots are zero.

        ``b = u - D_T grad T`` with the fields' D_T, which every state shares (zero in the
        Liang-Busiello-De Los Rios model: the states have no thermophoresis of their own).
        The Ito ``grad D_i`` and the force drift ``D_i F/(k_B T)`` are added in the kernel,
        weighted by the time spent in each state.
        """
        if model.size > MAX_STATES:
            raise ValueError(f"the tracker follows at most {MAX_STATES} internal states, the model has {model.size}")
        records = np.zeros(self.shape + (STATE_RECORD,), dtype=dtype)
        records[..., :3] = -self.thermal_diffusivity[..., None] * self.grad_temperature
        if self.velocity is not None:
            records[..., :3] += self.velocity
        records[..., 3] = self.temperature
        records[..., 4:4 + model.size] = np.moveaxis(self.state_diffusivities(model), 0, -1)
        return records

    def check_finite(self) -> None:
        """Refuse fields with NaN or inf nodes: the kernels' NaN guard would stop every
        particle that samples them, and a time step suggested from them is meaningless."""
        bad = np.zeros(self.shape, dtype=bool)
        for name in ("temperature", "diffusivity", "thermal_diffusivity", "grad_temperature", "velocity"):
            value = getattr(self, name)
            if value is not None:
                finite = np.isfinite(value)
                bad |= ~(finite if finite.ndim == 3 else finite.all(axis=-1))
        if bad.any():
            raise SolverError(f"particle tracker: the sampled fields are NaN or inf at {int(bad.sum())} of "
                              f"{bad.size} grid nodes: the FEM fields or a property law (D(T), S_T(T)) are not "
                              "finite there; check the laws over the temperature range and the mesh")

    def mask_array(self, dtype=np.float64) -> np.ndarray | None:
        """Inside mask as 0/1 node values (None: the whole box is fluid)."""
        return None if self.inside is None else np.asarray(self.inside, dtype=dtype)

    def blend(self, other: "GridFields", weight: float) -> "GridFields":
        """``(1 - weight) * self + weight * other`` on the same grid."""
        if self.shape != other.shape or not (np.allclose(self.origin, other.origin)
                                             and np.allclose(self.spacing, other.spacing)):
            raise ValueError("snapshots must share one grid")

        def mix(a, b):
            if a is None and b is None:
                return None
            a = np.zeros_like(b) if a is None else a
            b = np.zeros_like(a) if b is None else b
            return (1.0 - weight) * a + weight * b

        inside = self.inside if self.inside is not None else other.inside
        if self.inside is not None and other.inside is not None:
            inside = self.inside & other.inside
        return replace(self, temperature=mix(self.temperature, other.temperature),
                       grad_temperature=mix(self.grad_temperature, other.grad_temperature),
                       diffusivity=mix(self.diffusivity, other.diffusivity),
                       thermal_diffusivity=mix(self.thermal_diffusivity, other.thermal_diffusivity),
                       velocity=mix(self.velocity, other.velocity),
                       grad_diffusivity=mix(self.grad_diffusivity, other.grad_diffusivity),
                       inside=inside, time=(1.0 - weight) * self.time + weight * other.time)


@dataclass
class FieldSeries:
    """Time-dependent fields: snapshots at increasing times, linear in between.

    Before the first and after the last snapshot the end snapshots hold.
    """

    snapshots: list[GridFields]

    def __post_init__(self) -> None:
        if not self.snapshots:
            raise ValueError("a FieldSeries needs at least one snapshot")
        times = np.array([s.time for s in self.snapshots])
        if np.any(np.diff(times) <= 0):
            raise ValueError("snapshot times must increase strictly")

    @property
    def times(self) -> np.ndarray:
        return np.array([s.time for s in self.snapshots])

    def at(self, t: float) -> GridFields:
        times = self.times
        if t <= times[0]:
            return self.snapshots[0]
        if t >= times[-1]:
            return self.snapshots[-1]
        i = int(np.searchsorted(times, t, side="right")) - 1
        weight = (t - times[i]) / (times[i + 1] - times[i])
        return self.snapshots[i].blend(self.snapshots[i + 1], weight)


def trilinear(values: np.ndarray, origin: np.ndarray, spacing: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Trilinear interpolation of node values at (N, 3) points, clamped to the grid (as the
    kernels interpolate)."""
    shape = np.array(np.shape(values)[:3])
    g = (np.asarray(points, dtype=np.float64) - origin) / spacing
    index = np.clip(np.floor(g).astype(np.int64), 0, shape - 2)
    frac = np.clip(g - index, 0.0, 1.0)
    out = np.zeros(len(g))
    for corner in range(8):
        offset = np.array([(corner >> a) & 1 for a in range(3)])
        weight = np.prod(np.where(offset == 1, frac, 1.0 - frac), axis=1)
        idx = index + offset
        out += weight * values[idx[:, 0], idx[:, 1], idx[:, 2]]
    return out


@dataclass(frozen=True)
class StateRateParameters:
    """What the kernels need to evaluate the switching rates and the local equilibrium at
    a temperature T (arrays padded to MAX_STATES, scaled so that T is the only input).

    ``k_ij = prefactor[i, j] exp(-activation[i, j] / T)`` with ``activation = (B_ij - E_i)/k_B``
    (K); ``p_j ∝ exp(log_weight[j] - level[j] / T)`` within one ``component`` (states
    connected by transitions), ``level`` = (E_j - lowest E of the component)/k_B (K), so the
    exponentials cannot overflow.
    """

    n_states: int
    prefactor: np.ndarray
    activation: np.ndarray
    log_weight: np.ndarray
    level: np.ndarray
    component: np.ndarray


def state_rate_parameters(model: InternalStateModel) -> StateRateParameters:
    """The kernels' rate and equilibrium parameters of an internal-state model."""
    n = model.size
    if n > MAX_STATES:
        raise ValueError(f"the tracker follows at most {MAX_STATES} internal states, the model has {n}")
    energy = model.energies
    prefactor = np.zeros((MAX_STATES, MAX_STATES))
    activation = np.zeros((MAX_STATES, MAX_STATES))
    nu = model.prefactor_matrix()
    prefactor[:n, :n] = nu
    activation[:n, :n] = np.where(nu > 0, (model.barrier_matrix() - energy[:, None]) / BOLTZMANN, 0.0)
    component = np.arange(MAX_STATES, dtype=np.int32)
    for _ in range(n):  # label propagation: each state ends with its set's smallest index
        for i in range(n):
            for j in range(n):
                if nu[i, j] > 0:
                    component[i] = component[j] = min(component[i], component[j])
    level = np.zeros(MAX_STATES)
    log_weight = np.zeros(MAX_STATES)
    for i in range(n):
        lowest = energy[component[:n] == component[i]].min()
        level[i] = (energy[i] - lowest) / BOLTZMANN
        log_weight[i] = np.log(model.degeneracies[i])
    return StateRateParameters(n, prefactor, activation, log_weight, level, component)


def node_diffusivity(diffusivity, T: np.ndarray) -> np.ndarray:
    """D at the nodes from a number, a law with ``.diffusivity(T)`` or a callable of T."""
    if hasattr(diffusivity, "diffusivity"):
        D = diffusivity.diffusivity(T)
    elif callable(diffusivity):
        D = diffusivity(T)
    else:
        D = float(diffusivity)
    D = np.broadcast_to(np.asarray(D, dtype=np.float64), np.shape(T)).copy()
    if np.any(D < 0) or not np.all(np.isfinite(D)):
        raise ValueError("diffusivity must be finite and non-negative at every grid node")
    return D


def finite_difference_gradient(values: np.ndarray, spacing: np.ndarray) -> np.ndarray:
    """Finite-difference gradient of node values, shape + (3,).

    Second order (one-sided at the ends) on axes with at least 3 nodes, else first order.
    """
    values = np.asarray(values, dtype=np.float64)
    return np.stack([np.gradient(values, spacing[a], axis=a,
                                 edge_order=2 if values.shape[a] >= 3 else 1)
                     for a in range(3)], axis=-1)


def buoyant_weight(radius: float, particle_density: float, fluid_density: float,
                   gravity: Sequence[float]) -> np.ndarray:
    """Gravity minus buoyancy on a sphere, ``(4/3) pi a^3 (rho_p - rho_f) g`` in N."""
    volume = 4.0 / 3.0 * np.pi * radius**3
    return volume * (particle_density - fluid_density) * _as3(gravity, "gravity")
