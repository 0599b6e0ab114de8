"""A served process leaves what it built at start-up out of the garbage collector's full
collections (``gc.freeze``, ADR 45); an app built by a test does not, so that the suite's
processes, which build hundreds, keep collecting what each one leaves behind."""

from __future__ import annotations

import gc
from pathlib import Path

from services.app import create_app
from tests.conftest import store_settings
from tests.support.infra import ServerThread


def test_a_served_app_freezes_its_start_up_heap_and_a_tests_app_does_not(tmp_path: Path) -> None:
    gc.unfreeze()
    try:
        with ServerThread(create_app(store_settings(tmp_path / "a"), ["intake"])):
            assert gc.get_freeze_count() == 0
        with ServerThread(create_app(store_settings(tmp_path / "b"), ["intake"], frozen_heap=True)):
            assert gc.get_freeze_count() > 10_000  # the modules, the store, the app
    finally:
        gc.unfreeze()
