"""Compiled CPU (numba) kernel: many steps of the Ito SDE for many particles.

This is the reference implementation; ``kernels_gpu.CUDA_SOURCE`` is the same algorithm
line by line. Per particle and step (one thread owns a particle for all fused steps):

1. three N(0,1) variates: inverse normal CDF of three Philox4x32-10 words keyed by
   (seed; id, step, PURPOSE_NOISE) (:mod:`.rng`);
2. trilinear interpolation of the node record ``[b_x, b_y, b_z, D]`` where ``b`` is the
   pre-combined drift ``u - D_T grad T + F_ext D/(k_B T) (+ grad D if sampled on the
   grid)``; with ``trilinear_grad_d`` the exact gradient of the trilinear interpolant of
   D is added, which makes the drift consistent with the D that scales the noise (so the
   steady density is the Eulerian one up to the time-discretisation error);
3. Euler-Maruyama ``X + b dt + sqrt(2 D dt) xi`` or Heun on the drift (predictor with the
   same xi, corrector averages the drifts; the noise amplitude stays at X: Ito);
4. NaN guard: a non-finite new position marks the particle INVALID, keeps its last
   finite position and stops it, so no NaN ever leaves the kernel;
5. box walls per face: specular reflection of the position, adsorption with a sticking
   probability (else reflection), or open (escape);
6. optional inside mask: a step that ends where the interpolated mask is < 1/2 is rejected.

Particles with internal states (:func:`advance_states_cpu`) read the node record
``[b_x, b_y, b_z, T, D_0, D_1, D_2, D_3]`` instead. Per step, at the start position X:

1. T(X) trilinear; the rates ``k_ij = nu_ij exp(-a_ij / T)`` with ``a_ij = (B_ij - E_i)/k_B``;
2. the jump process over the step at these frozen rates, exactly for any ``k dt``
   (Gillespie: exponential waiting times ``-ln(u) / k_i``, the target with probability
   ``k_ij / k_i``; the first waiting time is the spare fourth word of the noise block,
   the rest are keyed by (seed; id, step, PURPOSE_SWITCH + block), :mod:`.rng`),
   giving the end state and the time ``tau_i`` spent in each state. After
   ``MAX_JUMPS`` jumps in one step (probability below 1e-7 for ``k dt <= 10``) the rest
   ``r`` of the step is the fast-switching limit: occupation ``p_i r`` and the end state
   drawn from the local equilibrium ``p_i ∝ g_i exp(-E_i/k_B T)`` of the current state's
   connected set (exact as ``k r -> inf``; the mean occupation is exact for ``k r >> 1``);
3. the Brownian step with the occupation weights ``w_i = tau_i / dt``: variance
   ``2 sum_i D_i tau_i``, Ito drift ``b + sum_i w_i (grad D_i + D_i F/(k_B T))``, where
   ``grad D_i`` is the exact gradient of the trilinear interpolant (one pass over the
   weighted node values ``sum_i w_i D_i``), then walls, mask and NaN guard as above.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import prange

from .rng import (FASTMATH, PURPOSE_NOISE, PURPOSE_SWITCH, PURPOSE_WALL, normals3, normals3_uniform, split_key,
                  uniforms4)

# Face kinds (order of faces: x-, x+, y-, y+, z-, z+)
FACE_REFLECT = 0
FACE_ADSORB = 1
FACE_OPEN = 2

# Particle status
ACTIVE = 0
ADSORBED = 1
ESCAPED = 2
INVALID = 3  # a non-finite position was produced (NaN guard)

_MAX_REFLECTIONS = 8

MAX_STATES = 4  # internal states per particle (slots of the state node record)
MAX_JUMPS = 32  # jumps simulated one by one within a step before the fast-switching fallback
STATE_RECORD = 4 + MAX_STATES  # [b_x, b_y, b_z, T, D_0, ..., D_3]


@numba.njit(cache=True, fastmath=FASTMATH)
def _cell(x, origin, inv_h, n):
    g = (x - origin) * inv_h
    i = int(math.floor(g))
    if i < 0:
        i = 0
    elif i > n - 2:
        i = n - 2
    f = g - i
    if f < 0.0:
        f = 0.0
    elif f > 1.0:
        f = 1.0
    return i, f


@numba.njit(cache=True, fastmath=FASTMATH)
def sample_nodes(nodes, x, y, z, ox, oy, oz, ihx, ihy, ihz):
    """Trilinear drift and D at (x, y, z), and the gradient of the interpolated D."""
    i, fx = _cell(x, ox, ihx, nodes.shape[0])
    j, fy = _cell(y, oy, ihy, nodes.shape[1])
    k, fz = _cell(z, oz, ihz, nodes.shape[2])
    bx = 0.0
    by = 0.0
    bz = 0.0
    d = 0.0
    gx = 0.0
    gy = 0.0
    gz = 0.0
    for c in range(8):
        di = c & 1
        dj = (c >> 1) & 1
        dk = (c >> 2) & 1
        wx = fx if di == 1 else 1.0 - fx
        wy = fy if dj == 1 else 1.0 - fy
        wz = fz if dk == 1 else 1.0 - fz
        sx = 1.0 if di == 1 else -1.0
        sy = 1.0 if dj == 1 else -1.0
        sz = 1.0 if dk == 1 else -1.0
        w = wx * wy * wz
        dv = np.float64(nodes[i + di, j + dj, k + dk, 3])
        bx += w * nodes[i + di, j + dj, k + dk, 0]
        by += w * nodes[i + di, j + dj, k + dk, 1]
        bz += w * nodes[i + di, j + dj, k + dk, 2]
        d += w * dv
        gx += sx * wy * wz * dv
        gy += wx * sy * wz * dv
        gz += wx * wy * sz * dv
    return bx, by, bz, d, gx * ihx, gy * ihy, gz * ihz


@numba.njit(cache=True, fastmath=FASTMATH)
def _sample_mask(mask, x, y, z, ox, oy, oz, ihx, ihy, ihz):
    i, fx = _cell(x, ox, ihx, mask.shape[0])
    j, fy = _cell(y, oy, ihy, mask.shape[1])
    k, fz = _cell(z, oz, ihz, mask.shape[2])
    m = 0.0
    for c in range(8):
        di = c & 1
        dj = (c >> 1) & 1
        dk = (c >> 2) & 1
        wx = fx if di == 1 else 1.0 - fx
        wy = fy if dj == 1 else 1.0 - fy
        wz = fz if dk == 1 else 1.0 - fz
        m += wx * wy * wz * mask[i + di, j + dj, k + dk]
    return m


@numba.njit(cache=True, fastmath=FASTMATH)
def _wall_axis(v, lo, hi, kind_lo, kind_hi, p_lo, p_hi, pid, step, hits, k0, k1):
    """Apply the two walls of one axis; returns (v, event, hits), event = status or 0."""
    for _ in range(_MAX_REFLECTIONS):
        if v < lo:
            kind = kind_lo
            p_stick = p_lo
            wall = lo
        elif v > hi:
            kind = kind_hi
            p_stick = p_hi
            wall = hi
        else:
            return v, ACTIVE, hits
        if kind == FACE_OPEN:
            return wall, ESCAPED, hits
        if kind == FACE_ADSORB:
            u, _, _, _ = uniforms4(pid, step, PURPOSE_WALL + hits, k0, k1)
            hits += 1
            if u < p_stick:
                return wall, ADSORBED, hits
        v = 2.0 * wall - v
    # A step many box widths long (should never happen with a sane dt): stay inside.
    return min(max(v, lo), hi), ACTIVE, hits


@numba.njit(cache=True, fastmath=FASTMATH)
def _walls(x, y, z, box_lo, box_hi, face_kind, stick, pid, step, k0, k1):
    """The box's walls on a new position: (x, y, z, event), event = status or ACTIVE."""
    hits = 0
    x, ex, hits = _wall_axis(x, box_lo[0], box_hi[0], face_kind[0], face_kind[1],
                             stick[0], stick[1], pid, step, hits, k0, k1)
    y, ey, hits = _wall_axis(y, box_lo[1], box_hi[1], face_kind[2], face_kind[3],
                             stick[2], stick[3], pid, step, hits, k0, k1)
    z, ez, hits = _wall_axis(z, box_lo[2], box_hi[2], face_kind[4], face_kind[5],
                             stick[4], stick[5], pid, step, hits, k0, k1)
    return x, y, z, (ex if ex != ACTIVE else (ey if ey != ACTIVE else ez))


