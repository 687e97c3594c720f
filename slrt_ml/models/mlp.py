"""A Keras tabular network (``mlp``): embeddings for categoricals, a dense head.

Architecture: each categorical column (ordinal-coded, 0 = rare/unseen) goes through its
own ``Embedding``; standardised numeric columns come in as one vector; the flattened
embeddings and the numerics are concatenated and fed to the *head*, a separate Keras
model (dense layers with ReLU and dropout, one logit out). The network's output is the
log-odds of being poor.

For explanations: shap's Gradient/DeepExplainer fail on a Keras model with one input per
embedding, so the model exposes the pieces that work with them:

- ``model._embed(encoded)`` -> float32 array (n, width): the concatenated numerics and
  embedding vectors the head sees (``encoded = model.encoder_.transform(X)``);
- ``model.head_`` -> the Keras head, ``head_(embedded)`` gives the logit;
- ``model.embedding_slices_`` -> source column -> slice of the concatenated vector, so
  attributions on the head's input sum back to ``household_features`` columns.

TensorFlow is imported inside methods only. Seeding calls ``keras.utils.set_random_seed``
and enables TensorFlow's deterministic ops (both process-wide settings): the same
``random_state`` on the same machine gives the same network.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupShuffleSplit, ShuffleSplit

from slrt_ml.quiet import import_keras, import_tensorflow

from ._base import PovertyModel, balanced_weight, integer_seed
from ._encoding import FeatureEncoder

_PREDICT_SLICE = 100_000

__all__ = ["MLPModel"]

_NUMERIC_INPUT = "numeric"
_HEAD = "head"
#: below this many households there is no validation split (fit all epochs)
_MIN_ROWS_FOR_VALIDATION = 50


class MLPModel(PovertyModel):
    """Keras MLP with categorical embeddings and early stopping on a desa-grouped split.

    ``fit(X, y, sample_weight=None, groups=None)``: with ``groups`` (e.g. KDDESA) the
    validation split holds out whole desa, as cross-validation does; without, a seeded
    random split of households.

    Parameters
    ----------
    hidden : sequence of int, default (128, 64)
        Widths of the dense layers.
    dropout : float, default 0.2
    embedding_dim : int, default 8
        Upper bound; a column with k levels gets min(embedding_dim, (k + 1) // 2).
    epochs, batch_size, learning_rate, verbose
        Keras training settings.
    patience : int, default 5
        Early-stopping patience.
    validation_fraction : float, default 0.15
        0 disables early stopping.
    class_weight : None, "balanced" or dict, default "balanced"
        See :func:`~slrt_ml.models._base.balanced_weight`.
    min_frequency : int, default 10
        Rarer category levels are pooled.
    random_state : None, int or RandomState
        Seeds Keras and makes TensorFlow's ops deterministic (process-wide).

    Attributes
    ----------
    network_ : keras.Model
    head_ : keras.Model
    embedding_slices_ : dict
        Source column -> slice of the head's input.
    history_ : dict
        Loss per epoch.
    n_epochs_ : int
    """

    name: ClassVar[str] = "mlp"
    #: Keras objects: saved as ``.keras`` files by ``save_model``, never pickled
    _saved_apart: ClassVar[dict[str, str]] = {"network_": "keras"}

    def __init__(
        self,
        hidden=(128, 64),
        dropout: float = 0.2,
        embedding_dim: int = 8,
        epochs: int = 50,
        batch_size: int = 2048,
        learning_rate: float = 1e-3,
        patience: int = 5,
        validation_fraction: float = 0.15,
        class_weight="balanced",
        min_frequency: int = 10,
        verbose: int = 0,
        random_state=None,
    ):
        self.hidden = hidden
        self.dropout = dropout
        self.embedding_dim = embedding_dim
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.class_weight = class_weight
        self.min_frequency = min_frequency
        self.verbose = verbose
        self.random_state = random_state

    @property
    def head_(self):
        """The dense head (a Keras model): concatenated embeddings + numerics -> logit."""
        return self.network_.get_layer(_HEAD)

    def _make_encoder(self) -> FeatureEncoder:
        return FeatureEncoder("ordinal", standardize=True, min_frequency=self.min_frequency)

    def _fit_encoded(self, encoded, poor, weight, groups) -> None:
        keras = import_keras()  # quietly: see slrt_ml.quiet

        seed = integer_seed(self.random_state)
        if seed is not None:
            keras.utils.set_random_seed(seed)
            _enable_determinism()
        self.network_ = self._build_network(keras)
        weight = balanced_weight(poor, weight, self.class_weight)
        train, valid = self._validation_split(len(encoded), groups, seed)
        history = self.network_.fit(
            self._inputs(encoded.iloc[train]),
            poor[train].astype(np.float32),
            sample_weight=weight[train],
            validation_data=self._validation_data(encoded, poor, weight, valid),
            epochs=self.epochs,
            batch_size=self.batch_size,
            callbacks=self._callbacks(keras, has_validation=len(valid) > 0),
            verbose=self.verbose,
        )
        self.history_ = {k: [float(v) for v in vs] for k, vs in history.history.items()}
        self.n_epochs_ = len(self.history_["loss"])

    def _margin(self, encoded):
        # predict_on_batch in slices: one traced call per slice shape (no retracing per
        # chunk as with predict), and bounded memory on very large inputs.
        inputs = self._inputs(encoded)
        step = _PREDICT_SLICE
        parts = [
            self.network_.predict_on_batch({k: v[i : i + step] for k, v in inputs.items()})
            for i in range(0, len(encoded), step)
        ] or [np.zeros((0, 1))]
        return np.concatenate([np.asarray(p, dtype=np.float64).ravel() for p in parts])

    # -- the pieces explanations use ------------------------------------------------------------

    def _embed(self, encoded: pd.DataFrame) -> np.ndarray:
        """The head's input for encoded rows: numerics then each embedding, concatenated."""
        parts = [encoded[self.encoder_.numeric_columns_].to_numpy(np.float32)]
        for i, column in enumerate(self.encoder_.categorical_columns_):
            table = self.network_.get_layer(f"embed_{i}").get_weights()[0]
            parts.append(table[encoded[column].to_numpy().astype(np.int64)])
        return np.concatenate(parts, axis=1).astype(np.float32)

    # -- building -----------------------------------------------------------------------------

    def _build_network(self, keras):
        inputs, parts = {}, []
        self.embedding_slices_ = {}
        width = len(self.encoder_.numeric_columns_)
        for position, column in enumerate(self.encoder_.numeric_columns_):
            self.embedding_slices_[column] = slice(position, position + 1)
        inputs[_NUMERIC_INPUT] = keras.Input((width,), name=_NUMERIC_INPUT)
        parts.append(inputs[_NUMERIC_INPUT])
        for i, column in enumerate(self.encoder_.categorical_columns_):
            levels = self.encoder_.cardinalities_[column]
            dim = max(1, min(self.embedding_dim, (levels + 1) // 2))
            inputs[f"cat_{i}"] = keras.Input((1,), dtype="int32", name=f"cat_{i}")
            embedded = keras.layers.Embedding(levels, dim, name=f"embed_{i}")(inputs[f"cat_{i}"])
            parts.append(keras.layers.Flatten()(embedded))
            self.embedding_slices_[column] = slice(width, width + dim)
            width += dim
        joined = keras.layers.Concatenate()(parts) if len(parts) > 1 else parts[0]
        network = keras.Model(inputs, self._build_head(keras, width)(joined))
        network.compile(
            optimizer=keras.optimizers.Adam(self.learning_rate),
            loss=keras.losses.BinaryCrossentropy(from_logits=True),
        )
        return network

    def _build_head(self, keras, width: int):
        features = keras.Input((width,), name="embedded")
        layer = features
        for units in self.hidden:
            layer = keras.layers.Dense(int(units), activation="relu")(layer)
            if self.dropout > 0:
                layer = keras.layers.Dropout(self.dropout)(layer)
        logit = keras.layers.Dense(1, name="logit")(layer)
        return keras.Model(features, logit, name=_HEAD)

    def _inputs(self, encoded: pd.DataFrame) -> dict[str, np.ndarray]:
        inputs = {_NUMERIC_INPUT: encoded[self.encoder_.numeric_columns_].to_numpy(np.float32)}
        for i, column in enumerate(self.encoder_.categorical_columns_):
            inputs[f"cat_{i}"] = encoded[[column]].to_numpy().astype(np.int32)
        return inputs

    # -- training helpers ----------------------------------------------------------------------

    def _validation_split(self, n_rows: int, groups, seed) -> tuple[np.ndarray, np.ndarray]:
        everything = np.arange(n_rows)
        if self.validation_fraction <= 0 or n_rows < _MIN_ROWS_FOR_VALIDATION:
            return everything, everything[:0]
        if groups is not None:
            groups = np.asarray(groups)
            if len(groups) != n_rows:
                raise ValueError(
                    f"groups must give one desa code per household ({n_rows}), got {len(groups)}"
                )
            if len(np.unique(groups)) < 2:
                return everything, everything[:0]
            splitter = GroupShuffleSplit(1, test_size=self.validation_fraction, random_state=seed)
        else:
            splitter = ShuffleSplit(1, test_size=self.validation_fraction, random_state=seed)
        return next(splitter.split(everything, groups=groups))

    def _validation_data(self, encoded, poor, weight, valid):
        if len(valid) == 0:
            return None
        rows = encoded.iloc[valid]
        return self._inputs(rows), poor[valid].astype(np.float32), weight[valid]

    def _callbacks(self, keras, has_validation: bool) -> list:
        if not has_validation:
            return []
        return [
            keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=self.patience, restore_best_weights=True
            )
        ]


def _enable_determinism() -> None:
    tf = import_tensorflow()
    tf.config.experimental.enable_op_determinism()
