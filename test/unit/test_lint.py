"""The whole project passes ruff with the project's own settings (ruff.toml)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_ruff_is_clean() -> None:
    ruff = Path(sys.executable).parent / "ruff"
    out = subprocess.run([str(ruff), "check", "--no-cache", "--output-format", "concise", "."],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr


def test_ruff_catches_a_bad_file(tmp_path: Path) -> None:
    """The same settings flag an unused import and a long line (the check itself works)."""
    (tmp_path / "ruff.toml").write_text((ROOT / "ruff.toml").read_text())
    (tmp_path / "bad.py").write_text("import os\nx = '" + "a" * 130 + "'\n")
    ruff = Path(sys.executable).parent / "ruff"
    out = subprocess.run([str(ruff), "check", "--no-cache", "--output-format", "concise", "."],
                         cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert "F401" in out.stdout and "E501" in out.stdout