@numba.njit(parallel=True, cache=True, fastmath=FASTMATH)
def advance_cpu(pos, status, ids, nodes, mask, use_mask, origin, inv_h, box_lo, box_hi,
                face_kind, stick, seed, step0, n_steps, dt, heun, trilinear_grad_d):
    """Advance all ACTIVE particles by ``n_steps`` steps of size ``dt`` (in place)."""
    k0, k1 = split_key(seed)
    ox, oy, oz = origin[0], origin[1], origin[2]
    ihx, ihy, ihz = inv_h[0], inv_h[1], inv_h[2]
    for p in prange(pos.shape[1]):
        if status[p] != ACTIVE:
            continue
        x = np.float64(pos[0, p])
        y = np.float64(pos[1, p])
        z = np.float64(pos[2, p])
        pid = ids[p]
        st = ACTIVE
        for s in range(n_steps):
            step = np.uint64(step0) + np.uint64(s)
            n0, n1, n2 = normals3(pid, step, PURPOSE_NOISE, k0, k1)
            bx, by, bz, d, gx, gy, gz = sample_nodes(nodes, x, y, z, ox, oy, oz, ihx, ihy, ihz)
            if trilinear_grad_d:
                bx += gx
                by += gy
                bz += gz
            sig = math.sqrt(2.0 * max(d, 0.0) * dt)
            wx = sig * n0
            wy = sig * n1
            wz = sig * n2
            if heun:
                xp = x + bx * dt + wx
                yp = y + by * dt + wy
                zp = z + bz * dt + wz
                if math.isfinite(xp) and math.isfinite(yp) and math.isfinite(zp):
                    cx, cy, cz, _, hx, hy, hz = sample_nodes(nodes, xp, yp, zp, ox, oy, oz,
                                                             ihx, ihy, ihz)
                    if trilinear_grad_d:
                        cx += hx
                        cy += hy
                        cz += hz
                    bx = 0.5 * (bx + cx)
                    by = 0.5 * (by + cy)
                    bz = 0.5 * (bz + cz)
            xn = x + bx * dt + wx
            yn = y + by * dt + wy
            zn = z + bz * dt + wz
            if not (math.isfinite(xn) and math.isfinite(yn) and math.isfinite(zn)):
                st = INVALID
                break
            xn, yn, zn, event = _walls(xn, yn, zn, box_lo, box_hi, face_kind, stick, pid, step, k0, k1)
            if event != ACTIVE:
                x = xn
                y = yn
                z = zn
                st = event
                break
            if use_mask:
                if _sample_mask(mask, xn, yn, zn, ox, oy, oz, ihx, ihy, ihz) < 0.5:
                    continue  # rejected: the step would leave the geometry
            x = xn
            y = yn
            z = zn
        pos[0, p] = x
        pos[1, p] = y
        pos[2, p] = z
        status[p] = st


