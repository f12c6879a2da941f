"""Particles with inertia: the underdamped Langevin equation, integrated exactly per step.

For an aerosol particle of relaxation time ``tau = m / f`` and Brownian diffusivity D,

    dX = V dt,    dV = (b - V) / tau dt + sqrt(2 D) / tau dW,

where ``b = u + v_th + tau g`` is the velocity it would drift with if it had no inertia
(gas velocity, thermophoretic velocity, settling). With b, tau and D frozen over a step
(sampled at the step's start) the pair (X, V) is an Ornstein-Uhlenbeck process whose
update is exact for any dt (Chandrasekhar, Rev. Mod. Phys. 15, 1, 1943, sec. II.2;
Gillespie, Phys. Rev. E 54, 2084, 1996): with ``x = dt/tau``, ``e = exp(-x)``,

    V' = b + (V - b) e + sigma_V xi_1
    X' = X + b dt + tau (1 - e)(V - b) + c xi_1 + s xi_2

``sigma_V^2 = (D/tau)(1 - e^2)`` (the velocity variance relaxes to k_B T/m),
``c = cov(X, V)/sigma_V = sqrt(D tau) (1 - e) sqrt((1 - e)/(1 + e))`` and
``s^2 = D tau g(x)``, ``g = 2x - 4(1 - e) + (1 - e^2) - (1 - e)^3/(1 + e)`` (the position
variance left once xi_1 is fixed; its series x^3/6 - x^5/60 + 17 x^7/10080 below x = 0.05,
where the closed form cancels). dt >> tau gives the overdamped Brownian step
``X + b dt + sqrt(2 D dt) xi``; dt << tau the ballistic one.

The node records ``[b_x, b_y, b_z, D]`` and their trilinear sampling are the overdamped
tracker's (:mod:`.kernels_cpu`, :mod:`.fields`; with ``grad_d = "none"``: the noise-induced
drift of a varying D emerges from the inertial dynamics itself), tau is a second grid.
Random numbers: Philox4x32-10 keyed by (seed; id, step, purpose) (:mod:`.rng`), xi_1 from
``PURPOSE_NOISE``, xi_2 from :data:`PURPOSE_POSITION_NOISE`. Walls reflect position and
velocity (specular), adsorb with a sticking probability, or let particles escape.

When to use which (:func:`choose_integrator`): for ``tau < OVERDAMPED_TAU_FRACTION * dt``
the velocity forgets its initial value within a hundredth of a step, and the overdamped
tracker (:class:`.tracker.Tracker` with drift b and D) makes an error of order tau/dt in
the displacement per step (the lag ``tau (V - b)``); above it, this integrator.
"""

from __future__ import annotations

import math
import time as _time
from dataclasses import dataclass
from typing import Mapping, Sequence

import numba
import numpy as np
from numba import prange

from .backend import select_backend
from .fields import GridFields
from .kernels_cpu import ACTIVE, INVALID, sample_nodes, sample_scalar, wall_axis
from .kernels_gpu import CUDA_SOURCE
from .rng import FASTMATH, PURPOSE_NOISE, normals, normals3, split_key
from .state import ParticleState, to_numpy
from .tracker import AdvanceReport, _faces, _per_face

PURPOSE_POSITION_NOISE = 0x80000000  # far above PURPOSE_WALL + hits
PURPOSE_INITIAL_VELOCITY = 0x80010000  # normal-drawing purposes are 2^16 apart (rng)
OVERDAMPED_TAU_FRACTION = 0.01
_SERIES_BELOW = 0.05


def choose_integrator(relaxation_time: float, dt: float) -> str:
    """"overdamped" when ``tau < OVERDAMPED_TAU_FRACTION dt``, else "inertial"."""
    return "overdamped" if relaxation_time < OVERDAMPED_TAU_FRACTION * dt else "inertial"


