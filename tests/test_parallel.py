"""Worker pools: forked only where no other thread could hold a lock the child inherits."""

from __future__ import annotations

import sys
import threading
import types

import pytest

from utrflow import parallel


@pytest.fixture
def no_threaded_library(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in parallel.THREADED_LIBRARIES:
        monkeypatch.delitem(sys.modules, name, raising=False)


def test_a_single_threaded_process_forks(no_threaded_library) -> None:
    if threading.active_count() > 1:
        pytest.skip("another thread runs in this test process")
    assert parallel.pool_context().get_start_method() == "fork"


def test_a_process_that_loaded_tensorflow_spawns(no_threaded_library, monkeypatch) -> None:
    """TensorFlow's thread pools are native: `threading` does not count them."""
    monkeypatch.setitem(sys.modules, "tensorflow", types.ModuleType("tensorflow"))
    assert parallel.pool_context().get_start_method() == "spawn"


def test_a_process_running_a_python_thread_spawns(no_threaded_library) -> None:
    release = threading.Event()
    worker = threading.Thread(target=release.wait)
    worker.start()
    try:
        assert parallel.pool_context().get_start_method() == "spawn"
    finally:
        release.set()
        worker.join()
