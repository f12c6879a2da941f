"""CuPy backend: one fused CUDA kernel advances many steps per launch.

``CUDA_SOURCE`` is the CPU kernel (:mod:`.kernels_cpu`) transcribed to CUDA C++: the same
Philox4x32-10 counter layout, ziggurat normals (the same tables, double precision), one
trilinear pass over the ``[b_x, b_y, b_z, D, inside]`` node records per Euler step, drift
schemes, walls, inside test and NaN guard. The
template parameter ``real`` (float or double) is the storage and arithmetic precision of
positions and fields; in double precision the two backends agree to round-off.
``advance_states`` is :func:`.kernels_cpu.advance_states_cpu` (particles with internal
states, node records ``[b_x, b_y, b_z, T, D_0, ..., D_3]``); its jump process runs in
double precision whatever ``real`` is.

cupy is imported lazily: this module imports without it.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .rng import ZIGGURAT_CUDA_TABLES, ZIGGURAT_R

CUDA_SOURCE = r"""
typedef unsigned int u32;
typedef unsigned long long u64;

#define ACTIVE 0
#define ADSORBED 1
#define ESCAPED 2
#define INVALID 3
#define FACE_REFLECT 0
#define FACE_ADSORB 1
#define FACE_OPEN 2
#define PURPOSE_NOISE 0u
#define PURPOSE_WALL 2u
#define MAX_REFLECTIONS 8
#define PURPOSE_GAUSS_FALLBACK 0x40000000u
#define ZIGGURAT_R """ + repr(ZIGGURAT_R) + "\n" + ZIGGURAT_CUDA_TABLES + r"""

struct philox_out { u32 v[4]; };

__device__ __forceinline__ philox_out philox4x32_10(u32 c0, u32 c1, u32 c2, u32 c3,
                                                    u32 k0, u32 k1)
{
    #pragma unroll
    for (int r = 0; r < 10; ++r) {
        const u32 hi0 = __umulhi(0xD2511F53u, c0), lo0 = 0xD2511F53u * c0;
        const u32 hi1 = __umulhi(0xCD9E8D57u, c2), lo1 = 0xCD9E8D57u * c2;
        c0 = hi1 ^ c1 ^ k0; c1 = lo1; c2 = hi0 ^ c3 ^ k1; c3 = lo0;
        k0 += 0x9E3779B9u; k1 += 0xBB67AE85u;
    }
    philox_out o; o.v[0] = c0; o.v[1] = c1; o.v[2] = c2; o.v[3] = c3;
    return o;
}

__device__ __forceinline__ double unit_open(u32 w) { return ((double)w + 0.5) * 2.3283064365386963e-10; }

// Ziggurat normals: the tables and the algorithm of rng.ziggurat_normal.
__device__ __forceinline__ double ziggurat_normal(u32 w, u64 pid, u64 step, u32 purpose, u32 k0, u32 k1,
                                                  u32 &extra)
{
    int layer = (int)(w & 0x7Fu);
    bool negative = (w & 0x80u) != 0u;
    double u = ((double)(w >> 8) + 0.5) * 5.9604644775390625e-08;
    double x = u * ZIGGURAT_X[layer];
    if (u < ZIGGURAT_RATIO[layer]) return negative ? -x : x;
    for (int it = 0; it < 64; ++it) {
        const philox_out r = philox4x32_10((u32)pid, (u32)(pid >> 32), (u32)step,
                                           purpose + PURPOSE_GAUSS_FALLBACK + extra, k0, k1);
        extra += 1;
        if (layer == 0) {  // the tail beyond R
            const double xt = -log(unit_open(r.v[0])) / ZIGGURAT_R;
            const double yt = -log(unit_open(r.v[1]));
            if (yt + yt > xt * xt) { x = ZIGGURAT_R + xt; break; }
        } else {
            const double y = ZIGGURAT_F[layer] + unit_open(r.v[0]) * (ZIGGURAT_F[layer + 1] - ZIGGURAT_F[layer]);
            if (y < exp(-0.5 * x * x)) break;
            layer = (int)(r.v[3] & 0x7Fu);
            negative = (r.v[3] & 0x80u) != 0u;
            u = ((double)(r.v[3] >> 8) + 0.5) * 5.9604644775390625e-08;
            x = u * ZIGGURAT_X[layer];
            if (u < ZIGGURAT_RATIO[layer]) break;
        }
    }
    return negative ? -x : x;
}