@numba.njit(cache=True, fastmath=FASTMATH)
def ou_coefficients(tau, d, dt):
    """(e, tau (1 - e), sigma_V, c, s) of the exact update (module docstring)."""
    x = dt / tau
    e = math.exp(-x)
    one_minus_e = -math.expm1(-x)
    if x < _SERIES_BELOW:
        x2 = x * x
        g = x * x2 * (1.0 / 6.0 - x2 * (1.0 / 60.0 - x2 * (17.0 / 10080.0)))
    else:
        g = 2.0 * x - 4.0 * one_minus_e + one_minus_e * (1.0 + e) - one_minus_e ** 3 / (1.0 + e)
    a = math.sqrt(max(d, 0.0) * tau)
    sigma_v = a / tau * math.sqrt(one_minus_e * (1.0 + e))
    c = a * one_minus_e * math.sqrt(one_minus_e / (1.0 + e))
    s = a * math.sqrt(max(g, 0.0))
    return e, tau * one_minus_e, sigma_v, c, s


@numba.njit(parallel=True, cache=True, fastmath=FASTMATH)
def advance_inertial_cpu(pos, vel, status, ids, nodes, tau_grid, origin, inv_h, box_lo, box_hi,
                         face_kind, stick, seed, step0, n_steps, dt):
    """Advance all ACTIVE particles (positions and velocities, (3, N)) by ``n_steps`` exact
    OU steps of size ``dt`` (in place)."""
    k0, k1 = split_key(seed)
    ox, oy, oz = origin[0], origin[1], origin[2]
    ihx, ihy, ihz = inv_h[0], inv_h[1], inv_h[2]
    flat = nodes.reshape(-1)
    shape = nodes.shape
    for p in prange(pos.shape[1]):
        if status[p] != ACTIVE:
            continue
        x = pos[0, p]
        y = pos[1, p]
        z = pos[2, p]
        vx = vel[0, p]
        vy = vel[1, p]
        vz = vel[2, p]
        pid = ids[p]
        st = ACTIVE
        for s in range(n_steps):
            step = np.uint64(step0) + np.uint64(s)
            n0, n1, n2 = normals3(pid, step, PURPOSE_NOISE, k0, k1)
            m0, m1, m2 = normals3(pid, step, PURPOSE_POSITION_NOISE, k0, k1)
            bx, by, bz, d, _, _, _, _ = sample_nodes(flat, shape, x, y, z, ox, oy, oz, ihx, ihy, ihz)
            tau = sample_scalar(tau_grid, x, y, z, ox, oy, oz, ihx, ihy, ihz)
            e, lag, sigma_v, c, sx = ou_coefficients(tau, d, dt)
            ux = vx - bx
            uy = vy - by
            uz = vz - bz
            xn = x + bx * dt + lag * ux + c * n0 + sx * m0
            yn = y + by * dt + lag * uy + c * n1 + sx * m1
            zn = z + bz * dt + lag * uz + c * n2 + sx * m2
            vxn = bx + ux * e + sigma_v * n0
            vyn = by + uy * e + sigma_v * n1
            vzn = bz + uz * e + sigma_v * n2
            if not (math.isfinite(xn) and math.isfinite(yn) and math.isfinite(zn)
                    and math.isfinite(vxn) and math.isfinite(vyn) and math.isfinite(vzn)):
                st = INVALID
                break
            hits = 0
            xn, vxn, ex, hits = wall_axis(xn, vxn, box_lo[0], box_hi[0], face_kind[0], face_kind[1],
                                          stick[0], stick[1], pid, step, hits, k0, k1)
            yn, vyn, ey, hits = wall_axis(yn, vyn, box_lo[1], box_hi[1], face_kind[2], face_kind[3],
                                          stick[2], stick[3], pid, step, hits, k0, k1)
            zn, vzn, ez, hits = wall_axis(zn, vzn, box_lo[2], box_hi[2], face_kind[4], face_kind[5],
                                          stick[4], stick[5], pid, step, hits, k0, k1)
            x = xn
            y = yn
            z = zn
            vx = vxn
            vy = vyn
            vz = vzn
            event = ex if ex != ACTIVE else (ey if ey != ACTIVE else ez)
            if event != ACTIVE:
                st = event
                break
        pos[0, p] = x
        pos[1, p] = y
        pos[2, p] = z
        vel[0, p] = vx
        vel[1, p] = vy
        vel[2, p] = vz
        status[p] = st


