"""Headless Chromium for the admin UI tests: Debian's ``chromium`` (``/usr/bin/chromium``, installed
by ``scripts/test.sh``) driven by Playwright for Python, never a browser Playwright downloads.
Tests that need it are skipped, with the reason, when either is missing.

Screenshots go to ``$SWITCHGEAR_UI_ARTIFACTS`` when set (``docs/ui`` to refresh the documentation's
pictures), else to an ``ui-artifacts`` folder of the test session's temporary directory.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("SWITCHGEAR_CHROMIUM", "/usr/bin/chromium")


def chromium_path() -> str:
    path = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    if path is None:
        pytest.skip(f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium)")
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    path = chromium_path()
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, headless=True, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = os.environ.get("SWITCHGEAR_UI_ARTIFACTS")
    folder = Path(where) if where else tmp_path_factory.mktemp("ui-artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
