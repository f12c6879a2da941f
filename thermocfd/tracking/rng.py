"""Counter-based random numbers shared by the CPU and GPU kernels.

Both backends draw from Philox4x32-10 (Salmon et al., SC'11, the Random123 generator)
keyed by the user's seed and counted by (particle id, step, purpose). A particle's random
numbers therefore depend only on (seed, id, step): results are reproducible and do not
depend on how particles are split into batches, threads or launches.

Counter layout (four 32-bit words), key layout (two 32-bit words):

    counter = (id & 0xffffffff, id >> 32, step & 0xffffffff, purpose)
    key     = (seed & 0xffffffff, seed >> 32)

``purpose`` separates independent streams: ``PURPOSE_NOISE`` for the Brownian increments
of a step, ``PURPOSE_INITIAL`` for initial positions, ``PURPOSE_WALL + k`` for the k-th
wall-sticking draw within a step (k < 24: three axes of at most 8 reflections),
``PURPOSE_INITIAL_STATE`` for the initial internal state and ``PURPOSE_SWITCH + b`` for
the b-th block of switching uniforms within a step (internal states: the first waiting
time is the fourth word of the PURPOSE_NOISE block, jump j takes its target choice and
the next waiting time from words 2(j mod 2), 2(j mod 2) + 1 of block j // 2). The
three Brownian normal variates of a step come from the first three output words by a
128-layer ziggurat (:func:`ziggurat_normal`, the same tables on both backends); the 1.2 %
of variates that miss the fast path draw fallback blocks with purpose
``P + PURPOSE_GAUSS_FALLBACK + e`` (e = 0, 1, ... within the step), so purposes that draw
normals are kept 2^16 apart. The tail is exact (no truncation).
"""

from __future__ import annotations

import math

import numba
import numpy as np

# LLVM fast-math flags that keep IEEE special values (no nnan/ninf: the kernels' NaN guard
# must still see NaN): fused multiply-add, reciprocal division, approximate libm calls.
# ~10-20 % faster per particle-step; results move by ulps, far below any statistic.
FASTMATH = {"contract", "arcp", "afn"}

PURPOSE_NOISE = 0
PURPOSE_INITIAL = 1
PURPOSE_WALL = 2  # PURPOSE_WALL + k for the k-th wall hit of a step
PURPOSE_INITIAL_STATE = 64
PURPOSE_SWITCH = 256  # PURPOSE_SWITCH + b for the b-th block of switching uniforms of a step

_M0 = np.uint64(0xD2511F53)
_M1 = np.uint64(0xCD9E8D57)
_W0 = np.uint64(0x9E3779B9)
_W1 = np.uint64(0xBB67AE85)
_MASK = np.uint64(0xFFFFFFFF)
_SHIFT = np.uint64(32)
_TWO_M32 = 2.3283064365386963e-10  # 2^-32


@numba.njit(cache=True, fastmath=FASTMATH)
def philox4x32_10(c0, c1, c2, c3, k0, k1):
    """Philox4x32 with 10 rounds on 32-bit words held in uint64 (Random123 semantics)."""
    c0 = np.uint64(c0)
    c1 = np.uint64(c1)
    c2 = np.uint64(c2)
    c3 = np.uint64(c3)
    k0 = np.uint64(k0)
    k1 = np.uint64(k1)
    for _ in range(10):
        p0 = _M0 * c0
        p1 = _M1 * c2
        hi0 = p0 >> _SHIFT
        lo0 = p0 & _MASK
        hi1 = p1 >> _SHIFT
        lo1 = p1 & _MASK
        c0 = hi1 ^ c1 ^ k0
        c1 = lo1
        c2 = hi0 ^ c3 ^ k1
        c3 = lo0
        # Bumping the key after the last round is harmless: the key is not returned.
        k0 = (k0 + _W0) & _MASK
        k1 = (k1 + _W1) & _MASK
    return c0, c1, c2, c3


@numba.njit(cache=True, fastmath=FASTMATH)
def to_unit_open(word):
    """A 32-bit word to a double in the open interval (0, 1)."""
    return (np.float64(word) + 0.5) * _TWO_M32


@numba.njit(cache=True, fastmath=FASTMATH)
def split_key(seed):
    s = np.uint64(seed)
    return s & _MASK, s >> _SHIFT


