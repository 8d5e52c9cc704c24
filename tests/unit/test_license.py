"""The LICENSE file is the licence pyproject.toml declares, in full."""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# MD5 of the Apache License 2.0 as published (http://www.apache.org/licenses/LICENSE-2.0.txt).
APACHE_2_0_MD5 = "3b83ef96387f14655fc854ddc3c6bd57"
COPYRIGHT = "   Copyright 2026 the switchgear authors\n"


def test_license_is_the_full_apache_2_0_text_with_our_copyright_line() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["license"]
    assert declared == "Apache-2.0"
    text = (ROOT / "LICENSE").read_text()
    assert COPYRIGHT in text
    standard = text.replace(COPYRIGHT, "   Copyright [yyyy] [name of copyright owner]\n")
    assert hashlib.md5(standard.encode()).hexdigest() == APACHE_2_0_MD5
