"""Registration as the ``kalshi`` plugin, settings, hosts, and the standalone sandbox command."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

import arbkit
from arbkit.config import Settings
from arbkit.errors import ConfigError
from arbkit_kalshi.client import HOSTS, KalshiClient


def test_kalshi_is_an_installed_exchange() -> None:
    assert "kalshi" in arbkit.exchanges()
    client = arbkit.exchange("kalshi", env="demo")
    assert isinstance(client, KalshiClient)
    assert isinstance(client, arbkit.Exchange)
    assert client.base_url == HOSTS["demo"]


def test_settings_supply_credentials_without_leaking_them(private_pem: str) -> None:
    settings = Settings.from_mapping(
        {"KALSHI_API_KEY": "key-1", "KALSHI_SECRET": private_pem, "KALSHI_ENV": "demo"}
    )
    client = arbkit.exchange("kalshi", settings)
    assert isinstance(client, KalshiClient)
    assert client.base_url == HOSTS["demo"]
    assert client.signer is not None
    assert "PRIVATE" not in repr(client)
    assert "MII" not in repr(client.signer)


def test_key_file_and_explicit_base_url(private_pem: str, tmp_path: Path) -> None:
    key = tmp_path / "kalshi.key"
    key.write_text(private_pem)
    settings = Settings.from_mapping(
        {
            "KALSHI_API_KEY": "key-1",
            "KALSHI_PRIVATE_KEY_PATH": str(key),
            "KALSHI_BASE_URL": "http://127.0.0.1:9",
        }
    )
    client = KalshiClient.from_settings(settings)
    assert client.base_url == "http://127.0.0.1:9/trade-api/v2"
    assert KalshiClient.from_settings(settings, env="prod", base_url=None).base_url == HOSTS["prod"]


def test_half_configured_credentials_are_refused(private_pem: str) -> None:
    with pytest.raises(ConfigError):
        KalshiClient(api_key_id="key-1")
    with pytest.raises(ConfigError):
        KalshiClient(private_key=private_pem)
    with pytest.raises(ConfigError):
        KalshiClient(env="staging")


def test_standalone_sandbox_serves_the_bundled_scenario_and_stops_on_ctrl_c() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "arbkit_kalshi.sandbox", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        url = line.split()[3]
        assert url.startswith("http://127.0.0.1:")
        assert url.endswith("/trade-api/v2")
        with urllib.request.urlopen(url + "/markets?limit=2", timeout=5) as reply:  # noqa: S310 (loopback)
            body = json.load(reply)
        assert len(body["markets"]) == 2
        assert body["cursor"]
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