# --- particles with internal states ------------------------------------------------------
@numba.njit(cache=True, fastmath=FASTMATH)
def _sample_temperature(records, x, y, z, ox, oy, oz, ihx, ihy, ihz):
    i, fx = _cell(x, ox, ihx, records.shape[0])
    j, fy = _cell(y, oy, ihy, records.shape[1])
    k, fz = _cell(z, oz, ihz, records.shape[2])
    t = 0.0
    for c in range(8):
        di = c & 1
        dj = (c >> 1) & 1
        dk = (c >> 2) & 1
        wx = fx if di == 1 else 1.0 - fx
        wy = fy if dj == 1 else 1.0 - fy
        wz = fz if dk == 1 else 1.0 - fz
        t += wx * wy * wz * records[i + di, j + dj, k + dk, 3]
    return t


@numba.njit(cache=True, fastmath=FASTMATH)
def sample_state_nodes(records, x, y, z, ox, oy, oz, ihx, ihy, ihz, w0, w1, w2, w3):
    """Trilinear b, T and ``D_w = sum_i w_i D_i`` at (x, y, z), and the gradient of the
    interpolated ``D_w``."""
    i, fx = _cell(x, ox, ihx, records.shape[0])
    j, fy = _cell(y, oy, ihy, records.shape[1])
    k, fz = _cell(z, oz, ihz, records.shape[2])
    bx = 0.0
    by = 0.0
    bz = 0.0
    t = 0.0
    d = 0.0
    gx = 0.0
    gy = 0.0
    gz = 0.0
    for c in range(8):
        di = c & 1
        dj = (c >> 1) & 1
        dk = (c >> 2) & 1
        wx = fx if di == 1 else 1.0 - fx
        wy = fy if dj == 1 else 1.0 - fy
        wz = fz if dk == 1 else 1.0 - fz
        sx = 1.0 if di == 1 else -1.0
        sy = 1.0 if dj == 1 else -1.0
        sz = 1.0 if dk == 1 else -1.0
        w = wx * wy * wz
        r = records[i + di, j + dj, k + dk]
        dv = w0 * r[4] + w1 * r[5] + w2 * r[6] + w3 * r[7]
        bx += w * r[0]
        by += w * r[1]
        bz += w * r[2]
        t += w * r[3]
        d += w * dv
        gx += sx * wy * wz * dv
        gy += wx * sy * wz * dv
        gz += wx * wy * sz * dv
    return bx, by, bz, t, d, gx * ihx, gy * ihy, gz * ihz


