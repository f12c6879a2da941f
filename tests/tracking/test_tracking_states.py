"""Particles with internal states (Liang, Busiello & De Los Rios) in the Brownian tracker.

Exact references, all independent of the kernel:

* two-state relaxation of the state fractions in an isothermal box,
  ``p(t) = p_eq + (p0 - p_eq) exp(-(k12 + k21) t)``, at ``(k12 + k21) dt`` = 0.01, 1 and 10
  (the jump process inside a step is exact for any k dt);
* the displacement moments of a stationary telegraph diffusion: ``<x^2> = 2 <D>_p t`` and
  ``<x^4> = 12 (<D>_p^2 t^2 + (D1 - D2)^2 Var tau_1)`` with the occupation-time variance
  ``Var tau_1 = 2 p1 p2 (t/lam - (1 - exp(-lam t))/lam^2)``, ``lam = k12 + k21`` — within
  one step (lam dt = 10) and across many (lam dt = 0.05); frozen states keep their own D;
* the closed Soret cell with fast switching: ``c_cold/c_hot = <D>_p(T_hot)/<D>_p(T_cold)``
  (DESIGN.md), histogram bin by bin against ``rho <D>_p(T(x)) = const``;
* counter-based random numbers: the same result however the steps are split into calls
  and the particles into batches.

Statistical assertions are within 4 standard errors.
"""

import math

import numpy as np
import pytest

from thermocfd.physics import BOLTZMANN, ConstantDiffusivity
from thermocfd.physics.internal_states import InternalState, InternalStateModel, Transition, two_state_model
from thermocfd.tracking import (GridFields, ParticleState, Tracker, TrackingConfig, internal_state_fractions,
                                run_tracking)
from thermocfd.tracking.fields import state_rate_parameters

T0 = 300.0
D_SLOW, D_FAST = 1.0e-12, 4.0e-12


def _model(total_rate: float, degeneracy: float = 7.0 / 3.0, transitions: bool = True) -> InternalStateModel:
    """Two states (E2 - E1 = 2 kT0, barrier 5 kT0 above state 1) whose rates at T0 sum to
    ``total_rate``; the degeneracy sets p_eq."""
    energy, barrier = 2.0 * BOLTZMANN * T0, 5.0 * BOLTZMANN * T0
    unit = two_state_model(energy, [ConstantDiffusivity(D_SLOW), ConstantDiffusivity(D_FAST)],
                           degeneracy_ratio=degeneracy, barrier=barrier, rate_prefactor=1.0)
    k = unit.rate_matrix(T0)
    model = two_state_model(energy, [ConstantDiffusivity(D_SLOW), ConstantDiffusivity(D_FAST)],
                            degeneracy_ratio=degeneracy, barrier=barrier,
                            rate_prefactor=total_rate / (k[0, 1] + k[1, 0]))
    if transitions:
        return model
    return InternalStateModel(model.states)


def _isothermal_box(model, half_width=200e-6):
    return GridFields.from_callables([-half_width] * 3, [half_width] * 3, (3, 3, 3), T0,
                                     model.mean_diffusivity)


def test_rate_parameters_reproduce_the_model_rates():
    """The kernel's scaled tables give the physics module's k_ij(T) and p_i(T)."""
    model = _model(2.0)
    rates = state_rate_parameters(model)
    for T in (280.0, 300.0, 350.0):
        k = rates.prefactor * np.exp(-rates.activation / T)
        np.testing.assert_allclose(k[:2, :2] * (rates.prefactor[:2, :2] > 0), model.rate_matrix(T), rtol=1e-13)
        w = np.exp(rates.log_weight[:2] - rates.level[:2] / T)
        np.testing.assert_allclose(w / w.sum(), model.populations(T), rtol=1e-13)
    assert list(rates.component[:2]) == [0, 0]
    assert list(state_rate_parameters(_model(1.0, transitions=False)).component[:2]) == [0, 1]


