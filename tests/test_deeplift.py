"""DeepLIFT on dense heads: hand-computed attributions and exact additivity."""

from __future__ import annotations

import numpy as np
import pytest

from slrt_ml.explain.deeplift import deeplift_head


def test_deeplift_on_a_linear_head_is_coef_times_difference():
    kernel, bias = np.array([[2.0], [-3.0]]), np.array([1.0])
    x, ref = np.array([[1.0, 2.0], [0.0, 1.0]]), np.array([[0.5, 0.5]])
    phi, base = deeplift_head([(kernel, bias, "linear")], x, ref)
    np.testing.assert_allclose(phi, (x - ref) * kernel[:, 0])
    assert base == pytest.approx(0.5)


def test_deeplift_is_additive_on_a_relu_stack_for_every_reference():
    rng = np.random.default_rng(0)
    layers = [
        (rng.normal(size=(4, 6)), rng.normal(size=6), "relu"),
        (rng.normal(size=(6, 3)), rng.normal(size=3), "relu"),
        (rng.normal(size=(3, 1)), rng.normal(size=1), "linear"),
    ]
    x, references = rng.normal(size=(20, 4)), rng.normal(size=(3, 4))

    def output(rows):
        a = rows
        for kernel, bias, activation in layers:
            z = a @ kernel + bias
            a = np.maximum(z, 0.0) if activation == "relu" else z
        return a[:, 0]

    phi, base = deeplift_head(layers, x, references)
    assert base == pytest.approx(output(references).mean())
    np.testing.assert_allclose(base + phi.sum(axis=1), output(x), atol=1e-10)
