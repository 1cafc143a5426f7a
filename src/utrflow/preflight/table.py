"""The start-up checks of a user's table and of the sequences to score: read whole now, split
and encoded exactly as the jobs will, so every problem those jobs would meet stops the run before
any of them starts.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from utrflow.errors import InputError
from utrflow.model.encode import build_features
from utrflow.model.predict import read_sequences


def check_table(
    table: pd.DataFrame, config: Mapping[str, Any], path: str | Path, source: str
) -> None:
    """A user's table (read whole) against what the config asks of it: it is split and its
    features built exactly as the encode job will, so every problem that job would meet stops
    the run now, naming the file (and `source`, the config, for a key)."""
    plates = table["plate"].fillna("").astype(str)
    if config["split"]["method"] == "by_plate" and plates.nunique() < 3:
        raise InputError(
            f"{source}: key 'split.method': by_plate needs a 'plate' column in {path} naming "
            f"at least 3 plates (it names {plates[plates != ''].nunique()}); use random or "
            "by_cluster"
        )
    build_features(table, dict(config), source=str(path))


def check_predict_input(path: Path) -> None:
    """The sequences to score (`predict.input`) are read whole now, not after training."""
    read_sequences(path)