// Three N(0, 1) from the first three words of the (pid, step, purpose) block; the fourth
// word as a U(0, 1) double (the first waiting time of the state switching).
__device__ __forceinline__ void normals3_of(u64 pid, u64 step, u32 purpose, u32 k0, u32 k1,
                                            double &n0, double &n1, double &n2, double &u3)
{
    const philox_out r = philox4x32_10((u32)pid, (u32)(pid >> 32), (u32)step, purpose, k0, k1);
    u32 extra = 0u;
    n0 = ziggurat_normal(r.v[0], pid, step, purpose, k0, k1, extra);
    n1 = ziggurat_normal(r.v[1], pid, step, purpose, k0, k1, extra);
    n2 = ziggurat_normal(r.v[2], pid, step, purpose, k0, k1, extra);
    u3 = unit_open(r.v[3]);
}

__device__ __forceinline__ double wall_uniform(u64 pid, u64 step, u32 hits, u32 k0, u32 k1)
{
    philox_out r = philox4x32_10((u32)pid, (u32)(pid >> 32), (u32)step, PURPOSE_WALL + hits, k0, k1);
    return unit_open(r.v[0]);
}

template <typename real>
__device__ __forceinline__ void cell(real x, real o, real ih, int n, int &i, real &f)
{
    const real g = (x - o) * ih;
    i = (int)floor(g);
    i = i < 0 ? 0 : (i > n - 2 ? n - 2 : i);
    f = g - (real)i;
    f = f < (real)0 ? (real)0 : (f > (real)1 ? (real)1 : f);
}

// One node record [b_x, b_y, b_z, D] in one 16-byte (float) or two 16-byte (double)
// read-only loads; records are 16/32-byte aligned (CuPy allocations are 256-byte aligned).
template <typename real>
__device__ __forceinline__ void load4(const real *p, real &a, real &b, real &c, real &d);

template <>
__device__ __forceinline__ void load4<float>(const float *p, float &a, float &b, float &c, float &d)
{
    const float4 v = __ldg(reinterpret_cast<const float4 *>(p));
    a = v.x; b = v.y; c = v.z; d = v.w;
}

template <>
__device__ __forceinline__ void load4<double>(const double *p, double &a, double &b, double &c, double &d)
{
    const double2 v0 = __ldg(reinterpret_cast<const double2 *>(p));
    const double2 v1 = __ldg(reinterpret_cast<const double2 *>(p) + 1);
    a = v0.x; b = v0.y; c = v1.x; d = v1.y;
}

// Trilinear value of one record component (blends along z, then y, then x), as
// kernels_cpu._blend; c000..c110 are the corners' offsets, sz the record width.
template <typename real>
__device__ __forceinline__ real blend(const real *__restrict__ v, long long c000, long long c010,
                                      long long c100, long long c110, int sz, real fx, real fy, real fz)
{
    const real a00 = __ldg(v + c000) + fz * (__ldg(v + c000 + sz) - __ldg(v + c000));
    const real a01 = __ldg(v + c010) + fz * (__ldg(v + c010 + sz) - __ldg(v + c010));
    const real a10 = __ldg(v + c100) + fz * (__ldg(v + c100 + sz) - __ldg(v + c100));
    const real a11 = __ldg(v + c110) + fz * (__ldg(v + c110 + sz) - __ldg(v + c110));
    const real b0 = a00 + fy * (a01 - a00), b1 = a10 + fy * (a11 - a10);
    return b0 + fx * (b1 - b0);
}

