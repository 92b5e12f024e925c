"""The licence file agrees with package.xml and setup.py (Apache-2.0)."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_license_file_is_the_full_apache_2_text() -> None:
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text
    assert "END OF TERMS AND CONDITIONS" in text and "APPENDIX: How to apply the Apache License" in text
    assert len(text.split()) > 1500  # the whole text, not a one-line notice


def test_package_metadata_names_the_same_licence() -> None:
    assert re.search(r"<license>\s*Apache-2.0\s*</license>", (ROOT / "package.xml").read_text())
    assert 'license="Apache-2.0"' in (ROOT / "setup.py").read_text()
