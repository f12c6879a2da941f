"""CuPy backend: one fused CUDA kernel advances many steps per launch.

``CUDA_SOURCE`` is the CPU kernel (:mod:`.kernels_cpu`) transcribed to CUDA C++: the same
Philox4x32-10 counter layout, inverse-CDF normals in double precision, trilinear interpolation of
the ``[b_x, b_y, b_z, D]`` node records, drift schemes, walls, mask and NaN guard. The
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

// Wichura AS 241 (PPND16): the same coefficients and operation order as rng.py.
__device__ __forceinline__ double horner8(const double *c, double x)
{
    return (((((((c[7] * x + c[6]) * x + c[5]) * x + c[4]) * x + c[3]) * x + c[2]) * x
             + c[1]) * x + c[0]);
}

__device__ __forceinline__ double inverse_normal_cdf(double p)
{
    const double A[8] = {3.3871328727963666080e0, 1.3314166789178437745e+2, 1.9715909503065514427e+3,
                         1.3731693765509461125e+4, 4.5921953931549871457e+4, 6.7265770927008700853e+4,
                         3.3430575583588128105e+4, 2.5090809287301226727e+3};
    const double B[8] = {1.0, 4.2313330701600911252e+1, 6.8718700749205790830e+2, 5.3941960214247511077e+3,
                         2.1213794301586595867e+4, 3.9307895800092710610e+4, 2.8729085735721942674e+4,
                         5.2264952788528545610e+3};
    const double C[8] = {1.42343711074968357734e0, 4.63033784615654529590e0, 5.76949722146069140550e0,
                         3.64784832476320460504e0, 1.27045825245236838258e0, 2.41780725177450611770e-1,
                         2.27238449892691845833e-2, 7.74545014278341407640e-4};
    const double D[8] = {1.0, 2.05319162663775882187e0, 1.67638483018380384940e0, 6.89767334985100004550e-1,
                         1.48103976427480074590e-1, 1.51986665636164571966e-2, 5.47593808499534494600e-4,
                         1.05075007164441684324e-9};
    const double E[8] = {6.65790464350110377720e0, 5.46378491116411436990e0, 1.78482653991729133580e0,
                         2.96560571828504891230e-1, 2.65321895265761230930e-2, 1.24266094738807843860e-3,
                         2.71155556874348757815e-5, 2.01033439929228813265e-7};
    const double F[8] = {1.0, 5.99832206555887937690e-1, 1.36929880922735805310e-1, 1.48753612908506148525e-2,
                         7.86869131145613259100e-4, 1.84631831751005468180e-5, 1.42151175831644588870e-7,
                         2.04426310338993978564e-15};
    const double q = p - 0.5;
    if (fabs(q) <= 0.425) {
        const double r = 0.180625 - q * q;
        return q * horner8(A, r) / horner8(B, r);
    }
    double r = q < 0.0 ? p : 1.0 - p;
    r = sqrt(-log(r));
    double value;
    if (r <= 5.0) { r -= 1.6; value = horner8(C, r) / horner8(D, r); }
    else { r -= 5.0; value = horner8(E, r) / horner8(F, r); }
    return q < 0.0 ? -value : value;
}

__device__ __forceinline__ void normals3(u64 pid, u64 step, u32 k0, u32 k1,
                                         double &n0, double &n1, double &n2)
{
    philox_out r = philox4x32_10((u32)pid, (u32)(pid >> 32), (u32)step, PURPOSE_NOISE, k0, k1);
    n0 = inverse_normal_cdf(unit_open(r.v[0]));
    n1 = inverse_normal_cdf(unit_open(r.v[1]));
    n2 = inverse_normal_cdf(unit_open(r.v[2]));
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

template <typename real>
__device__ __forceinline__ void sample(const real *__restrict__ nodes, int nx, int ny, int nz,
                                       real x, real y, real z, real ox, real oy, real oz,
                                       real ihx, real ihy, real ihz,
                                       real &bx, real &by, real &bz, real &d,
                                       real &gx, real &gy, real &gz)
{
    int i, j, k; real fx, fy, fz;
    cell<real>(x, ox, ihx, nx, i, fx);
    cell<real>(y, oy, ihy, ny, j, fy);
    cell<real>(z, oz, ihz, nz, k, fz);
    bx = by = bz = d = gx = gy = gz = (real)0;
    #pragma unroll
    for (int c = 0; c < 8; ++c) {
        const int di = c & 1, dj = (c >> 1) & 1, dk = (c >> 2) & 1;
        const real wx = di ? fx : (real)1 - fx, wy = dj ? fy : (real)1 - fy, wz = dk ? fz : (real)1 - fz;
        const real sx = di ? (real)1 : (real)-1, sy = dj ? (real)1 : (real)-1, sz = dk ? (real)1 : (real)-1;
        const real w = wx * wy * wz;
        real n0, n1, n2, dv;
        load4<real>(nodes + 4 * (((long long)(i + di) * ny + (j + dj)) * nz + (k + dk)), n0, n1, n2, dv);
        bx += w * n0; by += w * n1; bz += w * n2; d += w * dv;
        gx += sx * wy * wz * dv; gy += wx * sy * wz * dv; gz += wx * wy * sz * dv;
    }
    gx *= ihx; gy *= ihy; gz *= ihz;
}

template <typename real>
__device__ __forceinline__ real sample_mask(const real *__restrict__ mask, int nx, int ny, int nz,
                                            real x, real y, real z, real ox, real oy, real oz,
                                            real ihx, real ihy, real ihz)
{
    int i, j, k; real fx, fy, fz;
    cell<real>(x, ox, ihx, nx, i, fx);
    cell<real>(y, oy, ihy, ny, j, fy);
    cell<real>(z, oz, ihz, nz, k, fz);
    real m = (real)0;
    #pragma unroll
    for (int c = 0; c < 8; ++c) {
        const int di = c & 1, dj = (c >> 1) & 1, dk = (c >> 2) & 1;
        const real wx = di ? fx : (real)1 - fx, wy = dj ? fy : (real)1 - fy, wz = dk ? fz : (real)1 - fz;
        m += wx * wy * wz * mask[((long long)(i + di) * ny + (j + dj)) * nz + (k + dk)];
    }
    return m;
}

template <typename real>
__device__ __forceinline__ int wall_axis(real &v, real lo, real hi, int kind_lo, int kind_hi,
                                         real p_lo, real p_hi, u64 pid, u64 step, u32 &hits,
                                         u32 k0, u32 k1)
{
    for (int it = 0; it < MAX_REFLECTIONS; ++it) {
        int kind; real p_stick, wall;
        if (v < lo) { kind = kind_lo; p_stick = p_lo; wall = lo; }
        else if (v > hi) { kind = kind_hi; p_stick = p_hi; wall = hi; }
        else return ACTIVE;
        if (kind == FACE_OPEN) { v = wall; return ESCAPED; }
        if (kind == FACE_ADSORB) {
            const double u = wall_uniform(pid, step, hits, k0, k1);
            hits += 1;
            if (u < (double)p_stick) { v = wall; return ADSORBED; }
        }
        v = (real)2 * wall - v;
    }
    v = v < lo ? lo : (v > hi ? hi : v);
    return ACTIVE;
}

template <typename real>
__global__ void advance(real *__restrict__ pos, signed char *__restrict__ status,
                        const u64 *__restrict__ ids, long long n,
                        const real *__restrict__ nodes, const real *__restrict__ mask,
                        int nx, int ny, int nz, int use_mask,
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
    for (int s = 0; s < n_steps; ++s) {
        const u64 step = step0 + (u64)s;
        double n0, n1, n2;
        normals3(pid, step, k0, k1, n0, n1, n2);
        real bx, by, bz, d, gx, gy, gz;
        sample<real>(nodes, nx, ny, nz, x, y, z, ox, oy, oz, ihx, ihy, ihz, bx, by, bz, d, gx, gy, gz);
        if (trilinear_grad_d) { bx += gx; by += gy; bz += gz; }
        const real sig = sqrt((real)2 * (d > (real)0 ? d : (real)0) * dt);
        const real wx = sig * (real)n0, wy = sig * (real)n1, wz = sig * (real)n2;
        if (heun) {
            const real xp = x + bx * dt + wx, yp = y + by * dt + wy, zp = z + bz * dt + wz;
            if (isfinite(xp) && isfinite(yp) && isfinite(zp)) {
                real cx, cy, cz, dd, hx, hy, hz;
                sample<real>(nodes, nx, ny, nz, xp, yp, zp, ox, oy, oz, ihx, ihy, ihz,
                             cx, cy, cz, dd, hx, hy, hz);
                if (trilinear_grad_d) { cx += hx; cy += hy; cz += hz; }
                bx = (real)0.5 * (bx + cx); by = (real)0.5 * (by + cy); bz = (real)0.5 * (bz + cz);
            }
        }
        real xn = x + bx * dt + wx, yn = y + by * dt + wy, zn = z + bz * dt + wz;
        if (!(isfinite(xn) && isfinite(yn) && isfinite(zn))) { st = INVALID; break; }
        u32 hits = 0;
        const int ex = wall_axis<real>(xn, lox, hix, f0, f1, s0, s1, pid, step, hits, k0, k1);
        const int ey = wall_axis<real>(yn, loy, hiy, f2, f3, s2, s3, pid, step, hits, k0, k1);
        const int ez = wall_axis<real>(zn, loz, hiz, f4, f5, s4, s5, pid, step, hits, k0, k1);
        const int event = ex != ACTIVE ? ex : (ey != ACTIVE ? ey : ez);
        if (event != ACTIVE) { x = xn; y = yn; z = zn; st = event; break; }
        if (use_mask && sample_mask<real>(mask, nx, ny, nz, xn, yn, zn, ox, oy, oz,
                                          ihx, ihy, ihz) < (real)0.5)
            continue;  // rejected: the step would leave the geometry
        x = xn; y = yn; z = zn;
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

// normals3 and the block's fourth word (the first waiting time of the state switching).
__device__ __forceinline__ void normals3_uniform(u64 pid, u64 step, u32 k0, u32 k1,
                                                 double &n0, double &n1, double &n2, double &u3)
{
    philox_out r = philox4x32_10((u32)pid, (u32)(pid >> 32), (u32)step, PURPOSE_NOISE, k0, k1);
    n0 = inverse_normal_cdf(unit_open(r.v[0]));
    n1 = inverse_normal_cdf(unit_open(r.v[1]));
    n2 = inverse_normal_cdf(unit_open(r.v[2]));
    u3 = unit_open(r.v[3]);
}

template <typename real>
__device__ __forceinline__ real sample_temperature(const real *__restrict__ records, int nx, int ny, int nz,
                                                   real x, real y, real z, real ox, real oy, real oz,
                                                   real ihx, real ihy, real ihz)
{
    int i, j, k; real fx, fy, fz;
    cell<real>(x, ox, ihx, nx, i, fx);
    cell<real>(y, oy, ihy, ny, j, fy);
    cell<real>(z, oz, ihz, nz, k, fz);
    real t = (real)0;
    #pragma unroll
    for (int c = 0; c < 8; ++c) {
        const int di = c & 1, dj = (c >> 1) & 1, dk = (c >> 2) & 1;
        const real wx = di ? fx : (real)1 - fx, wy = dj ? fy : (real)1 - fy, wz = dk ? fz : (real)1 - fz;
        t += wx * wy * wz * __ldg(records + STATE_RECORD * (((long long)(i + di) * ny + (j + dj)) * nz + (k + dk)) + 3);
    }
    return t;
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
        normals3_uniform(pid, step, k0, k1, n0, n1, n2, u_first);
        const real t_here = sample_temperature<real>(records, nx, ny, nz, x, y, z, ox, oy, oz, ihx, ihy, ihz);
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
        u32 hits = 0;
        const int ex = wall_axis<real>(xn, lox, hix, f0, f1, s0, s1, pid, step, hits, k0, k1);
        const int ey = wall_axis<real>(yn, loy, hiy, f2, f3, s2, s3, pid, step, hits, k0, k1);
        const int ez = wall_axis<real>(zn, loz, hiz, f4, f5, s4, s5, pid, step, hits, k0, k1);
        const int event = ex != ACTIVE ? ex : (ey != ACTIVE ? ey : ez);
        if (event != ACTIVE) { x = xn; y = yn; z = zn; st = event; break; }
        if (use_mask && sample_mask<real>(mask, nx, ny, nz, xn, yn, zn, ox, oy, oz,
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


def advance_gpu(pos, status, ids, nodes, mask, use_mask: bool, origin, inv_h, box_lo, box_hi,
                face_kind, stick, seed: int, step0: int, n_steps: int, dt: float, heun: bool,
                trilinear_grad_d: bool, block_size: int = 256) -> None:
    """Launch the fused kernel once (arguments as :func:`.kernels_cpu.advance_cpu`).

    ``pos`` (3, N), ``status`` int8, ``ids`` uint64, ``nodes`` (nx, ny, nz, 4) and ``mask``
    are CuPy arrays; ``pos``, ``nodes`` and ``mask`` share one floating dtype.
    """
    dtype = np.dtype(pos.dtype)
    real = dtype.type
    kernel = _module().get_function(_NAMES[dtype])
    n = int(pos.shape[1])
    if n == 0:
        return
    nx, ny, nz = (int(v) for v in nodes.shape[:3])
    grid = ((n + block_size - 1) // block_size,)
    args = (pos, status, ids, np.int64(n), nodes, mask,
            np.int32(nx), np.int32(ny), np.int32(nz), np.int32(bool(use_mask)),
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