// Drift, D, the exact gradient of the interpolated D and the inside value (1 for width 4)
// from records [b_x, b_y, b_z, D(, inside)] of ``width`` components (kernels_cpu.sample_nodes).
template <typename real>
__device__ __forceinline__ void sample(const real *__restrict__ nodes, int width, int nx, int ny, int nz,
                                       real x, real y, real z, real ox, real oy, real oz,
                                       real ihx, real ihy, real ihz,
                                       real &bx, real &by, real &bz, real &d,
                                       real &gx, real &gy, real &gz, real &inside)
{
    int i, j, k; real fx, fy, fz;
    cell<real>(x, ox, ihx, nx, i, fx);
    cell<real>(y, oy, ihy, ny, j, fy);
    cell<real>(z, oz, ihz, nz, k, fz);
    const long long c000 = (((long long)i * ny + j) * nz + k) * width;
    const long long c010 = c000 + (long long)nz * width, c100 = c000 + (long long)ny * nz * width;
    const long long c110 = c100 + (long long)nz * width;
    bx = blend<real>(nodes, c000, c010, c100, c110, width, fx, fy, fz);
    by = blend<real>(nodes, c000 + 1, c010 + 1, c100 + 1, c110 + 1, width, fx, fy, fz);
    bz = blend<real>(nodes, c000 + 2, c010 + 2, c100 + 2, c110 + 2, width, fx, fy, fz);
    const real *v = nodes + 3;
    const real v000 = __ldg(v + c000), v001 = __ldg(v + c000 + width), v010 = __ldg(v + c010);
    const real v011 = __ldg(v + c010 + width), v100 = __ldg(v + c100), v101 = __ldg(v + c100 + width);
    const real v110 = __ldg(v + c110), v111 = __ldg(v + c110 + width);
    const real a00 = v000 + fz * (v001 - v000), a01 = v010 + fz * (v011 - v010);
    const real a10 = v100 + fz * (v101 - v100), a11 = v110 + fz * (v111 - v110);
    const real b0 = a00 + fy * (a01 - a00), b1 = a10 + fy * (a11 - a10);
    const real e0 = (v001 - v000) + fy * ((v011 - v010) - (v001 - v000));
    const real e1 = (v101 - v100) + fy * ((v111 - v110) - (v101 - v100));
    d = b0 + fx * (b1 - b0);
    gx = (b1 - b0) * ihx;
    gy = ((a01 - a00) + fx * ((a11 - a10) - (a01 - a00))) * ihy;
    gz = (e0 + fx * (e1 - e0)) * ihz;
    inside = width > 4 ? blend<real>(nodes, c000 + 4, c010 + 4, c100 + 4, c110 + 4, width, fx, fy, fz) : (real)1;
}

// Trilinear interpolation of component ``offset`` of records ``stride`` wide (a scalar
// grid: 1, 0), as kernels_cpu.sample_scalar.
template <typename real>
__device__ __forceinline__ real sample_scalar(const real *__restrict__ values, int stride, int offset,
                                              int nx, int ny, int nz, real x, real y, real z,
                                              real ox, real oy, real oz, real ihx, real ihy, real ihz)
{
    int i, j, k; real fx, fy, fz;
    cell<real>(x, ox, ihx, nx, i, fx);
    cell<real>(y, oy, ihy, ny, j, fy);
    cell<real>(z, oz, ihz, nz, k, fz);
    const long long c000 = (((long long)i * ny + j) * nz + k) * stride + offset;
    const long long c010 = c000 + (long long)nz * stride, c100 = c000 + (long long)ny * nz * stride;
    return blend<real>(values, c000, c010, c100, c100 + (long long)nz * stride, stride, fx, fy, fz);
}

