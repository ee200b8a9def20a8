from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from gallery_core.settings import REPO_ROOT, Settings


def test_defaults_bind_every_server_to_loopback() -> None:
    s = Settings(_env_file=None)
    assert s.kafka.bootstrap_servers.startswith("127.0.0.1:")
    assert s.connect.url.startswith("http://127.0.0.1:")
    assert s.elasticsearch.url.startswith("http://127.0.0.1:")
    assert s.api.url == "http://127.0.0.1:8000"


def test_nested_values_come_from_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GALLERY_KAFKA__BOOTSTRAP_SERVERS", "broker-1:9092")
    monkeypatch.setenv("GALLERY_LIMITS__MAX_IMAGE_BYTES", "1048576")
    s = Settings(_env_file=None)
    assert s.kafka.bootstrap_servers == "broker-1:9092"
    assert s.limits.max_record_bytes == 1048576 + s.limits.record_overhead_bytes


def test_paths_are_made_absolute(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GALLERY_PATHS__WATCH_DIR", "incoming")
    s = Settings(_env_file=None)
    assert s.paths.watch_dir == tmp_path / "incoming"
    assert s.paths.run_dir == REPO_ROOT / ".run"


def test_cache_lives_outside_the_repository() -> None:
    cache = Settings(_env_file=None).paths.cache_dir
    assert REPO_ROOT not in cache.parents


@pytest.mark.parametrize("placeholder", ["changeme", "password", ""])
def test_placeholder_elasticsearch_password_is_refused(
    monkeypatch: pytest.MonkeyPatch, placeholder: str
) -> None:
    monkeypatch.setenv("GALLERY_ELASTICSEARCH__USERNAME", "elastic")
    monkeypatch.setenv("GALLERY_ELASTICSEARCH__PASSWORD", placeholder)
    with pytest.raises(ValidationError, match="placeholder"):
        Settings(_env_file=None)


def test_username_without_password_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GALLERY_ELASTICSEARCH__USERNAME", "elastic")
    with pytest.raises(ValidationError, match="both"):
        Settings(_env_file=None)
