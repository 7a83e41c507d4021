"""The out-of-sample protocol: headline rows pinned on the shared data, plus its mechanics.

The headline run is the product default at forest seeds 42 and 7 (two of the protocol's four,
to stay well under three minutes on the shared 2-core box) on the rows ``cross``, ``all``,
``cut1000`` and ``skab``, computed afresh in a temporary cache. The pins are the figures
measured for exactly that reduced set; a figure more than 3 points (0.03 for F1 and AUC)
worse than its pin fails. When the default changes, re-measure exactly this set with
``outlier-connector evaluate --protocol --seeds 42 7 --rows cross all cut1000 skab`` and
raise the pins (lowering one is accepting a regression: say so in the commit).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import detectors
from detectors import defaults
from evaluation import protocol
from evaluation.corpus import DEFAULT_NAB, load_corpus
from evaluation.runner import score_series
from evaluation.skab import DEFAULT_SKAB

SEEDS = (42, 7)
ROWS = ("cross", "all", "cut1000", "skab")
#: Measured 2026-12-02 for SEEDS and ROWS (mean over the two seeds), standard / low-FP / low-FN,
#: for the default of a918237 (standardised RCF 15 x 1024 d3000 + POT_CALIBRATION with
#: ``tail.young``). History of these pins, so a lowered pin is never silent:
#: - 2b97722 (15 x 1024 d3000 + TAIL_CALIBRATION): own flag on all files 43.0 / 41.9 / 44.7,
#:   tuned 68.0 / 61.8 / 72.9; AWS -> RKC tuned 62.4 / 54.9 / 67.9; first 1,000 rows own flag
#:   0.0 / 0.0 / 0.0 (it never fired there).
#: - c0d0ddf (standardised inputs + POT_CALIBRATION): own flag +20-30 on every line; low-FP
#:   lost 3.5 on AWS -> RKC tuned, 3.9 on all files tuned, 28.2 on first 1,000 rows own flag.
#: - a918237 (tail.young): RKC -> AWS tuned 69.6 / 59.3 / 75.3 -> 66.6 / 56.9 / 72.2 (-3.1 on
#:   low-FN), own flag on AWS -3.0 to -2.4; first 1,000 rows own flag 16.7 / -28.2 / 33.4 ->
#:   16.0 / -13.3 / 27.4 (+14.9 low-FP, -6.0 low-FN); all files -1.0 to -1.7.
NAB_PINS = {
    ("NAB RKC -> AWS", "own flag on AWS"): (67.0, 56.0, 72.4),
    ("NAB RKC -> AWS", "tuned on RKC, scored on AWS"): (66.6, 56.9, 72.2),
    ("NAB AWS -> RKC", "own flag on RKC"): (64.3, 51.8, 70.9),
    ("NAB AWS -> RKC", "tuned on AWS, scored on RKC"): (63.7, 51.2, 69.7),
    ("NAB all files", "own flag"): (66.0, 54.4, 71.9),
    ("NAB all files", "tuned (in-sample)"): (67.9, 56.7, 73.8),
    ("NAB first 1,000 rows", "own flag"): (16.0, -13.3, 27.4),
}
#: SKAB valve1, own flag on the test rows: F1 and AUC (higher is better), FAR % (lower).
SKAB_PINS = {"F1": 0.00, "AUC": 0.64, "FAR": 0.0}


@pytest.fixture(scope="module")
def headline(tmp_path_factory):
    cache = tmp_path_factory.mktemp("protocol-cache")
    config = protocol.resolve_config("default")
    return protocol.run_protocol([config], DEFAULT_NAB, DEFAULT_SKAB, seeds=SEEDS, rows=ROWS,
                                 workers=2, cache=cache)


def _figures(result, label, note):
    found = [x for x in result.lines["default"] if (x.label, x.note) == (label, note)]
    assert len(found) == 1, f"no line {label!r} / {note!r}"
    return found[0].figures


@pytest.mark.parametrize(("line", "pins"), list(NAB_PINS.items()), ids=lambda v: str(v))
def test_headline_nab_rows_do_not_regress(headline, line, pins):
    figures = _figures(headline, *line)
    for profile, pin in zip(("standard", "reward_low_FP_rate", "reward_low_FN_rate"), pins,
                            strict=True):
        spread = figures[profile]
        assert spread.low <= spread.mean <= spread.high
        assert spread.mean >= pin - 3.0, f"{line} {profile}: {spread.mean:.1f} < pin {pin} - 3"


def test_headline_skab_row_does_not_regress(headline):
    figures = _figures(headline, "SKAB valve1 (16 files)", "own flag, test rows")
    assert figures["F1"].mean >= SKAB_PINS["F1"] - 0.03
    assert figures["AUC"].mean >= SKAB_PINS["AUC"] - 0.03
    assert figures["FAR"].mean <= SKAB_PINS["FAR"] + 3.0


def test_references_reproduce_issue_figures(headline):
    ref = {(x.label, x.note): x.figures for x in headline.references}
    htm = ref[("HTM (NAB output) RKC -> AWS", "tuned on RKC, scored on AWS")]
    assert [round(htm[p].mean, 1) for p in htm] == [70.4, 66.2, 75.2]
    htm = ref[("HTM (NAB output) AWS -> RKC", "tuned on AWS, scored on RKC")]
    assert [round(htm[p].mean, 1) for p in htm] == [55.5, 45.8, 61.5]
    t2 = ref[("Hotelling T² (SKAB's), valve1", "fitted on rows < 400, 2 x UCL")]
    assert (round(t2["F1"].mean, 2), round(t2["FAR"].mean, 2)) == (0.65, 19.94)


def test_table_and_json_carry_every_line(headline):
    text = protocol.format_table(headline)
    assert "forest seeds 42 7" in text and "NAB AWS -> RKC" in text and "AUC" in text
    data = json.loads(json.dumps(protocol.as_json(headline)))
    lines = data["configs"]["default"]["lines"]
    assert len(lines) == len(headline.lines["default"]) == 10
    assert set(lines[0]["figures"]) == {"standard", "reward_low_FP", "reward_low_FN"}
    assert set(lines[0]["figures"]["standard"]) == {"mean", "min", "max"}


def test_default_is_read_from_detectors_at_run_time(monkeypatch):
    spec = protocol.resolve_config("default").spec
    detector, calibration = spec(7)
    assert detector == {**defaults.DEFAULT_RCF, "seed": 7}
    assert calibration == json.loads(json.dumps(defaults.DEFAULT_CALIBRATION, default=dict))
    monkeypatch.setattr(defaults, "DEFAULT_RCF", {"name": "rcf", "n_trees": 3, "seed": 1})
    assert spec(7)[0] == {"name": "rcf", "n_trees": 3, "seed": 7}


def test_cache_key_follows_spec_seed_values_and_code(tmp_path):
    values = np.arange(10.0)
    args = ("default", 42, "nab", "a/b.csv", "original", {"name": "rcf", "seed": 42}, {},
            ["value"], values)
    base = protocol._job_path(tmp_path, "code1", *args)
    assert base == protocol._job_path(tmp_path, "code1", *args)
    assert base != protocol._job_path(tmp_path, "code2", *args)
    changed = list(args)
    changed[5] = {"name": "rcf", "seed": 42, "n_trees": 5}
    assert base != protocol._job_path(tmp_path, "code1", *changed)
    changed = list(args)
    changed[8] = values * 2
    assert base != protocol._job_path(tmp_path, "code1", *changed)


def test_product_stream_equals_the_evaluate_default_path():
    """At seed 42 the protocol's run of ``default`` is ``evaluate --configs default``'s."""
    series = load_corpus(DEFAULT_NAB, ["rogue_agent_key_hold"])[0]
    detector, calibration = protocol.resolve_config("default").spec(defaults.DEFAULT_RCF["seed"])
    out = protocol.run_stream(detector, calibration, ["value"], series.values)
    scores, flags, _ = score_series("default", series.values)
    assert np.array_equal(out["flag"], flags)
    assert np.allclose(out["rank"], scores)


def test_cached_outputs_are_reused_and_equal(tmp_path):
    config = protocol.resolve_config(
        'small={"detector": {"name": "rcf", "n_trees": 5, "sample_size": 64}, '
        '"calibration": {"tail": {"history": 2000}, "threshold": 3.0}}')
    kw = {"seeds": (3,), "rows": ("all",), "files": ["rogue_agent_key_hold"], "workers": 1,
          "cache": tmp_path}
    first = protocol.run_protocol([config], DEFAULT_NAB, **kw)
    assert len(list(tmp_path.rglob("*.npz"))) == 1 and first.seconds["small"] > 0
    second = protocol.run_protocol([config], DEFAULT_NAB, **kw)
    assert second.seconds["small"] == 0.0
    assert protocol.as_json(first)["configs"]["small"]["lines"] == \
        protocol.as_json(second)["configs"]["small"]["lines"]


def test_missing_values_go_through_the_product_missing_path():
    values = np.r_[np.linspace(0, 1, 300), [np.nan] * 20, np.linspace(1, 0, 300)]
    out = protocol.run_stream({"name": "rcf", "n_trees": 5, "sample_size": 64, "seed": 1},
                              {"tail": {}, "threshold": 3.0}, ["value"], values)
    assert np.isfinite(out["score"]).all() and len(out["flag"]) == len(values)


def test_unknown_names_are_refused_with_the_known_ones():
    with pytest.raises(ValueError, match="known: default, nab-best"):
        protocol.resolve_config("nope")
    with pytest.raises(ValueError, match="config 'x': expected name="):
        protocol.resolve_config("x={not json")
    with pytest.raises(ValueError, match="unknown row"):
        protocol.run_protocol([], DEFAULT_NAB, rows=("bogus",))
    assert detectors.build_scorer  # the product entry point the protocol measures


def test_a_research_config_with_a_spec_joins_the_protocol(monkeypatch):
    from types import MappingProxyType

    from evaluation import configs

    def spec(seed):
        return MappingProxyType({"name": "rcf", "n_trees": 5, "seed": seed}), {"threshold": 3.0}

    entry = configs.EvalConfig("cand-x", lambda: None, "a candidate", spec)
    monkeypatch.setitem(configs.CONFIGS, "cand-x", entry)
    assert protocol.resolve_config("cand-x").spec(9)[0]["seed"] == 9
    assert "cand-x" in protocol.protocol_configs() and "zscore" not in protocol.protocol_configs()


def test_targets_say_met_or_missed_and_by_how_much():
    S = protocol.Spread.of
    profiles = ("standard", "reward_low_FP_rate", "reward_low_FN_rate")

    def nab(*values):
        return dict(zip(profiles, (S([v]) for v in values), strict=True))

    result = protocol.ProtocolResult((1,), lines={"c": [
        protocol.Line("cross", "NAB RKC -> AWS", nab(60.0, 50.0, 70.0), "own flag on AWS"),
        protocol.Line("cross", "NAB RKC -> AWS", nab(71.0, 60.0, 75.2),
                      "tuned on RKC, scored on AWS"),
        protocol.Line("all", "NAB all files", nab(62.0, 55.0, 70.0), "own flag"),
        protocol.Line("cut1000", "NAB first 1,000 rows", nab(56.0, 40.0, 60.0), "own flag"),
        protocol.Line("skab", "SKAB valve1 (16 files)",
                      {"F1": S([0.71]), "FAR": S([16.0]), "MAR": S([20.0]), "AUC": S([0.8])},
                      "own flag, test rows"),
    ]}, references=[protocol.Line("cross", "HTM (NAB output) RKC -> AWS",
                                  nab(70.4, 66.2, 75.2), "tuned on RKC, scored on AWS")])
    checks = protocol.targets(result, "c")
    assert checks == [
        "  RKC -> AWS tuned standard above HTM: 71.00 >= 70.40 met",
        "  RKC -> AWS own flag standard within 8 of tuned: 60.00 >= 63.00 MISSED by 3.00",
        "  RKC -> AWS tuned reward_low_FP above HTM: 60.00 >= 66.20 MISSED by 6.20",
        "  RKC -> AWS own flag reward_low_FP within 8 of tuned: 50.00 >= 52.00 MISSED by 2.00",
        "  RKC -> AWS tuned reward_low_FN above HTM: 75.20 >= 75.20 met",
        "  RKC -> AWS own flag reward_low_FN within 8 of tuned: 70.00 >= 67.20 met",
        "  own flag, all files, standard: 62.00 >= 60.00 met",
        "  own flag, first 1,000 rows, standard within 5 of all files: 56.00 >= 57.00 "
        "MISSED by 1.00",
        "  SKAB own flag F1: 0.71 >= 0.70 met",
        "  SKAB own flag FAR %: 16.00 <= 15.00 MISSED by 1.00",
        "  SKAB score AUC: 0.80 >= 0.85 MISSED by 0.05",
    ]


def test_a_cut_file_scored_alone_is_the_prefix_of_the_full_run():
    """The product is online: cutting a file changes its labels and probation, not its outputs."""
    series = load_corpus(DEFAULT_NAB, ["rogue_agent_key_hold"])[0]
    detector, calibration = protocol.resolve_config("default").spec(7)
    full = protocol.run_stream(detector, calibration, ["value"], series.values)
    short = protocol.run_stream(detector, calibration, ["value"], series.values[:1000])
    for key in ("score", "grade", "rank", "flag"):
        assert np.array_equal(full[key][:1000], short[key]), key