// One axis's walls on a new coordinate x and its velocity v (0 for overdamped particles),
// as kernels_cpu.wall_axis.
template <typename real>
__device__ __forceinline__ int wall_axis(real &x, real &v, real lo, real hi, int kind_lo, int kind_hi,
                                         real p_lo, real p_hi, u64 pid, u64 step, u32 &hits,
                                         u32 k0, u32 k1)
{
    for (int it = 0; it < MAX_REFLECTIONS; ++it) {
        int kind; real p_stick, wall;
        if (x < lo) { kind = kind_lo; p_stick = p_lo; wall = lo; }
        else if (x > hi) { kind = kind_hi; p_stick = p_hi; wall = hi; }
        else return ACTIVE;
        if (kind == FACE_OPEN) { x = wall; return ESCAPED; }
        if (kind == FACE_ADSORB) {
            const double u = wall_uniform(pid, step, hits, k0, k1);
            hits += 1;
            if (u < (double)p_stick) { x = wall; v = (real)0; return ADSORBED; }
        }
        x = (real)2 * wall - x;
        v = -v;
    }
    x = x < lo ? lo : (x > hi ? hi : x);
    return ACTIVE;
}

// The box's walls on a new position; returns the event (a status, or ACTIVE).
template <typename real>
__device__ __forceinline__ int walls(real &x, real &y, real &z, real lox, real loy, real loz,
                                     real hix, real hiy, real hiz, int f0, int f1, int f2, int f3, int f4,
                                     int f5, real s0, real s1, real s2, real s3, real s4, real s5,
                                     u64 pid, u64 step, u32 k0, u32 k1)
{
    u32 hits = 0;
    real v = (real)0;
    const int ex = wall_axis<real>(x, v, lox, hix, f0, f1, s0, s1, pid, step, hits, k0, k1);
    const int ey = wall_axis<real>(y, v, loy, hiy, f2, f3, s2, s3, pid, step, hits, k0, k1);
    const int ez = wall_axis<real>(z, v, loz, hiz, f4, f5, s4, s5, pid, step, hits, k0, k1);
    return ex != ACTIVE ? ex : (ey != ACTIVE ? ey : ez);
}

// kernels_cpu.advance_cpu: records [b_x, b_y, b_z, D, inside], one corner pass per Euler step.
template <typename real>
__global__ void advance(real *__restrict__ pos, signed char *__restrict__ status,
                        const u64 *__restrict__ ids, long long n, const real *__restrict__ nodes,
                        int nx, int ny, int nz,
                        real ox, real oy, real oz, real ihx, real ihy, real ihz,
                        real lox, real loy, real loz, real hix, real hiy, real hiz,
                        int f0, int f1, int f2, int f3, int f4, int f5,
                        real s0, real s1, real s2, real s3, real s4, real s5,
                        u64 seed, u64 step0, int n_steps, real dt, int heun, int trilinear_grad_d)
{
    const long long p = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (p >= n || status[p] != ACTIVE) return;
    const u32 k0 = (u32)seed, k1 = (u32)(seed >> 32);
    real x = pos[p], y = pos[n + p], z = pos[2 * n + p];
    const u64 pid = ids[p];
    int st = ACTIVE;
    real bx, by, bz, d, gx, gy, gz, inside;
    sample<real>(nodes, 5, nx, ny, nz, x, y, z, ox, oy, oz, ihx, ihy, ihz, bx, by, bz, d, gx, gy, gz, inside);
    for (int s = 0; s < n_steps; ++s) {
        const u64 step = step0 + (u64)s;
        double n0, n1, n2, spare;
        normals3_of(pid, step, PURPOSE_NOISE, k0, k1, n0, n1, n2, spare);
        real vx = bx, vy = by, vz = bz;
        if (trilinear_grad_d) { vx += gx; vy += gy; vz += gz; }
        const real sig = sqrt((real)2 * (d > (real)0 ? d : (real)0) * dt);
        const real wx = sig * (real)n0, wy = sig * (real)n1, wz = sig * (real)n2;
        if (heun) {
            const real xp = x + vx * dt + wx, yp = y + vy * dt + wy, zp = z + vz * dt + wz;
            if (isfinite(xp) && isfinite(yp) && isfinite(zp)) {
                real cx, cy, cz, dd, hx, hy, hz, ins;
                sample<real>(nodes, 5, nx, ny, nz, xp, yp, zp, ox, oy, oz, ihx, ihy, ihz,
                             cx, cy, cz, dd, hx, hy, hz, ins);
                if (trilinear_grad_d) { cx += hx; cy += hy; cz += hz; }
                vx = (real)0.5 * (vx + cx); vy = (real)0.5 * (vy + cy); vz = (real)0.5 * (vz + cz);
            }
        }
        real xn = x + vx * dt + wx, yn = y + vy * dt + wy, zn = z + vz * dt + wz;
        if (!(isfinite(xn) && isfinite(yn) && isfinite(zn))) { st = INVALID; break; }
        const int event = walls<real>(xn, yn, zn, lox, loy, loz, hix, hiy, hiz, f0, f1, f2, f3, f4, f5,
                                      s0, s1, s2, s3, s4, s5, pid, step, k0, k1);
        if (event != ACTIVE) { x = xn; y = yn; z = zn; st = event; break; }
        real nbx, nby, nbz, nd, ngx, ngy, ngz;
        sample<real>(nodes, 5, nx, ny, nz, xn, yn, zn, ox, oy, oz, ihx, ihy, ihz,
                     nbx, nby, nbz, nd, ngx, ngy, ngz, inside);
        if (inside < (real)0.5) continue;  // rejected: the step would leave the geometry
        x = xn; y = yn; z = zn;
        bx = nbx; by = nby; bz = nbz; d = nd; gx = ngx; gy = ngy; gz = ngz;
    }
    pos[p] = x; pos[n + p] = y; pos[2 * n + p] = z;
    status[p] = (signed char)st;
}

