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


def test_the_stack_env_is_read_first_then_dotenv_then_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from gallery_core.settings import STACK_ENV

    assert Settings.model_config["env_file"] == (STACK_ENV, ".env")
    stack, dotenv = tmp_path / "stack.env", tmp_path / ".env"
    stack.write_text(
        "GALLERY_KAFKA__BOOTSTRAP_SERVERS=127.0.0.1:9092,127.0.0.1:9094\n"
        "GALLERY_CONNECT__URL=http://127.0.0.1:8083,http://127.0.0.1:8084/\n"
    )
    dotenv.write_text("GALLERY_CONNECT__URL=http://connect:8083\n")
    s = Settings(_env_file=(stack, dotenv))
    assert s.kafka.brokers == ["127.0.0.1:9092", "127.0.0.1:9094"]
    assert s.connect.urls == ["http://connect:8083"]
    monkeypatch.setenv("GALLERY_KAFKA__BOOTSTRAP_SERVERS", "broker:9092")
    assert Settings(_env_file=(stack, dotenv)).kafka.brokers == ["broker:9092"]
    assert Settings(_env_file=stack).connect.urls == [
        "http://127.0.0.1:8083",
        "http://127.0.0.1:8084",
    ]
