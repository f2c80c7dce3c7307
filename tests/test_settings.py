from __future__ import annotations

from pathlib import Path

import pytest

from xianban.errors import ConfigError
from xianban.settings import load_settings


def test_defaults_need_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    s = load_settings()
    assert s.bus == "memory" and s.db_url.startswith("sqlite+aiosqlite:///")


def test_env_and_yaml_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "prod.yaml"
    config.write_text("bus: kafka\nkafka:\n  bootstrap: k1:9092,k2:9092\npartitions: 12\n")
    monkeypatch.setenv("XIANBAN_CONFIG", str(config))
    monkeypatch.setenv("XIANBAN_PARTITIONS", "24")
    s = load_settings()
    assert s.bus == "kafka" and s.kafka.bootstrap == "k1:9092,k2:9092"
    assert s.partitions == 24  # the environment wins over the file


def test_errors_name_the_setting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XIANBAN_PARTITIONS", "zero")
    with pytest.raises(ConfigError, match="partitions"):
        load_settings()
    monkeypatch.delenv("XIANBAN_PARTITIONS")
    monkeypatch.setenv("XIANBAN_CONFIG", str(tmp_path / "missing.yaml"))
    with pytest.raises(ConfigError, match="no such file"):
        load_settings()