// --- particles with internal states -------------------------------------------------
#define MAX_STATES 4
#define MAX_JUMPS 32
#define STATE_RECORD 8
#define PURPOSE_SWITCH 256u

__device__ __forceinline__ void uniforms4(u64 pid, u64 step, u32 purpose, u32 k0, u32 k1, double *u)
{
    philox_out r = philox4x32_10((u32)pid, (u32)(pid >> 32), (u32)step, purpose, k0, k1);
    u[0] = unit_open(r.v[0]); u[1] = unit_open(r.v[1]); u[2] = unit_open(r.v[2]); u[3] = unit_open(r.v[3]);
}

template <typename real>
__device__ __forceinline__ void sample_state(const real *__restrict__ records, int nx, int ny, int nz,
                                             real x, real y, real z, real ox, real oy, real oz,
                                             real ihx, real ihy, real ihz, const real *w,
                                             real &bx, real &by, real &bz, real &t, real &d,
                                             real &gx, real &gy, real &gz)
{
    int i, j, k; real fx, fy, fz;
    cell<real>(x, ox, ihx, nx, i, fx);
    cell<real>(y, oy, ihy, ny, j, fy);
    cell<real>(z, oz, ihz, nz, k, fz);
    bx = by = bz = t = d = gx = gy = gz = (real)0;
    #pragma unroll
    for (int c = 0; c < 8; ++c) {
        const int di = c & 1, dj = (c >> 1) & 1, dk = (c >> 2) & 1;
        const real wx = di ? fx : (real)1 - fx, wy = dj ? fy : (real)1 - fy, wz = dk ? fz : (real)1 - fz;
        const real sx = di ? (real)1 : (real)-1, sy = dj ? (real)1 : (real)-1, sz = dk ? (real)1 : (real)-1;
        const real wt = wx * wy * wz;
        const real *r = records + STATE_RECORD * (((long long)(i + di) * ny + (j + dj)) * nz + (k + dk));
        real n0, n1, n2, tv, d0, d1, d2, d3;
        load4<real>(r, n0, n1, n2, tv);
        load4<real>(r + 4, d0, d1, d2, d3);
        const real dv = w[0] * d0 + w[1] * d1 + w[2] * d2 + w[3] * d3;
        bx += wt * n0; by += wt * n1; bz += wt * n2; t += wt * tv; d += wt * dv;
        gx += sx * wy * wz * dv; gy += wx * sy * wz * dv; gz += wx * wy * sz * dv;
    }
    gx *= ihx; gy *= ihy; gz *= ihz;
}

