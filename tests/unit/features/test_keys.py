from __future__ import annotations

import math

import pytest

from connector.features.keys import (
    MAX_AGE,
    NEW_WINDOWS,
    SURPRISE_STEP,
    USUAL_ALPHA,
    KeyState,
    key_value,
    surprise,
)


def run(op, values, novel=False):
    """key_value over a key's successive windows (each a first emission)."""
    st = KeyState(0.0, 0.0, {})
    return [
        key_value(op, "n", v, dict(st.usual), st, age, True, novel)
        for age, v in enumerate(values)
    ], st


def test_surprise_is_zero_as_usual_and_signed():
    assert surprise(50.0, 50.0) == 0.0
    assert surprise(80.0, 50.0) > 0 > surprise(20.0, 50.0)
    assert surprise(0.0, 50.0) == pytest.approx(-10.0)  # sqrt(2 * 50)


def test_surprise_is_in_standard_deviations_whatever_the_volume():
    # the same relative drop is much more news for a busy pair
    assert surprise(5.0, 10.0) == pytest.approx(-1.75, abs=0.01)
    assert surprise(500.0, 1000.0) == pytest.approx(-17.5, abs=0.1)
    # Poisson noise: one standard deviation above the mean scores about 1
    assert surprise(100.0 + 10.0, 100.0) == pytest.approx(0.98, abs=0.02)


def test_a_usual_count_of_zero_is_not_impossible():
    assert math.isfinite(surprise(3.0, 0.0)) and surprise(3.0, 0.0) > 2.0
    assert surprise(0.0, 0.0) == pytest.approx(-1.0)


def test_key_surprise_baseline_comes_from_the_second_window():
    got, st = run("key_surprise", [3.0, 100.0, 100.0, 110.0])
    assert got[:3] == [0.0, 0.0, 0.0]  # a partial first window is not the usual
    assert got[3] == pytest.approx(surprise(110.0, 100.0))
    assert st.usual["surprise:n"] == pytest.approx(101.0)


def test_key_surprise_baseline_moves_a_bounded_step_per_window():
    got, st = run("key_surprise", [100.0, 100.0, 0.0, 0.0, 0.0])
    usual = 100.0
    for _ in range(3):  # at most SURPRISE_STEP standard deviations, not 10 % of 100 a window
        usual -= USUAL_ALPHA * SURPRISE_STEP * math.sqrt(usual + 1.0)
    assert st.usual["surprise:n"] == pytest.approx(usual) and usual > 90.0
    assert got[2] == pytest.approx(-math.sqrt(200.0)) and got[4] < -13.0


def test_key_ratio_baseline_is_an_ewma_of_the_value():
    got, st = run("key_ratio", [10.0, 10.0, 2.0])
    assert got[2] == pytest.approx(math.log(3.0 / 11.0))
    assert st.usual["n"] == pytest.approx(9.2)


def test_a_late_update_does_not_move_the_baseline_again():
    st = KeyState(0.0, 0.0, {})
    for age, v in enumerate([50.0, 50.0, 50.0]):
        key_value("key_surprise", "n", v, dict(st.usual), st, age, True, False)
    frozen = dict(st.usual)
    first = key_value("key_surprise", "n", 20.0, frozen, st, 3, True, False)
    moved = dict(st.usual)
    again = key_value("key_surprise", "n", 25.0, frozen, st, 3, False, False)
    assert st.usual == moved and again > first  # compared with the same baseline


def test_key_novelty_fades_for_keys_that_appear_later_only():
    assert [key_value("key_novelty", "", 0.0, {}, None, age, True, True) for age in (0, 5)] == [
        1.0,
        0.5,
    ]
    assert key_value("key_novelty", "", 0.0, {}, None, NEW_WINDOWS + 3, True, True) == 0.0
    assert key_value("key_novelty", "", 0.0, {}, None, 0, True, False) == 0.0


def test_key_age_is_capped():
    assert key_value("key_age", "", 0.0, {}, None, 7, True, False) == 7.0
    assert key_value("key_age", "", 0.0, {}, None, MAX_AGE + 9, True, False) == float(MAX_AGE)