@pytest.mark.parametrize("k_dt", [0.01, 1.0, 10.0])
def test_state_fractions_relax_exactly(k_dt):
    model = _model(1.0)
    k = model.rate_matrix(T0)
    lam = k[0, 1] + k[1, 0]
    dt = k_dt / lam
    p_eq = model.populations(T0)[1]
    tracker = Tracker(_isothermal_box(model), dt=dt, backend="cpu", seed=11, internal_states=model)
    n = 40_000
    state = ParticleState.from_points(np.zeros((n, 3)))
    state.internal_state = np.zeros(n, dtype=np.int8)  # all in state 1: p0 = 0
    checkpoints = sorted({max(1, int(round(x / k_dt))) for x in (0.25, 0.5, 1.0)} | {1, 2})
    for steps in checkpoints:
        tracker.advance(state, steps - state.step)
        fraction, se = internal_state_fractions(state, 2)
        exact = p_eq * (1.0 - math.exp(-lam * state.time))
        se_exact = math.sqrt(exact * (1 - exact) / n)
        assert abs(fraction[1] - exact) < 4 * se_exact + 1e-12, (steps, fraction[1], exact)
    assert abs(se[1] - se_exact) < 0.05 * se_exact


def _occupation_variance(p1, p2, lam, t):
    return 2.0 * p1 * p2 * (t / lam - (1.0 - math.exp(-lam * t)) / lam**2)


@pytest.mark.parametrize("k_dt, steps", [(10.0, 1), (0.05, 40), (1000.0, 1)])
def test_displacement_moments_of_telegraph_diffusion(k_dt, steps):
    """Second and fourth moments of the displacement from the stationary state (states
    drawn from p_eq by the tracker). lam dt = 1000 runs the > MAX_JUMPS fallback."""
    model = _model(1.0)
    k = model.rate_matrix(T0)
    lam = k[0, 1] + k[1, 0]
    dt = k_dt / lam
    p1, p2 = model.populations(T0)
    mean_d = p1 * D_SLOW + p2 * D_FAST
    n = 150_000
    # box wide enough that no particle meets a wall (20 rms displacements)
    t = steps * dt
    fields = _isothermal_box(model, half_width=20 * math.sqrt(2 * D_FAST * t))
    tracker = Tracker(fields, dt=dt, backend="cpu", seed=12, internal_states=model)
    state = ParticleState.from_points(np.zeros((n, 3)))
    tracker.advance(state, steps)
    dx = state.positions  # started at the origin
    m2 = np.mean(dx**2, axis=0)
    m4 = np.mean(dx**4, axis=0)
    exact2 = 2 * mean_d * t
    exact4 = 12 * (mean_d**2 * t**2 + (D_FAST - D_SLOW) ** 2 * _occupation_variance(p1, p2, lam, t))
    assert abs(m2.mean() - exact2) < 4 * m2.std(ddof=1) / math.sqrt(n)
    assert abs(m4.mean() - exact4) < 4 * m4.std(ddof=1) / math.sqrt(n), (m4.mean() / exact4)
    if k_dt < 100:  # the occupation-time fluctuations are resolved: Gaussian and frozen limits excluded
        gaussian, frozen = 12 * mean_d**2 * t**2, 12 * (p1 * D_SLOW**2 + p2 * D_FAST**2) * t**2
        assert abs(m4.mean() - gaussian) > 8 * m4.std(ddof=1) / math.sqrt(n)
        assert abs(m4.mean() - frozen) > 8 * m4.std(ddof=1) / math.sqrt(n)


def test_frozen_states_keep_their_own_diffusivity():
    model = _model(1.0, transitions=False)
    dt, steps, n = 1.0, 10, 100_000
    tracker = Tracker(_isothermal_box(model), dt=dt, backend="cpu", seed=13, internal_states=model)
    state = ParticleState.from_points(np.zeros((n, 3)))
    tracker.advance(state, steps)
    initial = tracker.equilibrium_internal_states(ParticleState.from_points(np.zeros((n, 3))))
    np.testing.assert_array_equal(state.internal_state, initial)  # no transitions: no switching
    p_eq = model.populations(T0)
    for i, d in enumerate((D_SLOW, D_FAST)):
        sel = state.internal_state == i
        assert abs(sel.mean() - p_eq[i]) < 4 * math.sqrt(p_eq[i] * (1 - p_eq[i]) / n)
        per_particle = np.sum(state.positions[:, sel] ** 2, axis=0) / (6 * steps * dt)
        se = per_particle.std(ddof=1) / math.sqrt(per_particle.size)
        assert abs(per_particle.mean() - d) < 4 * se and abs(per_particle.mean() - d) < 0.02 * d


# --- the closed Soret cell -------------------------------------------------------------------
L, WIDTH = 100e-6, 20e-6
T_HOT, T_COLD = 330.0, 290.0
BINS = 16