__device__ __forceinline__ double state_rate(int s, int j, double inv_t, const double *__restrict__ prefactor,
                                             const double *__restrict__ activation)
{
    const double nu = prefactor[MAX_STATES * s + j];
    return nu > 0.0 ? nu * exp(-activation[MAX_STATES * s + j] * inv_t) : 0.0;
}

// The jump process over one step at frozen rates; w[i] = tau_i / dt. Returns the end state.
// u_first: the first waiting time's uniform; jump j draws its target and the next waiting
// time from block PURPOSE_SWITCH + j / 2.
__device__ __forceinline__ int switch_states(int s, double u_first, double temperature, double dt, int n_states,
                                             const double *__restrict__ prefactor,
                                             const double *__restrict__ activation,
                                             const double *__restrict__ log_weight,
                                             const double *__restrict__ level,
                                             const int *__restrict__ component,
                                             u64 pid, u64 step, u32 k0, u32 k1, double *w)
{
    const double inv_t = 1.0 / temperature;
    double tau[MAX_STATES] = {0.0, 0.0, 0.0, 0.0};
    double remaining = dt;
    double u_wait = u_first, u_pick = 0.0;
    double u[4];
    for (int jump = 0; jump <= MAX_JUMPS; ++jump) {
        if (jump == MAX_JUMPS) {  // fast-switching fallback over the rest of the step
            uniforms4(pid, step, PURPOSE_SWITCH + (u32)(jump >> 1), k0, k1, u);
            u_pick = u[0];
            double total = 0.0;
            for (int j = 0; j < n_states; ++j)
                if (component[j] == component[s]) total += exp(log_weight[j] - level[j] * inv_t);
            const double threshold = u_pick * total;
            double acc = 0.0;
            int end = s;
            for (int j = 0; j < n_states; ++j) {
                if (component[j] == component[s]) {
                    const double p = exp(log_weight[j] - level[j] * inv_t);
                    tau[j] += remaining * p / total;
                    if (acc <= threshold) end = j;
                    acc += p;
                }
            }
            s = end;
            break;
        }
        double k_total = 0.0;
        for (int j = 0; j < n_states; ++j) k_total += state_rate(s, j, inv_t, prefactor, activation);
        if (k_total <= 0.0) { tau[s] += remaining; break; }  // a state with no way out
        const double wait = -log(u_wait) / k_total;
        if (wait >= remaining) { tau[s] += remaining; break; }
        tau[s] += wait;
        remaining -= wait;
        if ((jump & 1) == 0) {
            uniforms4(pid, step, PURPOSE_SWITCH + (u32)(jump >> 1), k0, k1, u);
            u_pick = u[0]; u_wait = u[1];
        } else {
            u_pick = u[2]; u_wait = u[3];
        }
        const double threshold = u_pick * k_total;
        double acc = 0.0;
        int target = s;
        for (int j = 0; j < n_states; ++j) {
            const double k = state_rate(s, j, inv_t, prefactor, activation);
            if (k > 0.0) {
                target = j;  // the last connected state also catches round-off in the sum
                acc += k;
                if (threshold < acc) break;
            }
        }
        s = target;
    }
    const double inv_dt = 1.0 / dt;
    for (int i = 0; i < MAX_STATES; ++i) w[i] = tau[i] * inv_dt;
    return s;
}

