"""Compiled CPU (numba) kernel: many steps of the Ito SDE for many particles.

This is the reference implementation; ``kernels_gpu.CUDA_SOURCE`` is the same algorithm
line by line. Per particle and step (one thread owns a particle for all fused steps):

1. three N(0,1) variates: ziggurat on three Philox4x32-10 words keyed by
   (seed; id, step, PURPOSE_NOISE) (:mod:`.rng`);
2. the drift and D come from the trilinear interpolation of the node record
   ``[b_x, b_y, b_z, D, inside]`` where ``b`` is the pre-combined drift
   ``u - D_T grad T + F_ext D/(k_B T) (+ grad D if sampled on the grid)``; with
   ``trilinear_grad_d`` the exact gradient of the trilinear interpolant of D is added,
   which makes the drift consistent with the D that scales the noise (so the steady
   density is the Eulerian one up to the time-discretisation error);
3. Euler-Maruyama ``X + b dt + sqrt(2 D dt) xi`` or Heun on the drift (predictor with the
   same xi, corrector averages the drifts; the noise amplitude stays at X: Ito);
4. NaN guard: a non-finite new position marks the particle INVALID, keeps its last
   finite position and stops it, so no NaN ever leaves the kernel;
5. box walls per face: specular reflection of the position, adsorption with a sticking
   probability (else reflection), or open (escape);
6. the record at the new position: a step that ends where the interpolated inside value
   is < 1/2 is rejected; an accepted one keeps the record as the next step's drift and D,
   so an Euler step reads the eight corners once (mask, drift and D share cache lines).

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


# The sampling and wall helpers are inlined into the kernels at numba's IR level
# (inline="always"): called as functions they cost a quarter of the step rate.
@numba.njit(cache=True, fastmath=FASTMATH, inline="always")
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


@numba.njit(cache=True, fastmath=FASTMATH, inline="always")
def _blend(flat, c000, c010, c100, c110, sz, fx, fy, fz):
    """Trilinear value of one record component from the corners' flat offsets (blends
    along z, then y, then x)."""
    a00 = np.float64(flat[c000]) + fz * (np.float64(flat[c000 + sz]) - np.float64(flat[c000]))
    a01 = np.float64(flat[c010]) + fz * (np.float64(flat[c010 + sz]) - np.float64(flat[c010]))
    a10 = np.float64(flat[c100]) + fz * (np.float64(flat[c100 + sz]) - np.float64(flat[c100]))
    a11 = np.float64(flat[c110]) + fz * (np.float64(flat[c110 + sz]) - np.float64(flat[c110]))
    b0 = a00 + fy * (a01 - a00)
    b1 = a10 + fy * (a11 - a10)
    return b0 + fx * (b1 - b0)


@numba.njit(cache=True, fastmath=FASTMATH, inline="always")
def _blend_with_gradient(flat, c000, c010, c100, c110, sz, fx, fy, fz, ihx, ihy, ihz):
    """:func:`_blend` and the exact gradient of the trilinear interpolant."""
    v000 = np.float64(flat[c000])
    v001 = np.float64(flat[c000 + sz])
    v010 = np.float64(flat[c010])
    v011 = np.float64(flat[c010 + sz])
    v100 = np.float64(flat[c100])
    v101 = np.float64(flat[c100 + sz])
    v110 = np.float64(flat[c110])
    v111 = np.float64(flat[c110 + sz])
    a00 = v000 + fz * (v001 - v000)
    a01 = v010 + fz * (v011 - v010)
    a10 = v100 + fz * (v101 - v100)
    a11 = v110 + fz * (v111 - v110)
    b0 = a00 + fy * (a01 - a00)
    b1 = a10 + fy * (a11 - a10)
    e0 = (v001 - v000) + fy * ((v011 - v010) - (v001 - v000))
    e1 = (v101 - v100) + fy * ((v111 - v110) - (v101 - v100))
    return (b0 + fx * (b1 - b0), (b1 - b0) * ihx, ((a01 - a00) + fx * ((a11 - a10) - (a01 - a00))) * ihy,
            (e0 + fx * (e1 - e0)) * ihz)


@numba.njit(cache=True, fastmath=FASTMATH, inline="always")
def sample_nodes(flat, shape, x, y, z, ox, oy, oz, ihx, ihy, ihz):
    """Trilinear drift, D and inside value at (x, y, z), and the gradient of the
    interpolated D: (b_x, b_y, b_z, D, dD/dx, dD/dy, dD/dz, inside).

    ``flat`` is the C-ordered node array (nx, ny, nz, R) of ``shape`` raveled once by the
    caller (a reshape per call costs as much as the blend): ``[b_x, b_y, b_z, D]`` and,
    for R = 5, the inside mask (taken as 1 for R = 4). The two z-neighbours of a corner
    are adjacent records, so a corner pair shares cache lines.
    """
    nx, ny, nz, width = shape
    i, fx = _cell(x, ox, ihx, nx)
    j, fy = _cell(y, oy, ihy, ny)
    k, fz = _cell(z, oz, ihz, nz)
    # Unsigned offsets: numba wraps a signed index that could be negative around the
    # array's end, a compare and select per load (a third of the sampling time).
    sz = np.uint64(width)
    c000 = np.uint64(((i * ny + j) * nz + k) * width)
    c010 = c000 + np.uint64(nz * width)
    c100 = c000 + np.uint64(ny * nz * width)
    c110 = c100 + np.uint64(nz * width)
    one, two, three, four = np.uint64(1), np.uint64(2), np.uint64(3), np.uint64(4)
    bx = _blend(flat, c000, c010, c100, c110, sz, fx, fy, fz)
    by = _blend(flat, c000 + one, c010 + one, c100 + one, c110 + one, sz, fx, fy, fz)
    bz = _blend(flat, c000 + two, c010 + two, c100 + two, c110 + two, sz, fx, fy, fz)
    d, gx, gy, gz = _blend_with_gradient(flat, c000 + three, c010 + three, c100 + three, c110 + three, sz,
                                         fx, fy, fz, ihx, ihy, ihz)
    inside = 1.0
    if width > 4:
        inside = _blend(flat, c000 + four, c010 + four, c100 + four, c110 + four, sz, fx, fy, fz)
    return bx, by, bz, d, gx, gy, gz, inside


@numba.njit(cache=True, fastmath=FASTMATH)
def sample_scalar(values, x, y, z, ox, oy, oz, ihx, ihy, ihz):
    """Trilinear interpolation of a scalar node array (nx, ny, nz) at (x, y, z)."""
    i, fx = _cell(x, ox, ihx, values.shape[0])
    j, fy = _cell(y, oy, ihy, values.shape[1])
    k, fz = _cell(z, oz, ihz, values.shape[2])
    i0, j0, k0 = np.uint64(i), np.uint64(j), np.uint64(k)  # unsigned: see sample_nodes
    i1, j1, k1 = i0 + np.uint64(1), j0 + np.uint64(1), k0 + np.uint64(1)
    a00 = values[i0, j0, k0] + fz * (values[i0, j0, k1] - values[i0, j0, k0])
    a01 = values[i0, j1, k0] + fz * (values[i0, j1, k1] - values[i0, j1, k0])
    a10 = values[i1, j0, k0] + fz * (values[i1, j0, k1] - values[i1, j0, k0])
    a11 = values[i1, j1, k0] + fz * (values[i1, j1, k1] - values[i1, j1, k0])
    b0 = a00 + fy * (a01 - a00)
    b1 = a10 + fy * (a11 - a10)
    return b0 + fx * (b1 - b0)


@numba.njit(cache=True, fastmath=FASTMATH)
def wall_axis(x, v, lo, hi, kind_lo, kind_hi, p_lo, p_hi, pid, step, hits, k0, k1):
    """The two walls of one axis on a new coordinate ``x`` and its velocity ``v`` (0 for
    overdamped particles): specular reflection (of both), adsorption with a sticking
    probability (the velocity drops to 0) or escape; returns (x, v, event, hits), event =
    status or ACTIVE."""
    for _ in range(_MAX_REFLECTIONS):
        if x < lo:
            kind = kind_lo
            p_stick = p_lo
            wall = lo
        elif x > hi:
            kind = kind_hi
            p_stick = p_hi
            wall = hi
        else:
            return x, v, ACTIVE, hits
        if kind == FACE_OPEN:
            return wall, v, ESCAPED, hits
        if kind == FACE_ADSORB:
            u, _, _, _ = uniforms4(pid, step, PURPOSE_WALL + hits, k0, k1)
            hits += 1
            if u < p_stick:
                return wall, 0.0 * v, ADSORBED, hits
        x = 2.0 * wall - x
        v = -v
    # A step many box widths long (should never happen with a sane dt): stay inside.
    return min(max(x, lo), hi), v, ACTIVE, hits


@numba.njit(cache=True, fastmath=FASTMATH, inline="always")
def _walls(x, y, z, box_lo, box_hi, face_kind, stick, pid, step, k0, k1):
    """The box's walls on a new position: (x, y, z, event), event = status or ACTIVE."""
    if (box_lo[0] <= x <= box_hi[0]) and (box_lo[1] <= y <= box_hi[1]) and (box_lo[2] <= z <= box_hi[2]):
        return x, y, z, ACTIVE  # most steps: no wall reached
    hits = 0
    x, _, ex, hits = wall_axis(x, 0.0, box_lo[0], box_hi[0], face_kind[0], face_kind[1],
                               stick[0], stick[1], pid, step, hits, k0, k1)
    y, _, ey, hits = wall_axis(y, 0.0, box_lo[1], box_hi[1], face_kind[2], face_kind[3],
                               stick[2], stick[3], pid, step, hits, k0, k1)
    z, _, ez, hits = wall_axis(z, 0.0, box_lo[2], box_hi[2], face_kind[4], face_kind[5],
                               stick[4], stick[5], pid, step, hits, k0, k1)
    return x, y, z, (ex if ex != ACTIVE else (ey if ey != ACTIVE else ez))


