"""Scorer outputs are pinned bit for bit: speed work must not change a single one.

The digests were printed by ``python -m tests.unit.detectors.golden`` on commit 374cd3b
(before the calibrated hot path was fused; ``rcf-20x512-tail`` was the ``default`` case
then), except ``default``, pinned when the default became 15 x 1024 with time decay 3000
(its code path is the one ``rcf-20x512-tail`` pins), then re-pinned on purpose when issue 10
made the default standardise its inputs and fit its score tail (``former-default`` and
``keyed-quantile-raw`` keep the earlier defaults' digests: explicitly configured shapes stay
bit-identical; ``keyed-quantile`` re-pinned likewise); and ``data/tail-rcf-v1.snapshot`` was written
by that code too: a snapshot of the older implementation must load and continue exactly.
A krcf upgrade that changes forest scores would change these digests as well.
"""

from __future__ import annotations

import pytest

from detectors import restore_scorer

from .golden import CASES, SNAPSHOT, outputs, run, snapshot_case

PINNED = {
    "default": ("0be401cfde89472b98cfe4748a6f61240bb65f813e83cc804d1581664379f417", 16),
    "former-default": ("cc76a34208c7b4ddfccbad869bd37310528b1c9f75b62be9dc6d091ae384ce8f", 2),
    "rcf-20x512-tail": ("7546f0ff5f72a3a498d53439d112ad15354b4df39fa7841825dbeee3eeeff85a", 1),
    "small-tail-wraps": ("e16fc0be0230ba27895309af57c5c15e7b060cb951604e68534b25db6e741fec", 23),
    "keyed-quantile": ("a279b06ee3a18c38124b3bb5e80fb498dcb49c40ae39b5829fd87c1f3848c8fa", 45),
    "keyed-quantile-raw": ("81671146d40115861c91f68a1fb81e3b1f79d2340ba9c789722368596ae85a9b",
                           44),
    "keyed-tail-reject": ("f161d2a68016e72f842deb5df90e7e70829088fbb3f07fbe892ec2b8bd349fa9", 19),
    "threshold": ("4df0126a26f5983c8b2c8575e0dcce57911e9850e519b99f3bcc82c14d1c31ef", 17),
    "hst-tail": ("14e37ff71de2a1a2b39a805dcaa0ecd0d88128b1a26c0ebde4680beb331133d1", 2),
}
SNAPSHOT_CONTINUE = ("7373e152c7f8316193db4dceb8f512353632190b3d127252e58b3dbdc4268b5a", 3)


@pytest.mark.parametrize("case", sorted(CASES))
def test_outputs_are_bit_identical_to_the_pinned_ones(case):
    assert run(case) == PINNED[case]


def test_older_snapshot_loads_and_continues_exactly():
    restored = restore_scorer(SNAPSHOT.read_bytes())
    _, rest = snapshot_case()
    assert outputs(restored, rest, keyed=False) == SNAPSHOT_CONTINUE


def test_fresh_snapshot_continues_like_the_older_one():
    scorer, rest = snapshot_case()
    assert outputs(restore_scorer(scorer.snapshot()), rest, keyed=False) == SNAPSHOT_CONTINUE
