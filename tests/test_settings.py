"""Settings come from the environment and fail loudly, naming the variable."""

import pytest

from crm.settings import SANDBOX_ACCESS_TOKEN, ConfigError, Settings

REAL = {
    "LINE_CHANNEL_SECRET": "0123456789abcdef0123456789abcdef",
    "LINE_CHANNEL_ACCESS_TOKEN": "token",
    "SECRET_KEY": "s" * 32,
}


def test_no_channel_means_sandbox_mode_with_local_api():
    settings = Settings.from_env({})
    assert settings.sandbox
    assert settings.line_channel_access_token == SANDBOX_ACCESS_TOKEN
    assert settings.line_api_host == "http://127.0.0.1:8090"
    assert len(settings.secret_key) >= 32


def test_real_channel_talks_to_line_itself():
    settings = Settings.from_env(REAL)
    assert not settings.sandbox
    assert settings.line_api_host is None
    assert settings.shop_timezone == "Asia/Tokyo"


@pytest.mark.parametrize(
    ("change", "names"),
    [
        ({"LINE_CHANNEL_ACCESS_TOKEN": ""}, "LINE_CHANNEL_ACCESS_TOKEN"),
        ({"LINE_CHANNEL_SECRET": ""}, "LINE_CHANNEL_SECRET"),
        ({"LINE_CHANNEL_SECRET": "not-a-secret"}, "LINE_CHANNEL_SECRET"),
        ({"LINE_CHANNEL_SECRET": " 0123456789abcdef0123456789abcdef"}, "LINE_CHANNEL_SECRET"),
        ({"SECRET_KEY": ""}, "SECRET_KEY"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY"),
        ({"SHOP_TIMEZONE": "Mars/Olympus"}, "SHOP_TIMEZONE"),
        ({"PORT": "eighty"}, "PORT"),
        ({"PORT": "-1"}, "PORT"),
        ({"LINE_API_HOST": "127.0.0.1:8090"}, "LINE_API_HOST"),
    ],
)
def test_bad_values_name_the_variable(change, names):
    with pytest.raises(ConfigError, match=names):
        Settings.from_env({**REAL, **change})


def test_api_host_loses_its_trailing_slash():
    settings = Settings.from_env({**REAL, "LINE_API_HOST": "http://127.0.0.1:9000/"})
    assert settings.line_api_host == "http://127.0.0.1:9000"


def test_shop_timezone_is_used_for_display():
    settings = Settings.from_env({**REAL, "SHOP_TIMEZONE": "Europe/Berlin"})
    assert settings.shop_timezone == "Europe/Berlin"


def test_inbox_settings_from_the_environment():
    from datetime import timedelta

    from crm.settings import Settings

    sandbox = Settings.from_env({})
    assert sandbox.session_cookie_secure is False  # the local sandbox speaks plain HTTP
    assert sandbox.trusted_proxies == 0
    assert sandbox.staff_idle_timeout == timedelta(hours=2)
    production = Settings.from_env(
        {
            "LINE_CHANNEL_SECRET": "0123456789abcdef0123456789abcdef",
            "LINE_CHANNEL_ACCESS_TOKEN": "token",
            "SECRET_KEY": "s" * 32,
            "STAFF_IDLE_MINUTES": "30",
            "TRUSTED_PROXIES": "1",
        }
    )
    assert production.session_cookie_secure is True
    assert production.staff_idle_timeout == timedelta(minutes=30)
    assert production.trusted_proxies == 1


def test_bad_cookie_setting_is_named():
    import pytest

    from crm.settings import ConfigError, Settings

    with pytest.raises(ConfigError, match="SESSION_COOKIE_SECURE"):
        Settings.from_env({"SESSION_COOKIE_SECURE": "maybe"})


def test_worker_settings_from_the_environment():
    default = Settings.from_env(REAL)
    assert (default.send_threads, default.send_loops, default.worker_poll_ms) == (64, 2, 100)
    tuned = {**REAL, "SEND_THREADS": "96", "SEND_LOOPS": "4", "WORKER_POLL_MS": "250"}
    worker = Settings.from_env(tuned)
    assert (worker.send_threads, worker.send_loops, worker.worker_poll_ms) == (96, 4, 250)
    with pytest.raises(ConfigError, match="SEND_THREADS"):
        Settings.from_env({**REAL, "SEND_THREADS": "0"})


def test_public_base_url_must_be_https_with_a_real_channel():
    with pytest.raises(ConfigError, match="PUBLIC_BASE_URL"):
        Settings.from_env({**REAL, "PUBLIC_BASE_URL": "http://crm.example.jp"})
    settings = Settings.from_env({**REAL, "PUBLIC_BASE_URL": "https://crm.example.jp/"})
    assert settings.public_base_url == "https://crm.example.jp"
    assert Settings.from_env(REAL).public_base_url is None


@pytest.mark.parametrize("basic_id", ["shop", "@a", "@Shop Name"])
def test_a_malformed_basic_id_is_named(basic_id):
    with pytest.raises(ConfigError, match="LINE_BASIC_ID"):
        Settings.from_env({**REAL, "LINE_BASIC_ID": basic_id})
