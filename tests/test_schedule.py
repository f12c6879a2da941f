"""Time-dependent source schedules and the time grids that land on their breakpoints."""

import math

import numpy as np
import pytest

from thermocfd.physics import Schedule, step_times
from thermocfd.physics.schedule import bdf2_coefficients, graded_step_times

MST = [[0.0, "off"], [5.0, "on"], [35.0, "off"]]


def test_steps_on_and_off_with_right_and_left_values():
    s = Schedule.from_entries(MST)
    assert [s.value(t) for t in (0.0, 4.999, 5.0, 20.0, 34.999, 35.0, 1e3)] == [0, 0, 1, 1, 1, 0, 0]
    assert s.value(5.0, side="left") == 0.0 and s.value(35.0, side="left") == 1.0
    assert s.value(20.0, side="left") == 1.0  # away from a jump both sides agree
    assert s.breakpoints(40.0) == [5.0, 35.0]
    assert s.breakpoints(30.0) == [5.0]  # only those inside (t_start, t_end)
    assert s.breakpoints(40.0, t_start=5.0) == [35.0]


def test_entry_ramp_overrides_the_default_ramp_and_is_linear():
    s = Schedule.from_entries([[0.0, "off"], [5.0, "on", {"ramp": 0.1}], [35.0, 0.5]], ramp=2.0)
    assert s.ramps == (0.0, 0.1, 2.0)
    assert s.value(5.025) == pytest.approx(0.25, rel=1e-12)
    assert s.value(5.1) == 1.0
    assert s.value(36.0) == pytest.approx(0.75, rel=1e-12)
    assert s.value(37.0) == 0.5
    assert s.value(5.0, side="left") == s.value(5.0) == 0.0  # a ramp is continuous
    assert s.breakpoints(100.0) == [5.0, 5.1, 35.0, 37.0]


def test_levels_numbers_booleans_and_a_late_first_entry():
    s = Schedule.from_entries([[2.0, 300.0], [4.0, 310.5], [6.0, True], [7.0, " OFF "]])
    assert s.value(0.0) == 300.0  # before the first entry, its level holds
    assert s.value(5.0) == 310.5 and s.value(6.5) == 1.0 and s.value(8.0) == 0.0
    assert s.breakpoints(10.0) == [4.0, 6.0, 7.0]  # t = 2 is no change


def test_unchanged_levels_are_not_breakpoints():
    s = Schedule.from_entries([[0.0, "on"], [3.0, 1], [4.0, "on", {"ramp": 0.5}]])
    assert s.breakpoints(10.0) == []
    assert s.value(4.2) == 1.0


def test_constant():
    assert Schedule.constant().value(123.0) == 1.0
    assert Schedule.constant("off").value(0.0) == 0.0
    assert Schedule.constant(0.25).breakpoints(10.0) == []


@pytest.mark.parametrize("entries, fragment", [
    ([], "non-empty list"),
    ("on", "non-empty list"),
    ([[0.0, "off"], [0.0, "on"]], "entry 1 ([0.0, 'on']): times must increase"),
    ([[0.0, "off"], [5.0, "on"], [4.0, "off"]], "entry 2 ([4.0, 'off']): times must increase"),
    ([[0.0, "of"]], "entry 0 ([0.0, 'of']): level 'of' is not 'on', 'off' or a number"),
    ([[0.0, math.inf]], "level inf is not finite"),
    ([[0.0, None]], "level None"),
    ([[-1.0, "on"]], ">= 0"),
    ([["5 s", "on"]], "time '5 s' is not a number"),
    ([[math.nan, "on"]], "time must be finite"),
    ([[0.0]], "expected [time, level]"),
    ([5.0], "expected [time, level]"),
    ([[0.0, "on", {"ramp": 1.0}]], "first entry has no earlier level"),
    ([[0.0, "off"], [1.0, "on", {"ramp": 2.0}], [2.0, "off"]], "entry 1 ([1.0, 'on', {'ramp': 2.0}]): its ramp"),
    ([[0.0, "off"], [1.0, "on", {"ramp": -1.0}]], "ramp -1.0 s must be finite and >= 0"),
    ([[0.0, "off"], [1.0, "on", {"rise": 1.0}]], "unknown option(s) 'rise'"),
    ([[0.0, "off"], [1.0, "on", 0.1]], "third item must be a table"),
])
def test_bad_entries_are_named(entries, fragment):
    with pytest.raises(ValueError) as info:
        Schedule.from_entries(entries)
    assert fragment in str(info.value)