@numba.njit(cache=True, fastmath=FASTMATH)
def _add_to(t0, t1, t2, t3, s, v):
    if s == 0:
        t0 += v
    elif s == 1:
        t1 += v
    elif s == 2:
        t2 += v
    else:
        t3 += v
    return t0, t1, t2, t3


@numba.njit(cache=True, fastmath=FASTMATH)
def _rate(s, j, inv_t, prefactor, activation):
    nu = prefactor[s, j]
    return nu * math.exp(-activation[s, j] * inv_t) if nu > 0.0 else 0.0


@numba.njit(cache=True, fastmath=FASTMATH)
def switch_states(s, u_first, temperature, dt, n_states, prefactor, activation, log_weight, level,
                  component, pid, step, k0, k1):
    """The jump process over one step at frozen rates: (end state, tau_0/dt, ..., tau_3/dt).

    ``u_first`` is the uniform of the first waiting time; jump j draws its target and the
    next waiting time from block ``PURPOSE_SWITCH + j // 2`` (see :mod:`.rng`).
    """
    inv_t = 1.0 / temperature
    t0 = 0.0
    t1 = 0.0
    t2 = 0.0
    t3 = 0.0
    remaining = dt
    u_wait = u_first
    u_pick = 0.0
    u2 = u3 = 0.0
    for jump in range(MAX_JUMPS + 1):
        if jump == MAX_JUMPS:
            # Fast-switching fallback over the rest of the step (see the module docstring).
            u_pick, _, _, _ = uniforms4(pid, step, PURPOSE_SWITCH + (jump >> 1), k0, k1)
            total = 0.0
            for j in range(n_states):
                if component[j] == component[s]:
                    total += math.exp(log_weight[j] - level[j] * inv_t)
            threshold = u_pick * total
            acc = 0.0
            end = s
            for j in range(n_states):
                if component[j] == component[s]:
                    p = math.exp(log_weight[j] - level[j] * inv_t)
                    t0, t1, t2, t3 = _add_to(t0, t1, t2, t3, j, remaining * p / total)
                    if acc <= threshold:
                        end = j
                    acc += p
            s = end
            break
        k_total = 0.0
        for j in range(n_states):
            k_total += _rate(s, j, inv_t, prefactor, activation)
        if k_total <= 0.0:  # a state with no way out
            t0, t1, t2, t3 = _add_to(t0, t1, t2, t3, s, remaining)
            break
        wait = -math.log(u_wait) / k_total
        if wait >= remaining:
            t0, t1, t2, t3 = _add_to(t0, t1, t2, t3, s, remaining)
            break
        t0, t1, t2, t3 = _add_to(t0, t1, t2, t3, s, wait)
        remaining -= wait
        if jump & 1 == 0:
            u_pick, u_wait, u2, u3 = uniforms4(pid, step, PURPOSE_SWITCH + (jump >> 1), k0, k1)
        else:
            u_pick = u2
            u_wait = u3
        threshold = u_pick * k_total
        acc = 0.0
        target = s
        for j in range(n_states):
            k = _rate(s, j, inv_t, prefactor, activation)
            if k > 0.0:
                target = j  # the last connected state also catches round-off in the sum
                acc += k
                if threshold < acc:
                    break
        s = target
    inv_dt = 1.0 / dt
    return s, t0 * inv_dt, t1 * inv_dt, t2 * inv_dt, t3 * inv_dt