template <typename real>
__global__ void advance_states(real *__restrict__ pos, signed char *__restrict__ status,
                               signed char *__restrict__ internal, const u64 *__restrict__ ids, long long n,
                               const real *__restrict__ records, const real *__restrict__ mask,
                               int nx, int ny, int nz, int use_mask,
                               real ox, real oy, real oz, real ihx, real ihy, real ihz,
                               real lox, real loy, real loz, real hix, real hiy, real hiz,
                               int f0, int f1, int f2, int f3, int f4, int f5,
                               real s0, real s1, real s2, real s3, real s4, real s5,
                               u64 seed, u64 step0, int n_steps, real dt, int heun, int trilinear_grad_d,
                               int n_states, const double *__restrict__ prefactor,
                               const double *__restrict__ activation, const double *__restrict__ log_weight,
                               const double *__restrict__ level, const int *__restrict__ component,
                               real fkx, real fky, real fkz)
{
    const long long p = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (p >= n || status[p] != ACTIVE) return;
    const u32 k0 = (u32)seed, k1 = (u32)(seed >> 32);
    real x = pos[p], y = pos[n + p], z = pos[2 * n + p];
    int s = internal[p];
    const u64 pid = ids[p];
    int st = ACTIVE;
    for (int it = 0; it < n_steps; ++it) {
        const u64 step = step0 + (u64)it;
        double n0, n1, n2, u_first;
        normals3_of(pid, step, PURPOSE_NOISE, k0, k1, n0, n1, n2, u_first);
        const real t_here = sample_scalar<real>(records, STATE_RECORD, 3, nx, ny, nz, x, y, z, ox, oy, oz,
                                                  ihx, ihy, ihz);
        double wd[MAX_STATES];
        s = switch_states(s, u_first, (double)t_here, (double)dt, n_states, prefactor, activation, log_weight, level,
                          component, pid, step, k0, k1, wd);
        const real w[MAX_STATES] = {(real)wd[0], (real)wd[1], (real)wd[2], (real)wd[3]};
        real bx, by, bz, tk, d, gx, gy, gz;
        sample_state<real>(records, nx, ny, nz, x, y, z, ox, oy, oz, ihx, ihy, ihz, w,
                           bx, by, bz, tk, d, gx, gy, gz);
        real mobility = d / tk;
        bx += fkx * mobility; by += fky * mobility; bz += fkz * mobility;
        if (trilinear_grad_d) { bx += gx; by += gy; bz += gz; }
        const real sig = sqrt((real)2 * (d > (real)0 ? d : (real)0) * dt);
        const real wx = sig * (real)n0, wy = sig * (real)n1, wz = sig * (real)n2;
        if (heun) {
            const real xp = x + bx * dt + wx, yp = y + by * dt + wy, zp = z + bz * dt + wz;
            if (isfinite(xp) && isfinite(yp) && isfinite(zp)) {
                real cx, cy, cz, tc, dc, hx, hy, hz;
                sample_state<real>(records, nx, ny, nz, xp, yp, zp, ox, oy, oz, ihx, ihy, ihz, w,
                                   cx, cy, cz, tc, dc, hx, hy, hz);
                mobility = dc / tc;
                cx += fkx * mobility; cy += fky * mobility; cz += fkz * mobility;
                if (trilinear_grad_d) { cx += hx; cy += hy; cz += hz; }
                bx = (real)0.5 * (bx + cx); by = (real)0.5 * (by + cy); bz = (real)0.5 * (bz + cz);
            }
        }
        real xn = x + bx * dt + wx, yn = y + by * dt + wy, zn = z + bz * dt + wz;
        if (!(isfinite(xn) && isfinite(yn) && isfinite(zn))) { st = INVALID; break; }
        const int event = walls<real>(xn, yn, zn, lox, loy, loz, hix, hiy, hiz, f0, f1, f2, f3, f4, f5,
                                      s0, s1, s2, s3, s4, s5, pid, step, k0, k1);
        if (event != ACTIVE) { x = xn; y = yn; z = zn; st = event; break; }
        if (use_mask && sample_scalar<real>(mask, 1, 0, nx, ny, nz, xn, yn, zn, ox, oy, oz,
                                            ihx, ihy, ihz) < (real)0.5)
            continue;  // rejected move; the internal state has switched all the same
        x = xn; y = yn; z = zn;
    }
    pos[p] = x; pos[n + p] = y; pos[2 * n + p] = z;
    internal[p] = (signed char)s;
    status[p] = (signed char)st;
}
"""

_NAMES = {np.dtype(np.float32): "advance<float>", np.dtype(np.float64): "advance<double>"}
_STATE_NAMES = {np.dtype(np.float32): "advance_states<float>", np.dtype(np.float64): "advance_states<double>"}


@lru_cache(maxsize=None)
def _module():
    import cupy

    return cupy.RawModule(code=CUDA_SOURCE, options=("--std=c++14",),
                          name_expressions=tuple(_NAMES.values()))


@lru_cache(maxsize=None)
def _states_module():
    """The same source instantiated for the internal-state kernel (compiled on first use
    only, so a run without states does not pay for it)."""
    import cupy

    return cupy.RawModule(code=CUDA_SOURCE, options=("--std=c++14",),
                          name_expressions=tuple(_STATE_NAMES.values()))


def advance_gpu(pos, status, ids, nodes, origin, inv_h, box_lo, box_hi,
                face_kind, stick, seed: int, step0: int, n_steps: int, dt: float, heun: bool,
                trilinear_grad_d: bool, block_size: int = 256) -> None:
    """Launch the fused kernel once (arguments as :func:`.kernels_cpu.advance_cpu`).

    ``pos`` (3, N), ``status`` int8, ``ids`` uint64 and ``nodes`` (nx, ny, nz, 5) are CuPy
    arrays; ``pos`` and ``nodes`` share one floating dtype.
    """
    dtype = np.dtype(pos.dtype)
    real = dtype.type
    kernel = _module().get_function(_NAMES[dtype])
    n = int(pos.shape[1])
    if n == 0:
        return
    nx, ny, nz = (int(v) for v in nodes.shape[:3])
    grid = ((n + block_size - 1) // block_size,)
    args = (pos, status, ids, np.int64(n), nodes, np.int32(nx), np.int32(ny), np.int32(nz),
            *(real(v) for v in origin), *(real(v) for v in inv_h),
            *(real(v) for v in box_lo), *(real(v) for v in box_hi),
            *(np.int32(v) for v in face_kind), *(real(v) for v in stick),
            np.uint64(seed), np.uint64(step0), np.int32(n_steps), real(dt),
            np.int32(bool(heun)), np.int32(bool(trilinear_grad_d)))
    kernel(grid, (block_size,), args)


def advance_states_gpu(pos, status, internal, ids, records, mask, use_mask: bool, origin, inv_h, box_lo,
                       box_hi, face_kind, stick, seed: int, step0: int, n_steps: int, dt: float, heun: bool,
                       trilinear_grad_d: bool, n_states: int, prefactor, activation, log_weight, level,
                       component, force_over_kb, block_size: int = 256) -> None:
    """Launch the fused internal-state kernel once (arguments as
    :func:`.kernels_cpu.advance_states_cpu`; ``internal`` int8, ``records`` and the rate
    tables ``prefactor``, ``activation``, ``log_weight``, ``level`` (float64) and
    ``component`` (int32) CuPy arrays)."""
    dtype = np.dtype(pos.dtype)
    real = dtype.type
    kernel = _states_module().get_function(_STATE_NAMES[dtype])
    n = int(pos.shape[1])
    if n == 0:
        return
    nx, ny, nz = (int(v) for v in records.shape[:3])
    grid = ((n + block_size - 1) // block_size,)
    args = (pos, status, internal, ids, np.int64(n), records, mask,
            np.int32(nx), np.int32(ny), np.int32(nz), np.int32(bool(use_mask)),
            *(real(v) for v in origin), *(real(v) for v in inv_h),
            *(real(v) for v in box_lo), *(real(v) for v in box_hi),
            *(np.int32(v) for v in face_kind), *(real(v) for v in stick),
            np.uint64(seed), np.uint64(step0), np.int32(n_steps), real(dt),
            np.int32(bool(heun)), np.int32(bool(trilinear_grad_d)), np.int32(n_states),
            prefactor, activation, log_weight, level, component, *(real(v) for v in force_over_kb))
    kernel(grid, (block_size,), args)
