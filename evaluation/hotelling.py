"""Hotelling's T² as SKAB publishes it: the reference for multivariate SKAB experiments.

Per file: standardise every sensor with the mean and (population) standard deviation of the
training rows, estimate the covariance of the standardised training rows, and give every
row ``T² = x' S⁻¹ x``; smooth with a rolling median of 5 rows (the first 4 rows have none
and never flag); flag when the smoothed T² exceeds twice the upper control limit

    UCL = m (n - 1) (n + 1) / (n (n - m)) * F⁻¹(p; m, n - m)

with ``m`` sensors, ``n`` training rows and ``p = 0.999``. Written from SKAB's description
(Katser and Kozitsin, 2020; github.com/waico/SKAB, ``core/t2.py``), not copied.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = ["HotellingT2", "t2_ucl"]


def t2_ucl(m: int, n: int, p: float = 0.999) -> float:
    """Upper control limit of T² for ``m`` variables estimated from ``n`` rows.

    Examples
    --------
    >>> round(t2_ucl(8, 400), 2)
    27.35
    """
    return m * (n - 1) * (n + 1) / (n * (n - m)) * float(stats.f.ppf(p, m, n - m))


def _rolling_median(values: np.ndarray, window: int) -> np.ndarray:
    out = np.full(len(values), np.nan)
    if window <= len(values):
        view = np.lib.stride_tricks.sliding_window_view(values, window)
        out[window - 1:] = np.median(view, axis=1)
    return out


@dataclass(slots=True)
class HotellingT2:
    """T² of each row against the first ``train`` rows, median-smoothed, flagged at 2 x UCL.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(500, 3))
    >>> x[450:] += 6.0
    >>> t2, flags = HotellingT2(train=400).fit_predict(x)
    >>> bool(flags[:440].any()), bool(flags[460:].all())
    (False, True)
    """

    train: int = 400
    window: int = 5
    p: float = 0.999
    factor: float = 2.0

    def fit_predict(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Smoothed T² of every row (NaN for the first ``window - 1``) and its flag."""
        values = np.asarray(values, dtype=np.float64)
        fit = values[: self.train]
        mean, std = fit.mean(axis=0), fit.std(axis=0)
        if np.any(std == 0):
            raise ValueError(f"constant column(s) {np.flatnonzero(std == 0).tolist()} in the "
                             f"{self.train} training rows: T² is undefined")
        scaled = (values - mean) / std
        inverse = np.linalg.inv(np.cov(scaled[: self.train].T))
        t2 = np.einsum("ij,jk,ik->i", scaled, inverse, scaled)
        smooth = _rolling_median(t2, self.window)
        limit = self.factor * t2_ucl(values.shape[1], len(fit), self.p)
        return smooth, np.nan_to_num(smooth, nan=-np.inf) > limit