@numba.njit(parallel=True, cache=True, fastmath=FASTMATH)
def advance_states_cpu(pos, status, internal, ids, records, mask, use_mask, origin, inv_h, box_lo,
                       box_hi, face_kind, stick, seed, step0, n_steps, dt, heun, trilinear_grad_d,
                       n_states, prefactor, activation, log_weight, level, component, force_over_kb):
    """Advance ACTIVE particles with internal states ``internal`` by ``n_steps`` (in place).

    ``records`` (nx, ny, nz, STATE_RECORD); ``prefactor`` nu_ij and ``activation``
    (B_ij - E_i)/k_B (K) as (MAX_STATES, MAX_STATES); ``log_weight`` ln g_i, ``level``
    (E_i - min of its connected set)/k_B (K) and ``component`` (connected-set label) per
    state; ``force_over_kb`` F/k_B (K/m).
    """
    k0, k1 = split_key(seed)
    ox, oy, oz = origin[0], origin[1], origin[2]
    ihx, ihy, ihz = inv_h[0], inv_h[1], inv_h[2]
    fx, fy, fz = force_over_kb[0], force_over_kb[1], force_over_kb[2]
    for p in prange(pos.shape[1]):
        if status[p] != ACTIVE:
            continue
        x = np.float64(pos[0, p])
        y = np.float64(pos[1, p])
        z = np.float64(pos[2, p])
        s = np.int64(internal[p])
        pid = ids[p]
        st = ACTIVE
        for n in range(n_steps):
            step = np.uint64(step0) + np.uint64(n)
            n0, n1, n2, u_first = normals3_uniform(pid, step, PURPOSE_NOISE, k0, k1)
            t_here = _sample_temperature(records, x, y, z, ox, oy, oz, ihx, ihy, ihz)
            s, w0, w1, w2, w3 = switch_states(s, u_first, t_here, dt, n_states, prefactor, activation,
                                              log_weight, level, component, pid, step, k0, k1)
            bx, by, bz, tk, d, gx, gy, gz = sample_state_nodes(records, x, y, z, ox, oy, oz,
                                                               ihx, ihy, ihz, w0, w1, w2, w3)
            mobility = d / tk
            bx += fx * mobility
            by += fy * mobility
            bz += fz * mobility
            if trilinear_grad_d:
                bx += gx
                by += gy
                bz += gz
            sig = math.sqrt(2.0 * max(d, 0.0) * dt)
            wx = sig * n0
            wy = sig * n1
            wz = sig * n2
            if heun:
                xp = x + bx * dt + wx
                yp = y + by * dt + wy
                zp = z + bz * dt + wz
                if math.isfinite(xp) and math.isfinite(yp) and math.isfinite(zp):
                    cx, cy, cz, tc, dc, hx, hy, hz = sample_state_nodes(records, xp, yp, zp, ox, oy, oz,
                                                                        ihx, ihy, ihz, w0, w1, w2, w3)
                    mobility = dc / tc
                    cx += fx * mobility
                    cy += fy * mobility
                    cz += fz * mobility
                    if trilinear_grad_d:
                        cx += hx
                        cy += hy
                        cz += hz
                    bx = 0.5 * (bx + cx)
                    by = 0.5 * (by + cy)
                    bz = 0.5 * (bz + cz)
            xn = x + bx * dt + wx
            yn = y + by * dt + wy
            zn = z + bz * dt + wz
            if not (math.isfinite(xn) and math.isfinite(yn) and math.isfinite(zn)):
                st = INVALID
                break
            xn, yn, zn, event = _walls(xn, yn, zn, box_lo, box_hi, face_kind, stick, pid, step, k0, k1)
            if event != ACTIVE:
                x = xn
                y = yn
                z = zn
                st = event
                break
            if use_mask:
                if _sample_mask(mask, xn, yn, zn, ox, oy, oz, ihx, ihy, ihz) < 0.5:
                    continue  # rejected move; the internal state has switched all the same
            x = xn
            y = yn
            z = zn
        pos[0, p] = x
        pos[1, p] = y
        pos[2, p] = z
        internal[p] = s
        status[p] = st