@numba.njit(cache=True)
def locality_order(pos, status, origin, inv_h, grid_shape):
    """The ACTIVE particles' indices sorted by the block of grid cells they lie in.

    A counting sort over blocks of 2^b cells per axis, b the least that leaves no more
    blocks than particles (the counts stay as small as the particle arrays). The kernels
    loop over particles in this order: neighbours in the loop read the same corner
    records, which then come from cache (random order on a 1.6e6-node chip grid: 1.7e7
    particle-steps/s; sorted: 2.2-2.5e7, bench_tracker.py --chip-only). Each particle
    keeps its own random stream (keyed by id), so the results do not depend on it.
    """
    nx, ny, nz = grid_shape[0] - 1, grid_shape[1] - 1, grid_shape[2] - 1
    n = pos.shape[1]
    active = 0
    for p in range(n):
        if status[p] == ACTIVE:
            active += 1
    shift = 0
    while (((nx - 1) >> shift) + 1) * (((ny - 1) >> shift) + 1) * (((nz - 1) >> shift) + 1) > max(active, 1):
        shift += 1
    by, bz = ((ny - 1) >> shift) + 1, ((nz - 1) >> shift) + 1
    blocks = (((nx - 1) >> shift) + 1) * by * bz
    key = np.empty(n, dtype=np.int64)
    start = np.zeros(blocks + 1, dtype=np.int64)
    for p in range(n):
        if status[p] != ACTIVE:
            continue
        i, _ = _cell(pos[0, p], origin[0], inv_h[0], nx + 1)
        j, _ = _cell(pos[1, p], origin[1], inv_h[1], ny + 1)
        k, _ = _cell(pos[2, p], origin[2], inv_h[2], nz + 1)
        key[p] = ((i >> shift) * by + (j >> shift)) * bz + (k >> shift)
        start[key[p] + 1] += 1
    for b in range(blocks):
        start[b + 1] += start[b]
    order = np.empty(active, dtype=np.int64)
    for p in range(n):
        if status[p] == ACTIVE:
            order[start[key[p]]] = p
            start[key[p]] += 1
    return order


