"""Outputs: concentration on the grid, trajectories as VTP, backend information."""

import numpy as np
import pytest

from thermocfd.tracking import (GridFields, ParticleState, TrajectoryRecorder, Tracker,
                                backend_info, concentration_on_grid, histogram, select_backend)

L = 10e-6


def _tracker_and_state(n=2000):
    fields = GridFields.from_callables([0, 0, 0], [L, L, L], (6, 5, 4), 300.0, 1e-12)
    return fields, Tracker(fields, dt=0.5, backend="cpu", seed=41), \
        ParticleState.uniform(n, [0, 0, 0], [L, L, L], seed=41)


def test_concentration_on_grid_conserves_particles():
    fields, tracker, state = _tracker_and_state()
    tracker.advance(state, 5)
    density = concentration_on_grid(state, fields.origin, fields.spacing, fields.shape)
    volume = np.full(fields.shape, np.prod(fields.spacing))
    for a in range(3):
        for end in (0, -1):
            index = [slice(None)] * 3
            index[a] = end
            volume[tuple(index)] *= 0.5
    assert np.sum(density * volume) == pytest.approx(state.n, rel=1e-12)
    counts = histogram(state, fields.lower, fields.upper, (4, 4, 4))
    assert counts.sum() == state.n


def test_trajectories_written_as_vtp(tmp_path):
    pyvista = pytest.importorskip("pyvista")
    _, tracker, state = _tracker_and_state(500)
    recorder = TrajectoryRecorder(every=5, max_particles=50)
    tracker.advance(state, 20, recorder=recorder)
    assert len(recorder.frames) == 5  # steps 0, 5, 10, 15, 20
    path = recorder.write_vtp(tmp_path / "trajectories.vtp")
    poly = pyvista.read(str(path))
    assert poly.n_points == 50 * 5 and poly.n_lines == 50
    assert set(poly.point_data.keys()) >= {"time", "id"}
    np.testing.assert_allclose(recorder.frames[-1], state.points()[::10][:50])


def test_backend_selection_and_info():
    info = backend_info()
    assert info["cpu"]["available"] is True
    assert info["selected"] in ("cpu", "gpu")
    assert select_backend("cpu") == "cpu"
    assert select_backend("auto") == info["selected"]
    if not info["gpu"]["available"]:
        assert info["gpu"]["reason"]
        with pytest.raises(RuntimeError, match="gpu"):
            select_backend("gpu")
    with pytest.raises(ValueError):
        select_backend("tpu")


def test_invalid_inputs_are_rejected():
    fields, _, _ = _tracker_and_state()
    with pytest.raises(ValueError, match="time step"):
        Tracker(fields, dt=0.0, backend="cpu")
    with pytest.raises(ValueError, match="wall kind"):
        Tracker(fields, dt=1.0, backend="cpu", walls="sticky")
    with pytest.raises(ValueError, match="inside the field grid"):
        Tracker(fields, dt=1.0, backend="cpu", box_upper=[2 * L, L, L])
    with pytest.raises(ValueError, match="diffusivity"):
        GridFields.from_callables([0, 0, 0], [L, L, L], (3, 3, 3), 300.0, -1.0)


def test_suggested_time_step_resolves_the_grid():
    from thermocfd.tracking import suggest_time_step

    fields = GridFields.from_callables([0, 0, 0], [L, L, L], (11, 11, 11), 300.0, 1e-12,
                                       velocity=lambda x, y, z: (1e-3 + 0 * x, 0 * y, 0 * z))
    dt = suggest_time_step(fields, fraction=0.5)
    h = L / 10
    assert dt == pytest.approx(min((0.5 * h) ** 2 / 2e-12, 0.5 * h / 1e-3))


def test_local_batches_cover_all_ids_once():
    from thermocfd.tracking import local_batch

    for size in (1, 2, 3, 7):
        parts = [local_batch(100, rank, size) for rank in range(size)]
        ids = np.concatenate([np.arange(offset, offset + count) for count, offset in parts])
        np.testing.assert_array_equal(ids, np.arange(100))