@numba.njit(cache=True, fastmath=FASTMATH)
def uniforms4(pid, step, purpose, k0, k1):
    """Four independent U(0, 1) doubles for (particle id, step, purpose)."""
    pid = np.uint64(pid)
    step = np.uint64(step)
    r0, r1, r2, r3 = philox4x32_10(pid & _MASK, pid >> _SHIFT, step & _MASK,
                                   np.uint64(purpose), k0, k1)
    return to_unit_open(r0), to_unit_open(r1), to_unit_open(r2), to_unit_open(r3)


# Ziggurat (Marsaglia & Tsang, J. Stat. Softw. 5(8), 2000) with 128 layers of equal area
# under f(x) = exp(-x^2/2): one 32-bit word gives the layer (bits 0-6), the sign (bit 7)
# and the abscissa within the layer (bits 8-31, independent of the layer bits, as Doornik
# 2005 recommends). 98.8 % of variates take the fast path (a table look-up and a compare,
# no libm call; per step and thread, Philox + 3 normals took 22 ns, with the AS 241 inverse CDF 119 ns:
# bench_tracker.py --profile); the rest are finished exactly
# (wedge rejection, Marsaglia's tail method beyond R) with extra Philox blocks. The CUDA
# source embeds the same tables (:data:`ZIGGURAT_CUDA_TABLES`).
ZIGGURAT_LAYERS = 128
ZIGGURAT_R = 3.442619855899  # right edge of the base layer's rectangle
ZIGGURAT_V = 9.91256303526217e-3  # area of every layer
PURPOSE_GAUSS_FALLBACK = 0x40000000  # fallback block e of a normal draw with purpose P: P + this + e