def _cell_model():
    """Bound (E = 0, slow) and unbound (dE/k_B = 6000 K, fast, degenerate: p = 1/2 at 310 K)
    states, switching at (k12 + k21)(310 K) = 2500 D_fast / L^2: fast against diffusion across
    the cell. A fine 1D solve of the finite-rate two-state problem puts the exact wall-point
    ratio 1.1 % below the fast-switching limit (boundary layers of width sqrt(D/k) = L/50),
    the histogram bins within 0.3 % of it and the wall-extrapolated ratio 0.45 % below:
    all well inside this test's error bars."""
    d_slow, d_fast, level = 0.5e-12, 1.0e-12, 6000.0
    g = math.exp(level / 310.0)
    lam = 2500 * d_fast / L**2
    return two_state_model(level * BOLTZMANN, [ConstantDiffusivity(d_slow), ConstantDiffusivity(d_fast)],
                           degeneracy_ratio=g, rate_prefactor=0.5 * lam * g)


@pytest.fixture(scope="module")
def soret_cell():
    model = _cell_model()
    T_of_x = lambda x: T_HOT + (T_COLD - T_HOT) * np.asarray(x) / L
    fields = GridFields.from_callables([0, 0, 0], [L, WIDTH, WIDTH], (65, 2, 2), lambda x, y, z: T_of_x(x),
                                       model.mean_diffusivity)
    d_max = 1.0e-12
    d_min = min(model.mean_diffusivity(T_HOT), model.mean_diffusivity(T_COLD))
    config = TrackingConfig(n_particles=80_000, backend="cpu", seed=31, cell_axis=0, histogram_bins=BINS,
                            dt=(L / 16) ** 2 / (2 * d_max), duration=5.5 * L**2 / (math.pi**2 * d_min),
                            internal_states=model)
    return model, T_of_x, run_tracking(fields, config)


def test_soret_cell_ratio_is_the_mean_diffusivity_ratio(soret_cell):
    model, _, result = soret_cell
    s = result.summary
    exact = model.mean_diffusivity(T_HOT) / model.mean_diffusivity(T_COLD)
    assert exact > 1.4  # a strong effect: thermophobic through the fast, hot-populated state
    assert s["c_ratio_cold_hot_stderr"] < 0.03 * exact  # 2.7 % at 80k particles (wall extrapolation)
    assert abs(s["c_ratio_cold_hot"] - exact) < 4 * s["c_ratio_cold_hot_stderr"], (s["c_ratio_cold_hot"], exact)