def test_default_ramp_too_long_names_the_entry():
    with pytest.raises(ValueError, match=r"entry 1 \(\[5.0, 'on'\]\): its ramp of 40.0 s"):
        Schedule.from_entries(MST, ramp=40.0)
    with pytest.raises(ValueError, match="default ramp"):
        Schedule.from_entries(MST, ramp=-1.0)


def test_step_times_hit_every_breakpoint_with_bounded_uniform_steps():
    s = Schedule.from_entries([[0.0, "off"], [5.0, "on", {"ramp": 0.1}], [35.0, "off"]])
    times = step_times(40.0, 0.7, s.breakpoints(40.0))
    assert times[0] == 0.0 and times[-1] == 40.0
    steps = np.diff(times)
    assert np.all(steps > 0) and steps.max() <= 0.7 * (1 + 1e-12)
    for point in (5.0, 5.1, 35.0):
        assert point in times  # exactly, not approximately
    # uniform within each interval, and no more steps than needed
    for a, b in ((0.0, 5.0), (5.1, 35.0)):
        inside = np.diff(times[(times >= a) & (times <= b)])
        assert np.allclose(inside, inside[0], rtol=1e-12)
        assert inside.size == math.ceil((b - a) / 0.7)
    assert np.count_nonzero((times > 5.0) & (times < 5.1)) == 0  # the 0.1 s ramp is one step


def test_step_times_edge_cases():
    assert np.array_equal(step_times(1.0, 0.25), [0.0, 0.25, 0.5, 0.75, 1.0])  # k * dt_max: k steps
    assert np.array_equal(step_times(1.0, 5.0, [0.5, 0.5, -1.0, 2.0, 1.0]), [0.0, 0.5, 1.0])
    near = step_times(1.0, 1.0, [1.0 - 1e-15, 0.3 + 1e-17, 0.3])
    assert np.array_equal(near, [0.0, 0.3, 1.0])  # no sliver steps from round-off
    assert np.array_equal(step_times(3.0, 1.0, [2.5], t_start=2.0), [2.0, 2.5, 3.0])
    for args in ((1.0, 0.0), (1.0, -0.1), (0.0, 0.1), (1.0, math.nan), (math.inf, 0.1)):
        with pytest.raises(ValueError):
            step_times(*args)


@pytest.mark.parametrize("ratio", [0.4, 1.0, 1.5, 2.2])
def test_variable_step_bdf2_differentiates_quadratics_exactly(ratio):
    h_previous = 0.3
    h = ratio * h_previous
    t = np.array([1.0 - h_previous - h, 1.0 - h, 1.0])  # t_{n-1}, t_n, t_{n+1}

    def y(s):
        return 2.0 - 3.0 * s + 5.0 * s**2

    a0, a1, a2 = bdf2_coefficients(ratio)
    assert (a0 * y(t[2]) + a1 * y(t[1]) + a2 * y(t[0])) / h == pytest.approx(-3.0 + 10.0 * t[2], rel=1e-12)
    assert bdf2_coefficients(1.0) == pytest.approx((1.5, -2.0, 0.5))


def test_graded_steps_start_small_after_each_switch_and_keep_every_level():
    regular = step_times(30.0, 0.1, [2.0, 5.0, 22.0])
    graded = graded_step_times(regular, [0.0, 2.0, 22.0], 2e-4, keep=[5.0])
    steps = np.diff(graded)
    for level in (0.0, 2.0, 5.0, 22.0, 30.0):
        assert np.min(np.abs(graded - level)) == 0.0, level
    for switch in (0.0, 2.0, 22.0):
        i = int(np.flatnonzero(graded == switch)[0])
        assert steps[i] == pytest.approx(2e-4)
    assert steps.max() <= 0.1 + 1e-12 and (steps[1:] / steps[:-1]).max() <= 1.5 + 1e-9
    assert 0 < len(graded) - len(regular) < 3 * 16  # about log(0.1 / 2e-4) / log(1.5) per switch
    assert np.allclose(graded_step_times(regular, [0.0], 0.1), regular, rtol=0, atol=1e-12)  # nothing to grade
    with pytest.raises(ValueError, match="growth"):
        graded_step_times(regular, [0.0], 1e-3, growth=3.0)