def _ziggurat_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Layer edges X (X[0] = V/f(R) the base layer's virtual width, X[1] = R, X[128] = 0),
    f(X) and the fast-accept ratios X[i+1]/X[i]."""
    n = ZIGGURAT_LAYERS
    x = np.zeros(n + 1)
    f_r = math.exp(-0.5 * ZIGGURAT_R * ZIGGURAT_R)
    x[0] = ZIGGURAT_V / f_r
    x[1] = ZIGGURAT_R
    for i in range(1, n - 1):
        x[i + 1] = math.sqrt(-2.0 * math.log(math.exp(-0.5 * x[i] * x[i]) + ZIGGURAT_V / x[i]))
    f = np.exp(-0.5 * x * x)
    f[0] = 0.0  # the base layer reaches down to y = 0 (its tail is sampled apart)
    return x, f, x[1:] / x[:-1]


ZIGGURAT_X, ZIGGURAT_F, ZIGGURAT_RATIO = _ziggurat_tables()
_TWO_M24 = 5.9604644775390625e-08  # 2^-24


@numba.njit(cache=True, fastmath=FASTMATH)
def ziggurat_normal(word, pid, step, purpose, k0, k1, extra):
    """N(0, 1) from one Philox word; ``extra`` counts the fallback blocks drawn so far for
    this (id, step, purpose): returns (z, extra)."""
    w = np.uint64(word)
    layer = w & np.uint64(0x7F)  # unsigned: no wrap-around check on the table look-ups
    negative = (w & np.uint64(0x80)) != np.uint64(0)
    u = (np.float64(w >> np.uint64(8)) + 0.5) * _TWO_M24
    x = u * ZIGGURAT_X[layer]
    if u < ZIGGURAT_RATIO[layer]:
        return (-x if negative else x), extra
    pid = np.uint64(pid)
    for _ in range(64):  # each round succeeds with probability > 0.3 (in practice > 0.9)
        r0, r1, _r2, r3 = philox4x32_10(pid & _MASK, pid >> _SHIFT, np.uint64(step) & _MASK,
                                      np.uint64(purpose + PURPOSE_GAUSS_FALLBACK + extra), k0, k1)
        extra += 1
        if layer == 0:  # the tail beyond R (Marsaglia 1964)
            xt = -math.log(to_unit_open(r0)) / ZIGGURAT_R
            yt = -math.log(to_unit_open(r1))
            if yt + yt > xt * xt:
                x = ZIGGURAT_R + xt
                break
        else:
            y = ZIGGURAT_F[layer] + to_unit_open(r0) * (ZIGGURAT_F[layer + np.uint64(1)] - ZIGGURAT_F[layer])
            if y < math.exp(-0.5 * x * x):
                break
            # rejected: a fresh variate from the block's last word
            layer = r3 & np.uint64(0x7F)
            negative = (r3 & np.uint64(0x80)) != np.uint64(0)
            u = (np.float64(r3 >> np.uint64(8)) + 0.5) * _TWO_M24
            x = u * ZIGGURAT_X[layer]
            if u < ZIGGURAT_RATIO[layer]:
                break
    return (-x if negative else x), extra


@numba.njit(cache=True, fastmath=FASTMATH)
def _normals_of_block(r0, r1, r2, pid, step, purpose, k0, k1):
    n0, extra = ziggurat_normal(r0, pid, step, purpose, k0, k1, 0)
    n1, extra = ziggurat_normal(r1, pid, step, purpose, k0, k1, extra)
    n2, extra = ziggurat_normal(r2, pid, step, purpose, k0, k1, extra)
    return n0, n1, n2


@numba.njit(cache=True, fastmath=FASTMATH)
def normals3(pid, step, purpose, k0, k1):
    """Three independent N(0, 1) doubles (ziggurat on the first three Philox words)."""
    p = np.uint64(pid)
    r0, r1, r2, _ = philox4x32_10(p & _MASK, p >> _SHIFT, np.uint64(step) & _MASK, np.uint64(purpose), k0, k1)
    return _normals_of_block(r0, r1, r2, pid, step, purpose, k0, k1)


@numba.njit(cache=True, fastmath=FASTMATH)
def normals3_uniform(pid, step, purpose, k0, k1):
    """:func:`normals3` and the block's fourth word as a U(0, 1) double (the first waiting
    time of the internal-state switching: a step without a jump costs no extra block)."""
    p = np.uint64(pid)
    r0, r1, r2, r3 = philox4x32_10(p & _MASK, p >> _SHIFT, np.uint64(step) & _MASK, np.uint64(purpose), k0, k1)
    n0, n1, n2 = _normals_of_block(r0, r1, r2, pid, step, purpose, k0, k1)
    return n0, n1, n2, to_unit_open(r3)


def _cuda_array(name: str, values: np.ndarray) -> str:
    body = ", ".join(repr(float(v)) for v in values)
    return f"static __device__ const double {name}[{len(values)}] = {{{body}}};\n"


# The tables for the CUDA source, printed with round-trip precision (the same doubles).
ZIGGURAT_CUDA_TABLES = (_cuda_array("ZIGGURAT_X", ZIGGURAT_X) + _cuda_array("ZIGGURAT_F", ZIGGURAT_F)
                        + _cuda_array("ZIGGURAT_RATIO", ZIGGURAT_RATIO))


@numba.njit(cache=True, fastmath=FASTMATH)
def philox_block(counter: np.ndarray, key: np.ndarray) -> np.ndarray:
    """Philox4x32-10 of one counter (4 words) and key (2 words); for known-answer tests."""
    r = philox4x32_10(counter[0], counter[1], counter[2], counter[3], key[0], key[1])
    out = np.empty(4, dtype=np.uint32)
    for i in range(4):
        out[i] = np.uint32(r[i])
    return out


@numba.njit(cache=True, fastmath=FASTMATH)
def _normals_for(ids, step, purpose, seed, out):
    k0, k1 = split_key(seed)
    for p in range(ids.shape[0]):
        n0, n1, n2 = normals3(ids[p], step, purpose, k0, k1)
        out[0, p] = n0
        out[1, p] = n1
        out[2, p] = n2


@numba.njit(cache=True, fastmath=FASTMATH)
def _uniforms_for(ids, step, purpose, seed, out):
    k0, k1 = split_key(seed)
    for p in range(ids.shape[0]):
        u0, u1, u2, u3 = uniforms4(ids[p], step, purpose, k0, k1)
        out[0, p] = u0
        out[1, p] = u1
        out[2, p] = u2
        out[3, p] = u3


def normals(ids: np.ndarray, step: int, seed: int, purpose: int = PURPOSE_NOISE) -> np.ndarray:
    """The (3, N) normal variates the kernels use for these particles at this step."""
    ids = np.ascontiguousarray(ids, dtype=np.uint64)
    out = np.empty((3, ids.shape[0]))
    _normals_for(ids, np.uint64(step), np.uint64(purpose), np.uint64(seed), out)
    return out


def uniforms(ids: np.ndarray, step: int, seed: int, purpose: int = PURPOSE_INITIAL) -> np.ndarray:
    """The (4, N) U(0, 1) variates for these particles, step and purpose."""
    ids = np.ascontiguousarray(ids, dtype=np.uint64)
    out = np.empty((4, ids.shape[0]))
    _uniforms_for(ids, np.uint64(step), np.uint64(purpose), np.uint64(seed), out)
    return out
