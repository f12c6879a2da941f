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


def test_inverse_normal_cdf_is_accurate():
    """AS 241 against the erfc-based normal CDF: Phi(Phi^-1(p)) = p to round-off."""
    import math

    p = np.concatenate([np.logspace(-10, -1, 50), np.linspace(0.05, 0.95, 101),
                        1.0 - np.logspace(-10, -1, 50)])
    z = np.array([rng.inverse_normal_cdf(v) for v in p])
    back = np.array([0.5 * math.erfc(-v / math.sqrt(2.0)) for v in z])
    np.testing.assert_allclose(back, p, rtol=1e-13)


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