@numba.njit(parallel=True, cache=True)
def gather(source, order, out):
    """``out[q] = source[order[q]]`` (NumPy's fancy indexing took ~90 ms for the five particle
    arrays of 1e6 particles, this ~20 ms)."""
    for q in prange(order.shape[0]):
        out[q] = source[order[q]]


@numba.njit(parallel=True, cache=True)
def scatter(source, order, out):
    """``out[order[q]] = source[q]``."""
    for q in prange(order.shape[0]):
        out[order[q]] = source[q]


@numba.njit(parallel=True, cache=True, fastmath=FASTMATH)
def advance_cpu(pos, status, ids, nodes, origin, inv_h, box_lo, box_hi,
                face_kind, stick, seed, step0, n_steps, dt, heun, trilinear_grad_d):
    """Advance all ACTIVE particles by ``n_steps`` steps of size ``dt`` (in place).

    ``nodes`` (nx, ny, nz, 5) ``[b_x, b_y, b_z, D, inside]`` (float64 or float32; the
    arithmetic and the positions are float64). One pass over the eight corner records per
    Euler step: the records sampled at an accepted new position (its inside test) are the
    next step's drift and D.
    """
    k0, k1 = split_key(seed)
    ox, oy, oz = origin[0], origin[1], origin[2]
    ihx, ihy, ihz = inv_h[0], inv_h[1], inv_h[2]
    flat = nodes.reshape(-1)
    shape = nodes.shape
    for p in prange(pos.shape[1]):
        if status[p] != ACTIVE:
            continue
        x = np.float64(pos[0, p])
        y = np.float64(pos[1, p])
        z = np.float64(pos[2, p])
        pid = ids[p]
        st = ACTIVE
        bx, by, bz, d, gx, gy, gz, _ = sample_nodes(flat, shape, x, y, z, ox, oy, oz, ihx, ihy, ihz)
        for s in range(n_steps):
            step = np.uint64(step0) + np.uint64(s)
            n0, n1, n2 = normals3(pid, step, PURPOSE_NOISE, k0, k1)
            vx = bx
            vy = by
            vz = bz
            if trilinear_grad_d:
                vx += gx
                vy += gy
                vz += gz
            sig = math.sqrt(2.0 * max(d, 0.0) * dt)
            wx = sig * n0
            wy = sig * n1
            wz = sig * n2
            if heun:
                xp = x + vx * dt + wx
                yp = y + vy * dt + wy
                zp = z + vz * dt + wz
                if math.isfinite(xp) and math.isfinite(yp) and math.isfinite(zp):
                    cx, cy, cz, _, hx, hy, hz, _ = sample_nodes(flat, shape, xp, yp, zp, ox, oy, oz,
                                                                ihx, ihy, ihz)
                    if trilinear_grad_d:
                        cx += hx
                        cy += hy
                        cz += hz
                    vx = 0.5 * (vx + cx)
                    vy = 0.5 * (vy + cy)
                    vz = 0.5 * (vz + cz)
            xn = x + vx * dt + wx
            yn = y + vy * dt + wy
            zn = z + vz * dt + wz
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
            nbx, nby, nbz, nd, ngx, ngy, ngz, inside = sample_nodes(flat, shape, xn, yn, zn, ox, oy, oz,
                                                                    ihx, ihy, ihz)
            if inside < 0.5:
                continue  # rejected: the step would leave the geometry
            x = xn
            y = yn
            z = zn
            bx = nbx
            by = nby
            bz = nbz
            d = nd
            gx = ngx
            gy = ngy
            gz = ngz
        pos[0, p] = x
        pos[1, p] = y
        pos[2, p] = z
        status[p] = st


# --- particles with internal states ------------------------------------------------------
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
        r = records[np.uint64(i + di), np.uint64(j + dj), np.uint64(k + dk)]
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
    temperature = records[:, :, :, 3]
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
            t_here = sample_scalar(temperature, x, y, z, ox, oy, oz, ihx, ihy, ihz)
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
                if sample_scalar(mask, xn, yn, zn, ox, oy, oz, ihx, ihy, ihz) < 0.5:
                    continue  # rejected move; the internal state has switched all the same
            x = xn
            y = yn
            z = zn
        pos[0, p] = x
        pos[1, p] = y
        pos[2, p] = z
        internal[p] = s
        status[p] = st
