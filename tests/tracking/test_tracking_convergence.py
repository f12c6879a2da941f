"""Time-step convergence (LEoPart-X style: assert the observed order).

Ornstein-Uhlenbeck drift ``u = -k x`` (reproduced exactly by trilinear interpolation),
constant D, walls far away, all particles from x0. Exact moments:
``E[X_t] = x0 e^{-kt}``, ``E[X_t^2] = x0^2 e^{-2kt} + (D/k)(1 - e^{-2kt})``.
Euler-Maruyama is weakly first order; Heun on the drift is second order for the
deterministic part (checked with D = 0).
"""

import numpy as np

from thermocfd.tracking import GridFields, ParticleState, Tracker

K, X0, T_END, HALF = 1.0, 1.0, 1.0, 4.0  # nondimensional: the kernels are unit-agnostic


def _moments(n_steps, d, scheme, n_particles, seed=31):
    fields = GridFields.from_callables([-HALF] * 3, [HALF] * 3, (9, 3, 3), 1.0, d,
                                       velocity=lambda x, y, z: (-K * x, 0 * y, 0 * z))
    tracker = Tracker(fields, dt=T_END / n_steps, backend="cpu", scheme=scheme, seed=seed)
    state = ParticleState.from_points(np.tile([X0, 0.0, 0.0], (n_particles, 1)))
    report = tracker.advance(state, n_steps)
    assert report.counts["in_domain"] == n_particles
    x = state.positions[0]
    n = x.size
    return (x.mean(), x.std() / np.sqrt(n)), ((x * x).mean(), (x * x).std() / np.sqrt(n))


def _order(dts, errors):
    return np.polyfit(np.log(dts), np.log(errors), 1)[0]


def test_euler_maruyama_weak_order_one():
    d = 0.0025
    decay = np.exp(-K * T_END)
    exact_mean = X0 * decay
    exact_m2 = X0**2 * decay**2 + d / K * (1 - decay**2)
    steps = np.array([8, 16, 32, 64])
    err_mean, err_m2 = [], []
    for n in steps:
        (m1, se1), (m2, se2) = _moments(n, d, "euler", 100_000)
        err_mean.append(abs(m1 - exact_mean))
        err_m2.append(abs(m2 - exact_m2))
        # the statistical error must not swamp the discretisation error
        assert err_mean[-1] > 10 * se1 and err_m2[-1] > 10 * se2
    dts = T_END / steps
    p_mean, p_m2 = _order(dts, err_mean), _order(dts, err_m2)
    assert 0.9 < p_mean < 1.15, p_mean
    assert 0.9 < p_m2 < 1.15, p_m2


def test_heun_drift_is_second_order():
    steps = np.array([4, 8, 16, 32])
    exact = X0 * np.exp(-K * T_END)
    err_heun = [abs(_moments(n, 0.0, "heun", 8)[0][0] - exact) for n in steps]
    err_euler = [abs(_moments(n, 0.0, "euler", 8)[0][0] - exact) for n in steps]
    dts = T_END / steps
    assert _order(dts, err_heun) > 1.9
    assert 0.9 < _order(dts, err_euler) < 1.15
    assert err_heun[-1] < 0.05 * err_euler[-1]
