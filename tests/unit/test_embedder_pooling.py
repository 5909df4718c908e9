"""Sentence pooling and the embedder bundle's pooling config, without a model."""

from __future__ import annotations

import numpy as np
import pytest

from edge_models.embedder_onnx import PoolingConfig, mean_pool


def test_mean_pool_ignores_padding_and_normalises() -> None:
    hidden = np.array(
        [[[1.0, 0.0], [3.0, 0.0], [100.0, 100.0]], [[0.0, 2.0], [0.0, 2.0], [0.0, 2.0]]], dtype=np.float32
    )
    mask = np.array([[1, 1, 0], [1, 1, 1]], dtype=np.int64)
    raw = mean_pool(hidden, mask, normalize=False)
    np.testing.assert_allclose(raw, [[2.0, 0.0], [0.0, 2.0]])
    unit = mean_pool(hidden, mask)
    np.testing.assert_allclose(np.linalg.norm(unit, axis=1), [1.0, 1.0], rtol=1e-6)
    np.testing.assert_allclose(unit, [[1.0, 0.0], [0.0, 1.0]])
    assert unit.dtype == np.float32


def test_mean_pool_of_an_all_padding_row_is_zero_not_nan() -> None:
    out = mean_pool(np.ones((1, 2, 3), dtype=np.float32), np.zeros((1, 2), dtype=np.int64))
    assert np.all(np.isfinite(out))
    assert np.all(out == 0.0)


def test_pooling_config_round_trip() -> None:
    config = PoolingConfig(max_length=64, dimension=384)
    assert PoolingConfig.from_json(config.to_json()) == config


@pytest.mark.parametrize(
    "text",
    [
        '{"schema_version": 2, "pooling": "mean", "normalize": true, "max_length": 128, "dimension": 384}',
        '{"schema_version": 1, "pooling": "cls", "normalize": true, "max_length": 128, "dimension": 384}',
        '{"schema_version": 1, "pooling": "mean", "normalize": true, "max_length": 9999, "dimension": 384}',
        '{"schema_version": 1, "pooling": "mean"}',
        "[]",
    ],
    ids=["newer-schema", "other-pooling", "too-long", "missing-keys", "not-an-object"],
)
def test_pooling_config_rejects_what_it_cannot_run(text: str) -> None:
    with pytest.raises((ValueError, KeyError)):
        PoolingConfig.from_json(text)
