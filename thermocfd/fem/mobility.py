"""Resolved particles: resistance matrix and force-/torque-free phoretic motion.

Fluid velocity on particle k's surface: ``u = U_k + Omega_k x (x - x_k) + u_slip``. By
linearity the hydrodynamic force/torque on the particles is
``F = -R V + F_slip`` with ``V = (U_1, Omega_1, U_2, ...)``; R (the resistance matrix)
comes from the 6 N unit rigid motions, ``F_slip`` from the slip problem with all
particles held fixed, all solved with ONE assembled operator and preconditioner. The
force- and torque-free motion with external loads ``F_ext`` is ``V = R^-1 (F_slip + F_ext)``.
Forces are the weak-form reactions (:meth:`StokesProblem.rigid_body_loads`).

``F_slip`` needs no solve of its own: by the reciprocal theorem, which holds exactly for
the discrete symmetric system, the load of the slip problem along unit motion j equals the
work of the slip data g against the reactions r_j of the unit-motion solution j,
``e_j . r_slip = g . r_j`` (both sums over the Dirichlet dofs). So 6 N solves give R and
F_slip; only the flow field of the moving particles, when wanted, costs one more.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
from mpi4py import MPI

from ..errors import ThermocfdError
from ..physics.phoresis import blake_stokeslet, stokeslet
from ..physics.slip import SlipLaw
from . import compat
from .mesh import Domain
from .stokes import NoSlip, PrescribedVelocity, RigidBody, StokesProblem, ThermoOsmoticSlip


@dataclass(frozen=True)
class Particle:
    """A resolved particle: its region and surface names, centre (m), slip coefficient."""

    region: str
    surface: str
    centre: tuple[float, float, float]
    slip_coefficient: float | SlipLaw | None = None


def particles_of(domain: Domain, slip_coefficient: float | None = None) -> list[Particle]:
    """The particles a builder of :mod:`thermocfd.fem.particle_mesh` put in the domain."""
    described = domain.metadata.get("particles")
    if not described:
        raise ThermocfdError("the mesh does not describe its particles; pass Particle(...) objects "
                             "with the region and surface names of the particle")
    return [Particle(p["name"], p["surface"], tuple(p["centre"]), slip_coefficient) for p in described]


def check_particle_tags(domain: Domain, particles: Sequence[Particle]) -> None:
    """Clear messages for particles whose region/surface tags are missing (imported meshes)."""
    for p in particles:
        if p.surface not in domain.boundaries:
            raise ThermocfdError(f"particle surface {p.surface!r} is not a tagged boundary of the mesh "
                                 f"(boundaries: {', '.join(sorted(domain.boundaries)) or 'none'}); "
                                 "tag it as a physical surface")
        if p.region not in domain.regions:
            raise ThermocfdError(f"particle region {p.region!r} is not a tagged region of the mesh "
                                 f"(regions: {', '.join(sorted(domain.regions)) or 'none'}); "
                                 "mesh the particle interior as its own physical volume")


@dataclass
class PhoreticResult:
    """Motion of the particles (SI); arrays have one row per particle."""

    velocity: np.ndarray  # (N, 3) m/s
    angular_velocity: np.ndarray  # (N, 3) rad/s
    resistance_matrix: np.ndarray  # (6N, 6N): F = -R V, SI units per block
    slip_force: np.ndarray  # (6N,) force/torque of the slip with particles held fixed
    thermophoretic_mobility: float | None = None  # D_T = -U.G/|G|^2 (m^2/(s K)) if G given
    iterations: list[int] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict:
        """Canonical summary.json entries."""
        out = {"particle_velocity": self.velocity[0].tolist() if len(self.velocity) == 1 else self.velocity.tolist(),
               "particle_angular_velocity": (self.angular_velocity[0].tolist() if len(self.angular_velocity) == 1
                                             else self.angular_velocity.tolist()),
               "resistance_matrix": self.resistance_matrix.tolist()}
        if self.thermophoretic_mobility is not None:
            out["thermophoretic_mobility"] = self.thermophoretic_mobility
        return out


class MobilityProblem:
    """Particles in a Stokes flow, all other boundaries no-slip walls (unless given).

    viscosity: Pa s (constant; a temperature law is passed on to :class:`StokesProblem`
    with ``temperature``). ``walls``: the boundaries at rest (default: every boundary that
    is not a particle surface). Extra Stokes conditions (e.g. thermo-osmotic walls) go in
    ``conditions`` (their slip is switched off for the unit rigid motions and on for the
    slip problem). ``stokes_options`` are passed to :class:`StokesProblem` (solver,
    rtol, options...).

    far_field: None (far boundaries at rest), "stokeslet" (unbounded fluid) or "blake"
    (unbounded fluid above the no-slip plane z = 0): the boundaries ``far_boundaries``
    then carry the far field of the particle's own force, which removes the O(a/L)
    container error (see :meth:`far_field_correction`). One particle only.
    """

    def __init__(self, domain: Domain, viscosity, particles: Sequence[Particle] | None = None, *,
                 temperature=None, walls: Sequence[str] | None = None, conditions: Sequence = (),
                 velocity_scale: float = 1.0, far_field: str | None = None,
                 far_boundaries: Sequence[str] = (), **stokes_options):
        self.domain = domain
        self.particles = list(particles) if particles is not None else particles_of(domain)
        check_particle_tags(domain, self.particles)
        surfaces = {p.surface for p in self.particles}
        taken = {c.boundary for c in conditions if hasattr(c, "boundary")} | set(far_boundaries)
        if walls is None:
            walls = [name for name in domain.boundaries if name not in surfaces and name not in taken]
        if far_field not in (None, "stokeslet", "blake"):
            raise ValueError(f"far_field must be None, 'stokeslet' or 'blake', got {far_field!r}")
        if far_field is not None and (len(self.particles) != 1 or not far_boundaries):
            raise ValueError("the far-field condition needs one particle and the far boundaries' names")
        self.far_field = far_field
        self.far_boundaries = list(far_boundaries)
        conds = [NoSlip(w) for w in walls] + list(conditions)
        conds += [PrescribedVelocity(b, (0.0, 0.0, 0.0)) for b in self.far_boundaries]
        conds += [RigidBody(p.region, p.surface, p.centre, p.slip_coefficient) for p in self.particles]
        start = time.perf_counter()
        self.stokes = StokesProblem(domain, viscosity, conds, temperature=temperature,
                                    velocity_scale=velocity_scale, **stokes_options)
        self.timings = {"setup": time.perf_counter() - start}
        self._resistance_scaled: np.ndarray | None = None
        self._reactions: list[np.ndarray] = []  # residuals of the unit motions (owned dofs)
        ell = domain.length_scale
        s = self.stokes
        # generalised velocity / force scales per particle (translation, rotation)
        self._far_correction: np.ndarray | None = None
        self._v_scale = np.tile(np.r_[np.full(3, s.velocity_scale), np.full(3, s.velocity_scale / ell)],
                                len(self.particles))
        self._f_scale = np.tile(np.r_[np.full(3, s.force_scale), np.full(3, s.torque_scale)], len(self.particles))

    def set_temperature(self, temperature) -> None:
        """Temperature (K, a Function on the domain) that drives the slip."""
        self.stokes.set_temperature(temperature)

    def _set_all(self, motions: np.ndarray, slip: bool) -> None:
        """Rigid motions (solver units) of all particles; slip on particles and walls on/off."""
        for condition in self.stokes.conditions:
            if isinstance(condition, ThermoOsmoticSlip):
                values = self.stokes.values[condition.boundary]
                if slip:
                    values.x.array[:] = self.stokes.slip_velocity(condition.boundary).x.array
                else:
                    values.x.array[:] = 0.0
        for k, p in enumerate(self.particles):
            m = motions[6 * k: 6 * k + 6]
            self.stokes.set_rigid_motion(p.region, m[:3], m[3:], slip=slip and p.slip_coefficient is not None,
                                         scaled=True)

    def _raw_loads(self, residual: np.ndarray | None = None) -> np.ndarray:
        if residual is None:
            residual = self.stokes.residual().array_r
        return np.concatenate([self.stokes._rigid_loads_scaled(p.region, residual) for p in self.particles])

    def _loads(self, residual: np.ndarray | None = None) -> np.ndarray:
        """Loads of the last solve (or of a given residual), corrected for the far field."""
        raw = self._raw_loads(residual)
        return raw if self.far_field is None else self.far_field_correction() @ raw

    def far_field_correction(self) -> np.ndarray:
        """6x6 map from loads with the far boundaries at rest to far-field-consistent ones.

        A finite container changes the drag at O(a/L) (its walls reflect the Stokeslet).
        Imposing on the far boundaries the Stokeslet (or, above a no-slip wall z = 0,
        Blake's image system) of the force -F the particle exerts on the fluid removes
        that leading error, leaving O((a/L)^3). The outer flow is linear in F, so with B
        the loads of the three unit far fields (particle at rest): loads = raw - B F and
        F = loads[:3], i.e. loads = (I - B (I + B_FF)^-1 P_F) raw. Three extra solves, once.
        """
        if self._far_correction is None:
            s = self.stokes
            p = self.particles[0]
            ell = self.domain.length_scale
            c = np.asarray(p.centre, dtype=float) / ell
            kernel = stokeslet if self.far_field == "stokeslet" else blake_stokeslet
            mu = float(np.asarray(s.mu.value)) if hasattr(s.mu, "value") else 1.0
            B = np.zeros((6, 3))
            self._set_all(np.zeros(6), slip=False)
            for k in range(3):
                e = np.eye(3)[k]
                for name in self.far_boundaries:
                    # unit force on the fluid, solver units -> velocity in solver units
                    compat.interpolate(s.values[name], lambda x, e=e: kernel(x, c, e, mu))
                s.solve()
                B[:, k] = self._raw_loads()
            for name in self.far_boundaries:
                s.values[name].x.array[:] = 0.0
            P = np.zeros((3, 6))
            P[:, :3] = np.eye(3)
            self._far_correction = np.eye(6) - B @ np.linalg.solve(np.eye(3) + B[:3], P)
        return self._far_correction

    def loads_for_motion(self, translation=(0.0, 0.0, 0.0), rotation=(0.0, 0.0, 0.0),
                         particle: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Force (N) and torque (N m) on a particle moving rigidly (SI), the others at rest.

        One solve: cheaper than the full resistance matrix when one column is needed.
        """
        n = 6 * len(self.particles)
        if self.far_field is not None:
            self.far_field_correction()
        motion = np.zeros(n)
        motion[6 * particle: 6 * particle + 6] = np.r_[translation, rotation]
        self._set_all(motion / self._v_scale, slip=False)
        self.stokes.solve()
        loads = self._loads() * self._f_scale
        return loads[6 * particle: 6 * particle + 3], loads[6 * particle + 3: 6 * particle + 6]

    def resistance_matrix_scaled(self) -> np.ndarray:
        """R in solver units (6N unit rigid motions, one operator)."""
        if self._resistance_scaled is None:
            start = time.perf_counter()
            if self.far_field is not None:
                self.far_field_correction()
            n = 6 * len(self.particles)
            R = np.zeros((n, n))
            self._reactions = []
            for j in range(n):
                motion = np.zeros(n)
                motion[j] = 1.0
                self._set_all(motion, slip=False)
                self.stokes.solve()
                residual = self.stokes.residual().array_r.copy()
                self._reactions.append(residual)
                R[:, j] = -self._loads(residual)
            self._resistance_scaled = R
            self.timings["resistance"] = time.perf_counter() - start
        return self._resistance_scaled

    def resistance_matrix(self) -> np.ndarray:
        """R in SI (F = -R V): blocks N s/m, N s, N m s."""
        return self._f_scale[:, None] * self.resistance_matrix_scaled() / self._v_scale[None, :]

    def slip_loads_scaled(self, reciprocal: bool = True) -> np.ndarray:
        """Force/torque of the slip alone with all particles held fixed (solver units).

        reciprocal: from the slip data and the unit motions' reactions (no solve; see the
        module notes), else by solving the slip problem. A body force breaks the identity
        (its work enters both sides), so it is then always solved.
        """
        start = time.perf_counter()
        reciprocal = reciprocal and self.stokes.body_force is None
        if reciprocal:
            self.resistance_matrix_scaled()
        self._set_all(np.zeros(6 * len(self.particles)), slip=True)
        if reciprocal:
            g = self.stokes.boundary_data()
            local = np.array([g @ r for r in self._reactions])
            raw = -self.domain.comm.allreduce(local, op=MPI.SUM)
            loads = raw if self.far_field is None else self.far_field_correction() @ raw
        else:
            self.stokes.solve()
            loads = self._loads()
        self.timings["slip"] = time.perf_counter() - start
        return loads

    def solve(self, external_force: Sequence[float] | np.ndarray | None = None,
              temperature_gradient: Sequence[float] | None = None,
              flow_field: bool = False) -> PhoreticResult:
        """Force- and torque-free motion (with optional external force/torque per particle).

        external_force: (3,) force for one particle, or (N, 6) force and torque rows (SI).
        temperature_gradient: the imposed far-field gradient G (K/m), to report
        ``thermophoretic_mobility = -U.G / |G|^2``.
        flow_field: solve once more so ``stokes.velocity`` is the flow of the moving
        particles (for output).
        """
        n = 6 * len(self.particles)
        R = self.resistance_matrix_scaled()
        F_slip = self.slip_loads_scaled()
        F_ext = np.zeros(n)
        if external_force is not None:
            ext = np.asarray(external_force, dtype=float)
            if ext.shape == (3,):
                F_ext[:3] = ext
            else:
                F_ext[:] = ext.reshape(-1, 6).ravel()
        rhs = F_slip + F_ext / self._f_scale
        V = np.linalg.solve(R, rhs) * self._v_scale
        if flow_field:
            self._set_all(V / self._v_scale, slip=True)
            self.stokes.solve()
        motion = V.reshape(-1, 6)
        mobility = None
        if temperature_gradient is not None:
            G = np.asarray(temperature_gradient, dtype=float)
            mobility = float(-motion[0, :3] @ G / (G @ G))
        return PhoreticResult(motion[:, :3], motion[:, 3:], self.resistance_matrix(),
                              F_slip * self._f_scale, mobility, list(self.stokes.iterations),
                              dict(self.timings))


def phoretic_motion(domain: Domain, temperature, slip_coefficient: float, viscosity: float, *,
                    particles: Sequence[Particle] | None = None, external_force=None,
                    temperature_gradient=None, **options) -> PhoreticResult:
    """Force-free phoretic velocity of the particle(s) of ``domain`` in ``temperature`` (K).

    A convenience wrapper of :class:`MobilityProblem`; the velocity scale defaults to
    ``chi * |G|``-like ``slip_coefficient * 1 K / length_scale`` so solver units are O(1).
    """
    if particles is None:
        particles = particles_of(domain, slip_coefficient)
    options.setdefault("velocity_scale", abs(slip_coefficient) / domain.length_scale or 1.0)
    problem = MobilityProblem(domain, viscosity, particles, temperature=temperature, **options)
    return problem.solve(external_force=external_force, temperature_gradient=temperature_gradient)