# The same algorithm in CUDA C++, on the helpers of the overdamped kernel's source
# (Philox, ziggurat normals, trilinear sampling, the walls).
INERTIAL_CUDA_SOURCE = CUDA_SOURCE + r"""
#define PURPOSE_POSITION_NOISE 0x80000000u

__device__ __forceinline__ void ou_coefficients(double tau, double d, double dt, double &e, double &lag,
                                                double &sigma_v, double &c, double &s)
{
    const double x = dt / tau;
    e = exp(-x);
    const double one_minus_e = -expm1(-x);
    double g;
    if (x < 0.05) {
        const double x2 = x * x;
        g = x * x2 * (1.0 / 6.0 - x2 * (1.0 / 60.0 - x2 * (17.0 / 10080.0)));
    } else {
        g = 2.0 * x - 4.0 * one_minus_e + one_minus_e * (1.0 + e)
            - one_minus_e * one_minus_e * one_minus_e / (1.0 + e);
    }
    const double a = sqrt((d > 0.0 ? d : 0.0) * tau);
    sigma_v = a / tau * sqrt(one_minus_e * (1.0 + e));
    c = a * one_minus_e * sqrt(one_minus_e / (1.0 + e));
    s = a * sqrt(g > 0.0 ? g : 0.0);
    lag = tau * one_minus_e;
}

extern "C" __global__ void advance_inertial(double *__restrict__ pos, double *__restrict__ vel,
                                            signed char *__restrict__ status, const u64 *__restrict__ ids,
                                            long long n, const double *__restrict__ nodes,
                                            const double *__restrict__ tau_grid, int nx, int ny, int nz,
                                            double ox, double oy, double oz, double ihx, double ihy, double ihz,
                                            double lox, double loy, double loz, double hix, double hiy, double hiz,
                                            int f0, int f1, int f2, int f3, int f4, int f5,
                                            double s0, double s1, double s2, double s3, double s4, double s5,
                                            u64 seed, u64 step0, int n_steps, double dt)
{
    const long long p = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (p >= n || status[p] != ACTIVE) return;
    const u32 k0 = (u32)seed, k1 = (u32)(seed >> 32);
    double x = pos[p], y = pos[n + p], z = pos[2 * n + p];
    double vx = vel[p], vy = vel[n + p], vz = vel[2 * n + p];
    const u64 pid = ids[p];
    int st = ACTIVE;
    for (int s = 0; s < n_steps; ++s) {
        const u64 step = step0 + (u64)s;
        double n0, n1, n2, m0, m1, m2, spare;
        normals3_of(pid, step, PURPOSE_NOISE, k0, k1, n0, n1, n2, spare);
        normals3_of(pid, step, PURPOSE_POSITION_NOISE, k0, k1, m0, m1, m2, spare);
        double bx, by, bz, d, gx, gy, gz, inside;
        sample<double>(nodes, 4, nx, ny, nz, x, y, z, ox, oy, oz, ihx, ihy, ihz, bx, by, bz, d, gx, gy, gz, inside);
        const double tau = sample_scalar<double>(tau_grid, 1, 0, nx, ny, nz, x, y, z, ox, oy, oz, ihx, ihy, ihz);
        double e, lag, sigma_v, c, sx;
        ou_coefficients(tau, d, dt, e, lag, sigma_v, c, sx);
        const double ux = vx - bx, uy = vy - by, uz = vz - bz;
        double xn = x + bx * dt + lag * ux + c * n0 + sx * m0;
        double yn = y + by * dt + lag * uy + c * n1 + sx * m1;
        double zn = z + bz * dt + lag * uz + c * n2 + sx * m2;
        double vxn = bx + ux * e + sigma_v * n0;
        double vyn = by + uy * e + sigma_v * n1;
        double vzn = bz + uz * e + sigma_v * n2;
        if (!(isfinite(xn) && isfinite(yn) && isfinite(zn) && isfinite(vxn) && isfinite(vyn) && isfinite(vzn))) {
            st = INVALID;
            break;
        }
        u32 hits = 0;
        const int ex = wall_axis<double>(xn, vxn, lox, hix, f0, f1, s0, s1, pid, step, hits, k0, k1);
        const int ey = wall_axis<double>(yn, vyn, loy, hiy, f2, f3, s2, s3, pid, step, hits, k0, k1);
        const int ez = wall_axis<double>(zn, vzn, loz, hiz, f4, f5, s4, s5, pid, step, hits, k0, k1);
        x = xn; y = yn; z = zn; vx = vxn; vy = vyn; vz = vzn;
        const int event = ex != ACTIVE ? ex : (ey != ACTIVE ? ey : ez);
        if (event != ACTIVE) { st = event; break; }
    }
    pos[p] = x; pos[n + p] = y; pos[2 * n + p] = z;
    vel[p] = vx; vel[n + p] = vy; vel[2 * n + p] = vz;
    status[p] = (signed char)st;
}
"""


