"""Counter-based random numbers: Philox4x32-10 known answers and batch independence."""

import numpy as np
import pytest

from thermocfd.tracking import rng
from thermocfd.tracking.state import ParticleState

# Random123 tests/kat_vectors, "philox4x32 10" lines: counter (4 words), key (2), output (4).
KAT = [
    ("00000000 00000000 00000000 00000000", "00000000 00000000", "6627e8d5 e169c58d bc57ac4c 9b00dbd8"),
    ("ffffffff ffffffff ffffffff ffffffff", "ffffffff ffffffff", "408f276d 41c83b0e a20bc7c6 6d5451fd"),
    ("243f6a88 85a308d3 13198a2e 03707344", "a4093822 299f31d0", "d16cfe09 94fdcceb 5001e420 24126ea1"),
]


def _words(text):
    return np.array([int(w, 16) for w in text.split()], dtype=np.uint64)


@pytest.mark.parametrize("counter, key, expected", KAT)
def test_philox_known_answers(counter, key, expected):
    out = rng.philox_block(_words(counter), _words(key))
    assert [int(v) for v in out] == [int(w, 16) for w in expected.split()]


def test_normals_are_standard_and_independent():
    n = 200_000
    z = rng.normals(np.arange(n), step=7, seed=12345)
    se = 1.0 / np.sqrt(n)
    assert np.all(np.abs(z.mean(axis=1)) < 4 * se)
    assert np.all(np.abs(z.var(axis=1) - 1.0) < 4 * np.sqrt(2.0) * se)
    corr = np.corrcoef(z)
    assert np.max(np.abs(corr - np.eye(3))) < 4 * se
    # The tails: P(|z| > 3) = 2.70e-3
    tail = np.mean(np.abs(z) > 3.0)
    assert abs(tail - 2.6998e-3) < 4 * np.sqrt(2.6998e-3 / z.size)
    # Another step is another, uncorrelated stream.
    z2 = rng.normals(np.arange(n), step=8, seed=12345)
    assert abs(np.corrcoef(z[0], z2[0])[0, 1]) < 4 * se


def test_ziggurat_tables_have_equal_layer_areas():
    """Every layer of the 128-layer ziggurat has area V under f = exp(-x^2/2) (the base
    layer: rectangle plus tail), and the top layer closes at f = 1."""
    from scipy.special import erfc

    x, f = rng.ZIGGURAT_X, np.exp(-0.5 * rng.ZIGGURAT_X ** 2)
    tail = np.sqrt(np.pi / 2) * erfc(rng.ZIGGURAT_R / np.sqrt(2))
    areas = [rng.ZIGGURAT_R * f[1] + tail] + [x[i] * (f[i + 1] - f[i]) for i in range(1, 127)]
    areas.append(x[127] * (1.0 - f[127]))
    np.testing.assert_allclose(areas, rng.ZIGGURAT_V, rtol=1e-8)  # R and V have 13 digits
    assert x[128] == 0.0 and np.all(np.diff(x[1:]) < 0)


def test_ziggurat_normals_match_the_normal_distribution():
    """KS against N(0, 1) on 3e6 variates, the first four moments, and the slow paths:
    the wedges (fast path missed) and the tail beyond R, where Marsaglia's method runs."""
    from scipy import stats

    z = rng.normals(np.arange(1_000_000), step=3, seed=2024).ravel()
    n = z.size
    assert stats.kstest(z, "norm").pvalue > 1e-3
    se = 1.0 / np.sqrt(n)
    assert abs(z.mean()) < 4 * se
    assert abs(z.var() - 1.0) < 4 * np.sqrt(2.0) * se
    assert abs(stats.skew(z)) < 4 * np.sqrt(6.0) * se
    assert abs(stats.kurtosis(z)) < 4 * np.sqrt(24.0) * se
    for threshold in (rng.ZIGGURAT_R, 4.0, 4.5):  # the tail itself: P(|z| > t)
        p = 2 * stats.norm.sf(threshold)
        assert abs(np.mean(np.abs(z) > threshold) - p) < 4 * np.sqrt(p / n)
    tail = z[z > rng.ZIGGURAT_R]  # conditional law beyond R: KS against the truncated normal
    cdf = lambda t: 1.0 - stats.norm.sf(t) / stats.norm.sf(rng.ZIGGURAT_R)  # noqa: E731
    assert stats.kstest(tail, cdf).pvalue > 1e-3


def test_random_numbers_depend_only_on_seed_id_step():
    ids = np.arange(1000, dtype=np.uint64) + np.uint64(2**33)  # ids above 32 bits too
    whole = rng.normals(ids, step=3, seed=99)
    part = rng.normals(ids[500:], step=3, seed=99)
    np.testing.assert_array_equal(whole[:, 500:], part)
    assert not np.allclose(rng.normals(ids, step=3, seed=100), whole)


def test_uniform_initial_state_is_batch_independent():
    lower, upper = [0.0, -1.0, 2.0], [1.0, 1.0, 3.0]
    whole = ParticleState.uniform(1000, lower, upper, seed=5)
    a = ParticleState.uniform(400, lower, upper, seed=5)
    b = ParticleState.uniform(600, lower, upper, seed=5, id_offset=400)
    np.testing.assert_array_equal(a.concatenate(b).positions, whole.positions)
    points = whole.points()
    assert np.all(points >= lower) and np.all(points <= upper)
