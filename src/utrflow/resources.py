"""What a run spends: the config's `resources` section, typed.

The cores and GPUs a job takes, and how many ensemble members and search candidates the run
trains, decide which jobs run and what they take, never what one job computes: so no job's
settings hold them, and the settings declarations (`utrflow.settings`) are plain section and key
names. The workflow reads them when it plans jobs; the model reads the search budget in-process.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from utrflow.config import section_defaults, settings_from

_DEFAULTS = section_defaults("resources")


@dataclass(frozen=True)
class Resources:
    """Every key of the config's `resources` section."""

    demux_threads: int = _DEFAULTS["demux_threads"]
    consensus_threads: int = _DEFAULTS["consensus_threads"]
    gpus: int = _DEFAULTS["gpus"]
    ensemble: int = _DEFAULTS["ensemble"]
    candidates: int = _DEFAULTS["candidates"]
    gpu_candidates: int = _DEFAULTS["gpu_candidates"]

    @property
    def search_budget(self) -> int:
        """Search candidates trained: the GPU budget when the training jobs ask for GPUs."""
        return self.gpu_candidates if self.gpus else self.candidates


def resources(config: Mapping[str, Any]) -> Resources:
    """The resources of a validated config (the defaults where it has no such section)."""
    return settings_from(Resources, config.get("resources", {}))
