"""SIKS-NG's proxy-means test on the synthetic registry: its terms and its weights.

The PMT is linear in ``pmt_terms`` (housing, assets, land and livestock, composition,
head's education, sex, age and work, urban and kecamatan intercepts: the kind of
variables the official PMT used). Its weights are least squares of log welfare on those
terms, either *estimated* on a baseline survey sample (:func:`estimate`, as the official
PMT was) or the population weights (:class:`Moments`, accumulated chunk by chunk so a
registry of any size needs only a k x k matrix).

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> X = np.column_stack([np.ones(500), rng.normal(size=500)])
>>> moments = Moments(2)
>>> moments.add(X[:200], 1 + 2 * X[:200, 1]); moments.add(X[200:], 1 + 2 * X[200:, 1])
>>> np.round(moments.solve(), 4).tolist()
[1.0, 2.0]
"""

from __future__ import annotations

import numpy as np

from slrt_ml.data.synth.housing import badness

__all__ = ["Moments", "estimate", "pmt_terms", "term_names"]

_BAD = ("Lantai", "Dinding", "Atap", "Sumber_airminum")
_ASSETS = (
    "Ada_motor",
    "Ada_lemari_es",
    "Ada_mobil",
    "Ada_laptop",
    "Ada_tv",
    "Ada_emas",
    "Ada_tabung_gas",
    "Ada_ac",
    "Aset_tak_bergerak",
)
_STATUS = range(1, 9)  # head's Status_pekerjaan 1-8 (0 = not working)


def term_names(n_kecamatan: int) -> list[str]:
    """Names of the columns of :func:`pmt_terms` (for the metadata)."""
    return [
        "intercept",
        "urban",
        *(f"bad_{item}" for item in _BAD),
        "poor_wall",
        "poor_roof",
        "no_pln",
        "firewood",
        "no_toilet",
        "daya_450",
        *_ASSETS,
        "log_big_livestock",
        "log_goats",
        "log_land_ha",
        "log_floor_pc",
        "log_size",
        "log_size_sq",
        "dependants",
        "workers",
        "ill",
        "head_attain",
        "head_female",
        "head_age10",
        "head_age10_sq",
        *(f"head_status_{s}" for s in _STATUS),
        *(f"kecamatan_{k + 1:03d}" for k in range(1, n_kecamatan)),
    ]


def pmt_terms(h: dict, c: dict, urban: np.ndarray, kec: np.ndarray, n_kec: int) -> np.ndarray:
    """The PMT's design matrix (households x terms) from indicators ``h`` and composition
    ``c``; ``kec`` is each household's kecamatan index (0-based)."""
    n = len(urban)
    size = c["size"]
    age10 = (c["head_age"] - 45) / 10
    columns = [
        np.ones(n),
        urban,
        *(badness(h, item) for item in _BAD),
        h["Kondisi_dinding"] == 2,
        h["Kondisi_atap"] == 2,
        h["Sumber_penerangan"] != 1,
        h["Bb_masak"] == 8,
        h["Fasbab"] == 4,
        h["Daya"] == 1,
        *(h[name] for name in _ASSETS),
        np.log1p(h["Jumlah_sapi"] + h["Jumlah_kerbau"]),
        np.log1p(h["Jumlah_kambing"]),
        np.log1p(h["Luas_atb"] / 10_000),
        np.log(h["Luas_lantai"] / size),
        np.log(size),
        np.log(size) ** 2,
        c["dependants"],
        c["workers"],
        c["ill"],
        c["head_attain"],
        c["head_female"],
        age10,
        age10**2,
        *(c["head_status"] == s for s in _STATUS),
    ]
    X = np.zeros((n, len(columns) + max(n_kec - 1, 0)))
    for j, col in enumerate(columns):
        X[:, j] = col
    rows = np.flatnonzero(kec > 0)
    X[rows, len(columns) + kec[rows] - 1] = 1.0
    return X


class Moments:
    """X'X and X'y accumulated chunk by chunk: least squares over any number of rows."""

    def __init__(self, k: int) -> None:
        self.xtx = np.zeros((k, k))
        self.xty = np.zeros(k)
        self.rows = 0

    def add(self, X: np.ndarray, y: np.ndarray) -> None:
        self.xtx += X.T @ X
        self.xty += X.T @ y
        self.rows += len(y)

    def solve(self, ridge: float = 1e-6) -> np.ndarray:
        """Least-squares weights; a tiny ridge (not on the intercept) keeps terms that never
        vary in a small sample (a kecamatan with no household) solvable."""
        penalty = np.full(len(self.xty), ridge * max(self.rows, 1))
        penalty[0] = 0.0
        return np.linalg.solve(self.xtx + np.diag(penalty), self.xty)


def estimate(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """OLS weights of ``y`` on ``X`` (the baseline-survey estimate)."""
    moments = Moments(X.shape[1])
    moments.add(X, y)
    return moments.solve()
