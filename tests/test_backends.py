"""The model code is backend-neutral: train once on PyTorch (CPU) and check it learned."""

from __future__ import annotations

import importlib.util
import os
import textwrap

import pytest
from conftest import python_json

SCRIPT = textwrap.dedent(
    """
    import json, numpy as np, pandas as pd, keras
    from utrflow import config
    from utrflow.model.network import predict
    from utrflow.sequences import one_hot, random_sequences
    from utrflow.model.training import train_member

    rng = np.random.default_rng(0)
    seqs = random_sequences(rng, 800, 20, 20)
    motif = rng.random(800) < 0.5
    seqs = [s[:6] + "CCGGAA" + s[12:] if m else s for s, m in zip(seqs, motif)]
    rows = pd.DataFrame({"sequence": seqs, "label": motif * 2.0 + rng.normal(0, 0.2, 800),
                         "split": ["train"] * 600 + ["validation"] * 100 + ["test"] * 100})
    cfg = config.validate({"model": {"conv_filters": [8], "kernel_size": 6, "dense_units": 8,
                                     "epochs": 20, "patience": 4, "learning_rate": 0.003}})
    member = train_member(one_hot(seqs), rows, None, cfg["model"], seed=1, threads=2)
    test = (rows["split"] == "test").to_numpy()
    r = np.corrcoef(predict(member.model, one_hot(seqs)[test]), rows["label"][test])[0, 1]
    print(json.dumps({"backend": keras.backend.backend(), "r": float(r),
                      "device": member.info["device"]}))
    """
)


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("torch") is None,
    reason="PyTorch is not installed (make test EXTRAS=workflow,dev,backends installs it)",
)
def test_training_runs_on_the_pytorch_backend():
    env = {**os.environ, "KERAS_BACKEND": "torch", "CUDA_VISIBLE_DEVICES": ""}
    result = python_json(SCRIPT, env=env)
    assert result["backend"] == "torch"
    assert result["device"].startswith("cpu")
    assert result["r"] > 0.9