def _gpu_kernel():
    import cupy

    return cupy.RawModule(code=INERTIAL_CUDA_SOURCE, options=("--std=c++14",)).get_function("advance_inertial")


@dataclass
class InertialState:
    """Particles with velocities: ``particles`` (positions, ids, status, step, time) and
    ``velocities`` (3, N) in m/s, on the backend's memory like the positions."""

    particles: ParticleState
    velocities: np.ndarray

    @classmethod
    def at_rest(cls, particles: ParticleState) -> "InertialState":
        return cls(particles, np.zeros_like(to_numpy(particles.positions), dtype=np.float64))

    def velocities_host(self) -> np.ndarray:
        return to_numpy(self.velocities)


class InertialTracker:
    """Underdamped Langevin particles in sampled fields (module docstring).

    ``fields``: a :class:`GridFields` whose drift ``u - D_T grad T`` and D are the
    particle's (``external_force`` adds ``F D/(k_B T) = tau F/m``: pass the weight m g for
    settling); ``relaxation_time``: tau (s), a number or node values of the grid's shape;
    ``dt`` (s, any size: the update is exact for frozen coefficients); ``walls`` and
    ``sticking_probability`` as :class:`.tracker.Tracker`'s (reflecting walls also reverse
    the normal velocity); ``backend`` ``"auto" | "cpu" | "gpu"`` (double precision).
    """

    def __init__(self, fields: GridFields, dt: float, relaxation_time: float | np.ndarray, *,
                 backend: str = "auto", external_force: Sequence[float] | None = None,
                 walls: str | Sequence[str] | Mapping[str, str] = "reflect",
                 sticking_probability: float | Sequence[float] | Mapping[str, float] = 1.0, seed: int = 0,
                 steps_per_launch: int = 200):
        if not dt > 0:
            raise ValueError(f"time step must be positive, got {dt}")
        tau = np.broadcast_to(np.asarray(relaxation_time, dtype=np.float64), fields.shape)
        if not (np.all(np.isfinite(tau)) and np.all(tau > 0)):
            raise ValueError("the relaxation time must be positive and finite at every grid node")
        fields.check_finite()
        self.fields = fields
        self.dt = float(dt)
        self.backend = select_backend(backend)
        self.seed = int(seed)
        if not 0 <= self.seed < 2**64:
            raise ValueError(f"seed must be an integer in [0, 2^64), got {seed}")
        self.box_lower, self.box_upper = fields.lower, fields.upper
        self.face_kind = _faces(walls)
        self.sticking = _per_face(sticking_probability, 1.0)
        self.steps_per_launch = max(1, int(steps_per_launch))
        nodes = np.ascontiguousarray(fields.node_records("none", external_force, np.float64))
        tau = np.ascontiguousarray(tau)
        if self.backend == "gpu":
            import cupy

            nodes, tau = cupy.asarray(nodes), cupy.asarray(tau)
        self._nodes, self._tau = nodes, tau
        self._origin, self._inv_h = fields.origin.copy(), 1.0 / fields.spacing

    def thermalised(self, particles: ParticleState) -> InertialState:
        """Velocities drawn from the local equilibrium: drift b plus Maxwell-Boltzmann
        ``sqrt(D/tau) xi`` (= sqrt(k_B T/m)), keyed by (seed, id)."""
        host = particles.to_host()
        points = host.points()
        records = self.fields.node_records("none", None)  # drift and D, for sampling at the points
        b_and_d = np.stack([_trilinear(self.fields, records[..., a], points) for a in range(4)])
        tau = _trilinear(self.fields, to_numpy(self._tau), points)
        xi = normals(host.ids, 0, self.seed, PURPOSE_INITIAL_VELOCITY)
        velocities = b_and_d[:3] + np.sqrt(np.maximum(b_and_d[3], 0.0) / tau) * xi
        return InertialState(particles, velocities)

    def _to_backend(self, state: InertialState) -> None:
        particles = state.particles
        if self.backend == "gpu":
            import cupy

            particles.positions = cupy.ascontiguousarray(cupy.asarray(particles.positions, dtype=cupy.float64))
            particles.ids = cupy.asarray(particles.ids)
            particles.status = cupy.asarray(particles.status)
            state.velocities = cupy.ascontiguousarray(cupy.asarray(state.velocities, dtype=cupy.float64))
        else:
            particles.positions = np.ascontiguousarray(to_numpy(particles.positions), dtype=np.float64)
            particles.ids = np.ascontiguousarray(to_numpy(particles.ids), dtype=np.uint64)
            particles.status = np.ascontiguousarray(to_numpy(particles.status), dtype=np.int8)
            state.velocities = np.ascontiguousarray(to_numpy(state.velocities), dtype=np.float64)

    def _launch(self, state: InertialState, n_steps: int) -> None:
        p = state.particles
        if self.backend == "gpu":
            n = p.n
            if n == 0:
                return
            block = 256
            nx, ny, nz = self.fields.shape
            args = (p.positions, state.velocities, p.status, p.ids, np.int64(n), self._nodes, self._tau,
                    np.int32(nx), np.int32(ny), np.int32(nz), *map(np.float64, self._origin),
                    *map(np.float64, self._inv_h), *map(np.float64, self.box_lower),
                    *map(np.float64, self.box_upper), *map(np.int32, self.face_kind),
                    *map(np.float64, self.sticking), np.uint64(self.seed), np.uint64(p.step),
                    np.int32(n_steps), np.float64(self.dt))
            _gpu_kernel()(((n + block - 1) // block,), (block,), args)
        else:
            advance_inertial_cpu(p.positions, state.velocities, p.status, p.ids, self._nodes, self._tau,
                                 self._origin, self._inv_h, self.box_lower, self.box_upper, self.face_kind,
                                 self.sticking, np.uint64(self.seed), np.uint64(p.step), np.int64(n_steps),
                                 np.float64(self.dt))

    def advance(self, state: InertialState, n_steps: int) -> AdvanceReport:
        """Advance ``state`` in place by ``n_steps`` steps (moved to the backend's memory)."""
        n_steps = int(n_steps)
        if n_steps < 0:
            raise ValueError("n_steps must be non-negative")
        self._to_backend(state)
        particles = state.particles
        status0 = to_numpy(particles.status)
        active0 = int(np.count_nonzero(status0 == ACTIVE))
        invalid0 = int(np.count_nonzero(status0 == INVALID))
        start = _time.perf_counter()
        remaining = n_steps
        while remaining > 0:
            chunk = min(remaining, self.steps_per_launch) if self.backend == "gpu" else remaining
            self._launch(state, chunk)
            particles.step += chunk
            particles.time += chunk * self.dt
            remaining -= chunk
        if self.backend == "gpu":
            import cupy

            cupy.cuda.get_current_stream().synchronize()
        counts = particles.counts()
        return AdvanceReport(n_steps=n_steps, wall_time_s=_time.perf_counter() - start,
                             particle_steps=active0 * n_steps, invalid_new=counts["invalid"] - invalid0,
                             counts=counts)


def _trilinear(fields: GridFields, values: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Node values interpolated trilinearly at points (N x 3), as the kernels do."""
    from scipy.interpolate import RegularGridInterpolator

    clipped = np.clip(points, fields.lower, fields.upper)
    return RegularGridInterpolator(fields.axes(), values, method="linear")(clipped)


__all__ = ["InertialState", "InertialTracker", "advance_inertial_cpu", "choose_integrator", "ou_coefficients",
           "INERTIAL_CUDA_SOURCE", "OVERDAMPED_TAU_FRACTION", "PURPOSE_POSITION_NOISE"]
