"""Feature steering: do the conditioning features change the image the way the data says?

The judge is independent of the model's critic: ridge regressors on TF-Inception features,
trained on REAL covers to predict each schema feature (only rows where that feature is
present), with the penalty chosen by k-fold cross-validation. Their cross-validated
correlation on real covers (`predictor_cv_r`) is the ceiling: a feature the covers themselves
do not show cannot be recovered from generated ones either. On generated covers we report,
per feature, the Pearson correlation between the requested value and the recovered one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)

SWEEP_FEATURES = ("energy", "acousticness", "valence", "popularity")
SWEEP_VALUES = 7
MIN_ROWS = 20
FOLDS = 5
RELATIVE_ALPHAS = (1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0)


def pearson(x: np.ndarray, y: np.ndarray) -> float | None:
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if len(x) < 3 or x.std() == 0 or y.std() == 0:
        return None
    return float(np.corrcoef(x, y)[0, 1])


@dataclass
class FeaturePredictor:
    """Per-feature ridge regression on standardised Inception features."""

    names: tuple[str, ...]
    mean: np.ndarray  # (d,)
    scale: np.ndarray  # (d,)
    weights: np.ndarray  # (d, c); zero columns for features too rare to fit
    bias: np.ndarray  # (c,)
    fitted: np.ndarray  # (c,) bool
    cv_r: dict[str, float | None]
    rows: dict[str, int]

    def predict(self, features: np.ndarray) -> np.ndarray:
        x = (np.asarray(features, dtype=np.float64) - self.mean) / self.scale
        return x @ self.weights + self.bias


def split_rows(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two disjoint halves of `count` rows: (predictor rows, scored rows)."""
    order = np.random.default_rng(seed).permutation(count)
    return np.sort(order[: count // 2]), np.sort(order[count // 2 :])


def _ridge_dual(eig: tuple[np.ndarray, np.ndarray], y: np.ndarray, alpha: float) -> np.ndarray:
    values, vectors = eig
    return vectors @ ((vectors.T @ y) / (values + alpha))


def _fit_one(x: np.ndarray, y: np.ndarray, seed: int) -> tuple[np.ndarray, float, float | None]:
    """(weights, bias, cross-validated r) for one feature; alpha picked by out-of-fold error."""
    kernel = x @ x.T
    scale = float(np.trace(kernel)) / len(kernel)
    folds = np.random.default_rng(seed).permutation(len(y)) % FOLDS
    out_of_fold = np.zeros((len(RELATIVE_ALPHAS), len(y)))
    for fold in range(FOLDS):
        train, valid = folds != fold, folds == fold
        k_train = kernel[np.ix_(train, train)]
        eig = np.linalg.eigh(k_train)
        centre = y[train].mean()
        for a, relative in enumerate(RELATIVE_ALPHAS):
            dual = _ridge_dual(eig, y[train] - centre, relative * scale)
            out_of_fold[a, valid] = kernel[np.ix_(valid, train)] @ dual + centre
    errors = ((out_of_fold - y) ** 2).mean(axis=1)
    best = int(errors.argmin())
    centre = y.mean()
    dual = _ridge_dual(np.linalg.eigh(kernel), y - centre, RELATIVE_ALPHAS[best] * scale)
    return x.T @ dual, centre, pearson(y, out_of_fold[best])


def fit_predictor(
    features: np.ndarray, labels: np.ndarray, mask: np.ndarray, names: tuple[str, ...], seed: int = 0
) -> FeaturePredictor:
    """Fit on real covers: `labels`/`mask` are the dataset's encoded (n, c) arrays."""
    features = np.asarray(features, dtype=np.float64)
    mean = features.mean(axis=0)
    scale = features.std(axis=0) + 1e-6
    x_all = (features - mean) / scale
    c = len(names)
    weights = np.zeros((features.shape[1], c))
    bias = np.zeros(c)
    fitted = np.zeros(c, bool)
    cv_r: dict[str, float | None] = {}
    rows: dict[str, int] = {}
    for j, name in enumerate(names):
        present = mask[:, j] > 0.5
        rows[name] = int(present.sum())
        y = labels[present, j].astype(np.float64)
        if present.sum() < MIN_ROWS or y.std() == 0:
            cv_r[name] = None
            log.info(
                "steering: %s has %d labelled covers with %d distinct values; not predicted",
                name,
                present.sum(),
                len(np.unique(y)),
            )
            continue
        weights[:, j], bias[j], cv_r[name] = _fit_one(x_all[present], y, seed)
        fitted[j] = True
    return FeaturePredictor(tuple(names), mean, scale, weights, bias, fitted, cv_r, rows)


def steering_correlations(
    predictor: FeaturePredictor, features: np.ndarray, requested: np.ndarray, mask: np.ndarray
) -> dict[str, dict]:
    """Per feature: r between requested and recovered values over generated images where the
    feature was requested (mask 1)."""
    recovered = predictor.predict(features)
    report = {}
    for j, name in enumerate(predictor.names):
        present = mask[:, j] > 0.5
        report[name] = {
            "r": pearson(requested[present, j], recovered[present, j]) if predictor.fitted[j] else None,
            "n": int(present.sum()),
            "predictor_cv_r": predictor.cv_r[name],
            "predictor_rows": predictor.rows[name],
        }
    return report


def sweep_conditions(
    base_labels: np.ndarray, base_mask: np.ndarray, feature: int, values: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Rows (one per base row) x columns (one per value): the base condition with one feature
    set to each value and marked present. Returns flattened (rows * columns, c) arrays."""
    labels = np.repeat(base_labels, len(values), axis=0).astype(np.float32)
    mask = np.repeat(base_mask, len(values), axis=0).astype(np.float32)
    labels[:, feature] = np.tile(values, len(base_labels))
    mask[:, feature] = 1.0
    return labels, mask
