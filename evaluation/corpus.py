"""Load labelled series laid out like the Numenta Anomaly Benchmark (NAB).

The layout is NAB's own: ``data/<folder>/<file>.csv`` with ``timestamp,value`` columns and
``labels/combined_windows.json`` (plus, optionally, ``labels/combined_labels.json``) mapping
``<folder>/<file>.csv`` to its anomaly windows and labelled points. NAB's data and labels are
Copyright 2014-2024 Numenta Inc., MIT licence (``LICENSE.NAB.txt`` next to the data); this
module only reads them, it ships none of them.

Everything here works by *row index*, never by timestamp lookup, because some NAB files hold
duplicate timestamps: a window edge resolves to the first row carrying that timestamp, which
is what NAB itself does.
"""

from __future__ import annotations

import csv
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_NAB",
    "DataMissing",
    "LabelledSeries",
    "load_corpus",
    "probation_length",
    "published_scores",
    "require_nab",
    "resolve_windows",
]

#: The NAB files shared with this repository (``../shared/data/nab`` beside it).
DEFAULT_NAB = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "nab"

_NAB_WHERE = "NAB: github.com/numenta/NAB (MIT), its data/ and labels/ folders"


class DataMissing(FileNotFoundError):
    """Labelled data an evaluation needs is not there; the message says what and where to get it."""


def require_nab(root: str | Path) -> Path:
    """``root`` as a Path if it holds a NAB layout, else :class:`DataMissing` in one line.

    Examples
    --------
    >>> try:
    ...     require_nab("/nonexistent/nab")
    ... except DataMissing as exc:
    ...     print(str(exc)[:60])
    NAB data missing: no /nonexistent/nab/labels/combined_window
    """
    root = Path(root)
    labels = root / "labels" / "combined_windows.json"
    if not labels.is_file():
        raise DataMissing(f"NAB data missing: no {labels}; get {_NAB_WHERE}")
    if not (root / "data").is_dir():
        raise DataMissing(f"NAB data missing: no {root / 'data'}; get {_NAB_WHERE}")
    return root


# NAB: the first 15 % of a file's rows (at most 750) are a learning period and never scored.
PROBATION_FRACTION = 0.15
PROBATION_MAX_ROWS = 750


def probation_length(n_rows: int) -> int:
    """Number of leading rows of a file that NAB does not score.

    Parameters
    ----------
    n_rows
        Rows in the file.

    Examples
    --------
    >>> probation_length(100), probation_length(4032), probation_length(22695)
    (15, 604, 750)
    """
    return min(int(PROBATION_FRACTION * n_rows), PROBATION_MAX_ROWS)


def _strip_fraction(stamp: str) -> str:
    # window edges carry a ".000000" suffix that the CSV timestamps do not
    return stamp.split(".", 1)[0]


def resolve_windows(timestamps: list[str], windows: list[list[str]]) -> tuple[tuple[int, int], ...]:
    """Turn ``[start, end]`` timestamp pairs into inclusive ``(left, right)`` row indices.

    Each edge resolves to the first row with that timestamp.

    Examples
    --------
    >>> stamps = ["a", "b", "b", "c", "d"]
    >>> resolve_windows(stamps, [["b.000000", "c.000000"]])
    ((1, 3),)
    """
    first: dict[str, int] = {}
    for i, stamp in enumerate(timestamps):
        first.setdefault(stamp, i)
    rows = []
    for start, end in windows:
        left, right = first[_strip_fraction(start)], first[_strip_fraction(end)]
        if right < left:
            raise ValueError(f"window {start}..{end} ends before it starts")
        rows.append((left, right))
    return tuple(rows)


@dataclass(frozen=True, slots=True)
class LabelledSeries:
    """One labelled file: values in arrival order and its anomaly windows as row ranges.

    Attributes
    ----------
    name
        ``<folder>/<file>.csv`` as in NAB's label files.
    timestamps
        The CSV timestamps, as text.
    values
        The values, float64.
    windows
        Inclusive ``(left, right)`` row indices, sorted, non-overlapping.
    labels
        Row indices of the labelled anomaly points (may be empty if not supplied).
    """

    name: str
    timestamps: tuple[str, ...]
    values: np.ndarray
    windows: tuple[tuple[int, int], ...]
    labels: tuple[int, ...] = ()

    @property
    def probation(self) -> int:
        """Leading rows not scored."""
        return probation_length(len(self.values))

    @property
    def folder(self) -> str:
        """NAB category folder (``realKnownCause``...)."""
        return self.name.split("/", 1)[0]


def _read_csv(path: Path) -> tuple[list[str], np.ndarray]:
    stamps: list[str] = []
    values: list[float] = []
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        next(reader)  # header: timestamp,value
        for row in reader:
            stamps.append(row[0])
            values.append(float(row[1]))
    return stamps, np.asarray(values, dtype=np.float64)


def load_corpus(
    root: str | Path, files: list[str] | None = None, limit: int | None = None
) -> list[LabelledSeries]:
    """Read a NAB-layout folder.

    Parameters
    ----------
    root
        Folder holding ``data/`` and ``labels/``.
    files
        Keep only files whose name contains one of these substrings (``None`` keeps all).
    limit
        Keep at most this many rows per file (a quick run; windows beyond are clipped or
        dropped).

    Returns
    -------
    list of LabelledSeries
        Sorted by name. Labelled files whose CSV is absent are left out (a folder may hold
        a subset of NAB with NAB's full label file).

    Raises
    ------
    DataMissing
        When ``root`` holds no NAB layout or none of its labelled files.
    """
    root = require_nab(root)
    windows = json.loads((root / "labels" / "combined_windows.json").read_text())
    labels_path = root / "labels" / "combined_labels.json"
    points = json.loads(labels_path.read_text()) if labels_path.exists() else {}
    corpus = []
    for name in sorted(windows):
        if files and not any(part in name for part in files):
            continue
        if not (root / "data" / name).is_file():
            continue
        stamps, values = _read_csv(root / "data" / name)
        rows = resolve_windows(stamps, windows[name])
        first: dict[str, int] = {}
        for i, stamp in enumerate(stamps):
            first.setdefault(stamp, i)
        label_rows = tuple(first[_strip_fraction(p)] for p in points.get(name, []))
        if limit is not None and limit < len(values):
            stamps, values = stamps[:limit], values[:limit]
            rows = tuple((lo, min(hi, limit - 1)) for lo, hi in rows if lo < limit)
            label_rows = tuple(r for r in label_rows if r < limit)
        corpus.append(LabelledSeries(name, tuple(stamps), values, rows, label_rows))
    if not corpus and not files:
        raise DataMissing(f"NAB data missing: none of the files labelled in {root}/labels is "
                          f"under {root}/data; get {_NAB_WHERE}")
    logger.debug("loaded files=%d root=%s", len(corpus), root)
    return corpus


def published_scores(root: str | Path, detector: str, series: LabelledSeries) -> np.ndarray:
    """NAB's own per-row ``anomaly_score`` for one file, from ``results/<detector>/``.

    Parameters
    ----------
    root
        Folder holding ``results/``.
    detector
        NAB detector name (``numenta``, ``randomCutForest``).
    series
        The file; its row count must match the results file (NAB scores by row number).
    """
    folder, filename = series.name.split("/", 1)
    path = Path(root) / "results" / detector / folder / f"{detector}_{filename}"
    with path.open(newline="") as handle:
        scores = [float(row["anomaly_score"]) for row in csv.DictReader(handle)]
    if len(scores) != len(series.values):
        raise ValueError(f"{path}: {len(scores)} rows, data has {len(series.values)}")
    return np.asarray(scores)
