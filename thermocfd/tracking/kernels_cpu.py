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
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import prange

from .rng import FASTMATH, PURPOSE_NOISE, PURPOSE_WALL, normals3, split_key, uniforms4

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
            hits = 0
            xn, ex, hits = _wall_axis(xn, box_lo[0], box_hi[0], face_kind[0], face_kind[1],
                                      stick[0], stick[1], pid, step, hits, k0, k1)
            yn, ey, hits = _wall_axis(yn, box_lo[1], box_hi[1], face_kind[2], face_kind[3],
                                      stick[2], stick[3], pid, step, hits, k0, k1)
            zn, ez, hits = _wall_axis(zn, box_lo[2], box_hi[2], face_kind[4], face_kind[5],
                                      stick[4], stick[5], pid, step, hits, k0, k1)
            event = ex if ex != ACTIVE else (ey if ey != ACTIVE else ez)
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
