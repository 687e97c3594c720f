"""DeepLIFT (rescale rule) for the Keras ``mlp``: exact, additive attributions of the head.

DeepLIFT (the method behind shap's DeepExplainer) is applied to the dense head, whose
input is the numerics and the embedding vectors concatenated; the dimensions of each
embedding are summed back to its column. The reference is a small fixed background: by
default one point, the training mean of the numerics (0 after standardising) and the
mean vector of each embedding table. DeepLIFT is exactly additive: base (mean head
output at the references) + contributions = the logit. Plain NumPy on the head's
weights: TensorFlow is only touched through the fitted model's layers.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from slrt_ml.models._base import BASE

__all__ = ["deeplift_head", "network_contributions"]

#: rows per DeepLIFT slice (about 10 MB of float64 activations per 128-unit layer)
_DEEPLIFT_ROWS = 10_000

Layers = list[tuple[np.ndarray, np.ndarray, str]]


def _dense_layers(head: Any) -> Layers:
    """(kernel, bias, activation) of the head's Dense layers; dropout is inference-identity."""
    layers = []
    for layer in head.layers:
        kind = type(layer).__name__
        if kind in ("InputLayer", "Dropout"):
            continue
        if kind != "Dense":
            raise TypeError(
                f"DeepLIFT here handles Dense/Dropout heads only; layer {layer.name!r} is {kind}"
            )
        activation = layer.get_config().get("activation", "linear")
        if activation not in ("relu", "linear"):
            raise TypeError(f"layer {layer.name!r}: activation {activation!r} not supported")
        kernel, bias = layer.get_weights()
        layers.append((kernel.astype(np.float64), bias.astype(np.float64), activation))
    return layers


def _forward(layers: Layers, x: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Pre- and post-activation of every layer."""
    out, a = [], x
    for kernel, bias, activation in layers:
        z = a @ kernel + bias
        a = np.maximum(z, 0.0) if activation == "relu" else z
        out.append((z, a))
    return out


def deeplift_head(
    layers: Layers, x: np.ndarray, references: np.ndarray
) -> tuple[np.ndarray, float]:
    """DeepLIFT rescale attributions of a Dense-ReLU stack with a linear output.

    Parameters
    ----------
    layers : list of (kernel, bias, activation)
        The dense layers, activation ``"relu"`` or ``"linear"``; the last has one output.
    x : ndarray
        Inputs (n, width).
    references : ndarray
        Reference points (r, width); attributions are averaged over them.

    Returns
    -------
    (ndarray, float)
        Attributions (n, width) and the base, the mean output at the references; for each
        row ``base + attributions.sum() == output(x)`` exactly (up to float rounding).

    >>> layers = [(np.array([[1.0], [-1.0]]), np.zeros(1), "relu"),
    ...           (np.array([[2.0]]), np.array([0.5]), "linear")]
    >>> phi, base = deeplift_head(layers, np.array([[3.0, 1.0]]), np.zeros((1, 2)))
    >>> phi.tolist(), base
    ([[6.0, -2.0]], 0.5)
    """
    x = np.asarray(x, dtype=np.float64)
    ours = _forward(layers, x)
    total = np.zeros_like(x)
    outputs = []
    for ref in np.asarray(references, dtype=np.float64):
        theirs = _forward(layers, ref[None, :])
        outputs.append(float(theirs[-1][1][0, 0]))
        multiplier = np.ones((len(x), 1))
        for i in range(len(layers) - 1, -1, -1):
            kernel, _, activation = layers[i]
            if activation == "relu":
                dz = ours[i][0] - theirs[i][0]
                da = ours[i][1] - theirs[i][1]
                slope = np.where(np.abs(dz) > 1e-12, da / np.where(dz == 0, 1.0, dz),
                                 (ours[i][0] > 0).astype(np.float64))  # fmt: skip
                multiplier = multiplier * slope
            multiplier = multiplier @ kernel.T
        total += (x - ref[None, :]) * multiplier
    return total / len(references), float(np.mean(outputs))


def _default_references(model: Any) -> np.ndarray:
    """One reference: numerics at the training mean (0), each embedding at its table mean."""
    parts = [np.zeros(len(model.encoder_.numeric_columns_))]
    for i, _ in enumerate(model.encoder_.categorical_columns_):
        table = model.network_.get_layer(f"embed_{i}").get_weights()[0]
        parts.append(table.mean(axis=0))
    return np.concatenate(parts)[None, :]


def network_contributions(
    model: Any, encoded: pd.DataFrame, background: pd.DataFrame | None
) -> pd.DataFrame:
    """DeepLIFT contributions of a fitted ``mlp`` model, one column per encoded column.

    Parameters
    ----------
    model : MLPModel
        A fitted ``mlp`` model.
    encoded : DataFrame
        Rows encoded by ``model.encoder_``.
    background : DataFrame or None
        ``household_features`` rows used as the references; ``None``: the default
        reference (training mean of the numerics, mean embedding vectors).

    Returns
    -------
    DataFrame
        One column per source column plus ``__base__``; rows sum to the logit.
    """
    layers = _dense_layers(model.head_)
    if background is None:
        references = _default_references(model)
    else:
        references = model._embed(model.encoder_.transform(background))
    embedded = model._embed(encoded)
    # in slices, so the float64 activations of every layer stay small (memory flat)
    slices = [deeplift_head(layers, embedded[start : start + _DEEPLIFT_ROWS], references)
              for start in range(0, len(embedded), _DEEPLIFT_ROWS)]  # fmt: skip
    phi = np.concatenate([p for p, _ in slices]) if slices else np.zeros_like(embedded, float)
    base = slices[0][1] if slices else deeplift_head(layers, embedded[:1], references)[1]
    columns, blocks = [], []
    for column, part in model.embedding_slices_.items():
        columns.append(column)
        blocks.append(phi[:, part].sum(axis=1))
    out = pd.DataFrame(np.column_stack(blocks), columns=columns, index=encoded.index)
    out[BASE] = base
    return out