def test_soret_cell_histogram_and_states_follow_local_equilibrium(soret_cell):
    model, T_of_x, result = soret_cell
    state = result.state
    sub = 64
    x = (np.arange(BINS * sub) + 0.5) * L / (BINS * sub)
    density = 1.0 / np.asarray(model.mean_diffusivity(T_of_x(x)))
    p = density.reshape(BINS, sub).mean(axis=1)
    p /= p.sum()
    counts, edges = np.histogram(state.positions[0], bins=BINS, range=(0.0, L))
    n = counts.sum()
    z = (counts - n * p) / np.sqrt(n * p * (1 - p))
    chi2 = np.sum((counts - n * p) ** 2 / (n * p))
    assert np.max(np.abs(z)) < 4.0, z
    assert chi2 < BINS - 1 + 4 * math.sqrt(2 * (BINS - 1)), chi2
    # rho <D>_p is flat: the fitted end-to-end change of ln(counts / expected) is 0 to
    # within 4 of its standard errors (about 1.2 % at 80k particles)
    centres = 0.5 * (edges[1:] + edges[:-1])
    coeff, cov = np.polyfit(centres / L - 0.5, np.log(counts / (n * p)), 1, w=np.sqrt(counts), cov="unscaled")
    assert math.sqrt(cov[0, 0]) < 0.015
    assert abs(coeff[0]) < 4 * math.sqrt(cov[0, 0]), (coeff[0], math.sqrt(cov[0, 0]))
    # fast switching: in every bin the state-2 fraction is the local p_2(T)
    which = np.clip((state.positions[0] / L * BINS).astype(int), 0, BINS - 1)
    for b in (0, BINS // 2, BINS - 1):
        sel = which == b
        f = state.internal_state[sel].mean()
        p2 = np.mean(model.populations(T_of_x(np.linspace(edges[b], edges[b + 1], 33)))[1])
        assert abs(f - p2) < 4 * math.sqrt(p2 * (1 - p2) / sel.sum()), (centres[b], f, p2)
    # per-state densities add up to the total
    np.testing.assert_allclose(result.state_densities.sum(axis=0), result.density, rtol=1e-12)
    assert result.summary["internal_state_counts"] == [int(c) for c in np.bincount(state.internal_state)]


# --- counter-based random numbers ------------------------------------------------------------
def _mixed_case():
    """Non-uniform T (rates vary), an obstacle, adsorbing and open walls, a force, 3 states."""
    Lx, W = 40e-6, 10e-6
    states = (InternalState("a", 0.0, ConstantDiffusivity(1e-12)),
              InternalState("b", 1.0 * BOLTZMANN * T0, ConstantDiffusivity(3e-12), 2.0),
              InternalState("c", 3.0 * BOLTZMANN * T0, ConstantDiffusivity(0.5e-12), 5.0))
    model = InternalStateModel(states, (Transition(0, 1, 4 * BOLTZMANN * T0, 0.5),
                                        Transition(1, 2, 5 * BOLTZMANN * T0, 2.0)))
    fields = GridFields.from_callables([0, 0, 0], [Lx, W, W], (17, 6, 5),
                                       lambda x, y, z: 290.0 + 1e6 * x, model.mean_diffusivity,
                                       velocity=lambda x, y, z: (1e-6 * np.sin(y / W), 0 * x, 0 * z),
                                       inside=lambda x, y, z: (x - 0.5 * Lx) ** 2 + (y - 0.5 * W) ** 2 > (0.2 * W) ** 2)
    kwargs = dict(dt=0.5, seed=41, walls={"x-": "adsorb", "z+": "open"}, sticking_probability=0.4,
                  external_force=[0, 0, -2e-15], internal_states=model)
    return Lx, W, fields, kwargs


def test_result_independent_of_launch_split_and_batching():
    Lx, W, fields, kwargs = _mixed_case()
    one = ParticleState.uniform(4000, [0, 0, 0], [Lx, W, W], seed=41)
    Tracker(fields, backend="cpu", **kwargs).advance(one, 60)

    split = ParticleState.uniform(4000, [0, 0, 0], [Lx, W, W], seed=41)
    tracker = Tracker(fields, backend="cpu", **kwargs)
    for steps in (1, 22, 37):
        tracker.advance(split, steps)

    batches = [ParticleState.uniform(count, [0, 0, 0], [Lx, W, W], seed=41, id_offset=offset)
               for count, offset in ((1500, 0), (2500, 1500))]
    for batch in batches:
        Tracker(fields, backend="cpu", **kwargs).advance(batch, 60)
    joined = batches[0].concatenate(batches[1])

    counts = one.counts()
    assert counts["adsorbed"] > 0 and counts["escaped"] > 0 and counts["in_domain"] > 0
    assert len(np.unique(one.internal_state)) == 3
    for other in (split, joined):
        np.testing.assert_array_equal(other.positions, one.positions)
        np.testing.assert_array_equal(other.internal_state, one.internal_state)
        np.testing.assert_array_equal(other.status, one.status)


def test_result_independent_of_the_particles_order_in_the_state():
    Lx, W, fields, kwargs = _mixed_case()
    state = ParticleState.uniform(3000, [0, 0, 0], [Lx, W, W], seed=41)
    reverse = np.arange(state.n)[::-1]
    reversed_ = ParticleState(positions=np.ascontiguousarray(state.positions[:, reverse]), ids=state.ids[reverse],
                              status=state.status[reverse].copy())
    for s in (state, reversed_):
        Tracker(fields, backend="cpu", **kwargs).advance(s, 40)
    np.testing.assert_array_equal(reversed_.positions, state.positions[:, reverse])
    np.testing.assert_array_equal(reversed_.internal_state, state.internal_state[reverse])
    np.testing.assert_array_equal(reversed_.status, state.status[reverse])


def test_grid_gradient_mode_is_refused_with_states():
    model = _model(1.0)
    with pytest.raises(ValueError, match="grad_d"):
        Tracker(_isothermal_box(model), dt=1.0, backend="cpu", grad_d="grid", internal_states=model)


def test_initial_states_follow_the_local_equilibrium():
    """States drawn at the start: the fraction in each slab is p_2(T) of that slab."""
    model = _cell_model()
    fields = GridFields.from_callables([0, 0, 0], [L, WIDTH, WIDTH], (33, 2, 2),
                                       lambda x, y, z: T_HOT + (T_COLD - T_HOT) * x / L, model.mean_diffusivity)
    tracker = Tracker(fields, dt=1.0, backend="cpu", seed=5, internal_states=model)
    state = ParticleState.uniform(100_000, [0, 0, 0], [L, WIDTH, WIDTH], seed=5)
    states = tracker.equilibrium_internal_states(state)
    slab = np.clip((state.positions[0] / L * 8).astype(int), 0, 7)
    for b in range(8):
        sel = slab == b
        x = np.linspace(b * L / 8, (b + 1) * L / 8, 65)
        p2 = np.mean(model.populations(T_HOT + (T_COLD - T_HOT) * x / L)[1])
        assert abs(states[sel].mean() - p2) < 4 * math.sqrt(p2 * (1 - p2) / sel.sum())


def test_suggested_time_step_uses_the_fastest_state():
    model = _model(1.0)
    fields = _isothermal_box(model)
    h = float(np.min(fields.spacing))
    from thermocfd.tracking import suggest_time_step

    assert math.isclose(suggest_time_step(fields, 0.5, model), (0.5 * h) ** 2 / (2 * D_FAST), rel_tol=1e-12)


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_gpu_state_kernel_reproduces_cpu(dtype):
    """On a GPU: float64 gives the numba kernel's trajectories and states; float32 the same
    state fractions and nearly the same positions (skipped without a usable GPU)."""
    pytest.importorskip("cupy")
    from thermocfd.tracking import gpu_available

    if not gpu_available():
        pytest.skip("no usable CUDA device")
    Lx, W, fields, kwargs = _mixed_case()
    cpu = ParticleState.uniform(20_000, [0, 0, 0], [Lx, W, W], seed=41)
    gpu = ParticleState.uniform(20_000, [0, 0, 0], [Lx, W, W], seed=41, dtype=dtype)
    Tracker(fields, backend="cpu", **kwargs).advance(cpu, 200)
    Tracker(fields, backend="gpu", dtype=dtype, steps_per_launch=64, **kwargs).advance(gpu, 200)
    host = gpu.to_host()
    if dtype == np.float64:
        np.testing.assert_array_equal(host.status, cpu.status)
        np.testing.assert_array_equal(host.internal_state, cpu.internal_state)
        np.testing.assert_allclose(host.positions, cpu.positions, rtol=0, atol=1e-12 * Lx)
    else:
        same = (host.status == cpu.status) & (host.internal_state == cpu.internal_state)
        assert same.mean() > 0.95
        assert np.median(np.abs(host.positions[:, same] - cpu.positions[:, same])) < 1e-5 * Lx


def test_resumed_run_keeps_the_internal_states(tmp_path):
    """A run resumed from a mid-run checkpoint ends exactly where the uninterrupted run does."""
    import shutil

    from thermocfd import checkpoint

    Lx, W, fields, kwargs = _mixed_case()
    config = TrackingConfig(n_particles=2000, backend="cpu", n_steps=30, dt=kwargs["dt"], seed=kwargs["seed"],
                            walls=kwargs["walls"], sticking_probability=kwargs["sticking_probability"],
                            external_force=kwargs["external_force"], internal_states=kwargs["internal_states"])
    straight = run_tracking(fields, config)
    with checkpoint.session(checkpoint.Checkpoints(tmp_path, every_steps=10, interval_s=1e9)):
        run_tracking(fields, config)
    saved = sorted((tmp_path / checkpoint.DIRECTORY).iterdir())
    shutil.rmtree(saved[-1])  # keep the checkpoint at step 20
    with checkpoint.session(checkpoint.Checkpoints(tmp_path, resume=True, interval_s=1e9)) as session:
        assert session.resume_from is not None
        resumed = run_tracking(fields, config)
    np.testing.assert_array_equal(resumed.state.internal_state, straight.state.internal_state)
    np.testing.assert_array_equal(resumed.state.positions, straight.state.positions)
    assert resumed.summary["internal_state_counts"] == straight.summary["internal_state_counts"]


def test_fields_with_a_soret_law_are_flagged():
    """The model's fast-switching S_T on the fields would be counted twice."""
    model = _cell_model()
    fields = GridFields.from_callables([0, 0, 0], [L, WIDTH, WIDTH], (5, 2, 2),
                                       lambda x, y, z: T_HOT + (T_COLD - T_HOT) * x / L, model.mean_diffusivity, model)
    with pytest.warns(RuntimeWarning, match="D_T"):
        Tracker(fields, dt=1.0, backend="cpu", internal_states=model)