def test_key_state_round_trips_and_reads_older_snapshots():
    st = KeyState(60.0, 120.0, {"src": "a"}, 3, {"n": 4.0}, 2)
    assert KeyState.from_list(st.to_list()) == st
    old = KeyState.from_list([60.0, 120.0, {"src": "a"}, 3, {"n": 4.0}])  # before `talked`
    assert old.talked == 3


def test_key_scaled_surprise_judges_bunched_counts_in_the_keys_own_spread():
    import random

    rng = random.Random(4)
    # platoons: 0-3 bunches of about 10 vehicles; mean 15, variance far above the mean
    bunched = [sum(rng.choice((8, 10, 12)) for _ in range(rng.choice((0, 1, 1, 2, 2, 3))))
               for _ in range(400)]
    raw, _ = run("key_surprise", bunched)
    scaled, st = run("key_scaled_surprise", bunched)
    beyond = lambda xs: sum(abs(x) > 3.5 for x in xs[100:])  # noqa: E731
    assert beyond(raw) > 60 and beyond(scaled) < 8  # Poisson deviance flags bunching
    assert st.usual["spread:n"] > 4.0


def test_key_evidence_builds_over_consecutive_windows():
    # issue 18 behaviour 3: a silent quiet key (usual 3 per window) is -2.45 every window by
    # itself; the evidence keeps building while it lasts and fades once the key is back
    values = [3.0] * 30 + [0.0] * 4 + [3.0] * 6
    dev, st = run("key_scaled_surprise", values)
    assert all(-2.5 < d < -1.5 for d in dev[30:34])  # no single window beyond -2.5
    acc, _ = run("key_evidence", dev)
    assert acc[30] > acc[31] > acc[32] > acc[33] and acc[33] < -3.5
    assert acc[-1] > -1.0


def test_key_scaled_surprise_baseline_holds_while_the_key_is_silent():
    st = KeyState(0.0, 0.0, {})
    for age in range(30):
        key_value("key_scaled_surprise", "n", 20.0, dict(st.usual), st, age, True, False)
    usual = dict(st.usual)
    for age in range(30, 150):  # a 20-minute silence of filled windows
        z = key_value("key_scaled_surprise", "n", 0.0, dict(st.usual), st, age, True, False, True)
    assert st.usual == usual and z < -5.0  # still as far from usual; its return is no surge
    back = key_value("key_scaled_surprise", "n", 20.0, dict(st.usual), st, 150, True, False)
    assert abs(back) < 0.5


def test_key_scaled_surprise_follows_a_ramp_and_in_the_end_a_lasting_change():
    # issue 18 behaviour 2: the usual follows a rush-hour ramp (x2.5 over an hour), so a model
    # that does not learn flagged windows is not frozen by it; a lasting change is followed
    # too, once the bounded hold (HOLD_WINDOWS) is over
    import random

    from connector.features.keys import HOLD_WINDOWS

    rng = random.Random(5)

    def poisson(mean):
        return float(sum(1 for _ in range(int(mean * 4)) if rng.random() < 0.25))

    ramp = [poisson(30.0 * (1.0 + 1.5 * min(1.0, i / 360))) for i in range(460)]
    drop = [poisson(75.0 * 0.4) for _ in range(300)]
    z, _ = run("key_scaled_surprise", ramp + drop)
    assert sum(abs(v) > 3.5 for v in z[30:460]) <= 4  # <= 1 % of the ramp's windows
    assert all(v < -3.0 for v in z[460:470])  # the drop is news ...
    late = z[460 + HOLD_WINDOWS + 80:]
    assert sum(abs(v) > 2.5 for v in late) <= 3  # ... and in the end the new normal


def test_a_silence_is_judged_as_a_whole_not_window_by_window():
    # issue 18 behaviours 3-4: a quiet station (3 a window) that stops is -2.45 per window by
    # itself; judged as one silence it is beyond -3.5 by its second window
    st = KeyState(0.0, 0.0, {})
    for age in range(40):
        key_value("key_scaled_surprise", "n", 3.0, dict(st.usual), st, age, True, False)
    z = [key_value("key_scaled_surprise", "n", 0.0, dict(st.usual), st, 40 + n, True, False,
                   float(n)) for n in (1, 2, 3)]
    assert z[0] == pytest.approx(-math.sqrt(6.0)) and z[1] < -3.4 and z[2] < -4.2
