"""Closed-set options: a value outside the set is a usage error that names it, not a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from gallery_cli.main import app


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["export-neighbours", "{out}", "--mode", "fuzzy"], "--mode"),
        (["export-neighbours", "{out}", "--metric", "fuzzy"], "--metric"),
        (["eval", "--api", "http://127.0.0.1:9", "--mode", "fuzzy"], "--mode"),
    ],
)
def test_an_unknown_mode_or_metric_is_a_usage_error_listing_the_choices(
    tmp_path: Path, args: list[str], option: str
) -> None:
    argv = [a.replace("{out}", str(tmp_path / "out")) for a in args]
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert option in result.output and "'fuzzy' is not one of:" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()  # refused before anything was written
