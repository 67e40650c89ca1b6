"""`make run`'s banner: the credentials it uses, shown only while they are the public development values."""

from __future__ import annotations

from syncapi.config import Settings
from syncapi.devrun import banner, is_loopback


def test_the_banner_prints_the_development_credentials_and_the_second_terminal_commands():
    settings = Settings.from_env(environ={"SYNCAPI_ENV": "development", "SYNCAPI_MAKE_RUN": "1", "HOST": "127.0.0.1"})
    text = banner(settings, {"HOST": "127.0.0.1", "PORT": "18010", "SANDBOX_PORT": "18011"})
    assert "syncapi is starting on 127.0.0.1" in text
    assert "http://127.0.0.1:18010/api/docs" in text
    assert "WEBHOOK_SECRET=dev-webhook-secret" in text and "API_TOKEN=dev-api-token" in text
    assert "bin/syncapi webhook send-test order 1" in text
    assert "reachable from other machines" not in text


def test_real_secrets_are_never_printed():
    environ = {
        "SYNCAPI_ENV": "development",
        "WEBHOOK_SECRET": "a-real-secret-0123456789",
        "API_TOKEN": "a-real-token-0123456789",
        "MAGENTO_BASE_URL": "https://shop.example.com",
        "MAGENTO_AUTH": "bearer",
        "MAGENTO_ACCESS_TOKEN": "a-real-magento-token",
        "DASHBOARD_USER": "admin",
        "DASHBOARD_PASSWORD": "a-real-password",
    }
    text = banner(Settings.from_env(environ=environ), {"HOST": "0.0.0.0", "PORT": "8000"})  # noqa: S104
    for value in ("a-real-secret", "a-real-token", "a-real-magento-token", "a-real-password"):
        assert value not in text
    assert "WEBHOOK_SECRET from your settings (not shown)" in text
    assert "listening on 0.0.0.0: reachable from other machines, development defaults are off" in text


def test_loopback_addresses():
    assert all(is_loopback(host) for host in ("127.0.0.1", "127.0.1.1", "localhost", "::1"))
    assert not any(is_loopback(host) for host in ("0.0.0.0", "192.168.1.5", "::", "example.com"))  # noqa: S104
