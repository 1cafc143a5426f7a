"""Worker pools for the stages that spread work over processes: forked where that is safe,
spawned where it is not."""

from __future__ import annotations

import multiprocessing
import sys
import threading
from multiprocessing.context import BaseContext

# Libraries that start native threads Python's `threading` does not count.
THREADED_LIBRARIES = ("tensorflow", "torch", "jax")


def pool_context() -> BaseContext:
    """'fork' (cheap: workers inherit what is loaded) unless this process runs other threads,
    then 'spawn'. A forked child gets every lock another thread held at that moment, and waits
    on it forever: Python threads show in `threading`, but a library's native thread pools
    (TensorFlow's, imported by a model stage or a test before) do not, so their import counts."""
    threaded = threading.active_count() > 1 or any(
        name in sys.modules for name in THREADED_LIBRARIES
    )
    return multiprocessing.get_context("spawn" if threaded else "fork")
