"""Settings come from the environment; a bad one is one clear line, never a traceback."""

import subprocess
import sys

import pytest

from verdict.errors import ConfigError
from verdict.settings import Settings

KEY = "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n"


def test_defaults_and_probot_names(tmp_path):
    key = tmp_path / "key.pem"
    key.write_text(KEY)
    s = Settings.from_env({"APP_ID": "12", "PRIVATE_KEY_PATH": str(key), "WEBHOOK_SECRET": "s",
                           "GITHUB_API_URL": "https://ghe.example.com/api/v3/", "WEBHOOK_PATH": "/hooks/gh",
                           "LOG_LEVEL": "debug", "DATABASE_URL": "postgres://u@h/db"})
    assert s.app_id == 12 and s.private_key == KEY and s.webhook_secret == "s"
    assert s.github_api_url == "https://ghe.example.com/api/v3"
    assert s.webhook_path == "/hooks/gh" and s.log_level == "DEBUG"
    assert s.database_url == "postgresql+psycopg://u@h/db"
    s.require_github_app()
    assert Settings.from_env({}).database_url.startswith("sqlite:///")
    assert Settings.from_env({}).impact is True and Settings.from_env({"VERDICT_IMPACT": "off"}).impact is False


@pytest.mark.parametrize("env,message", [
    ({"APP_ID": "abc"}, "APP_ID must be the numeric"),
    ({"PRIVATE_KEY": "not a key"}, "not a PEM private key"),
    ({"PRIVATE_KEY_PATH": "/nonexistent/key.pem"}, "cannot be read"),
    ({"PRIVATE_KEY": KEY, "PRIVATE_KEY_PATH": "/x"}, "not both"),
    ({"GITHUB_API_URL": "ftp://x"}, "GITHUB_API_URL must be an http(s) URL"),
    ({"REDIS_URL": "http://x"}, "REDIS_URL must be a redis:// URL"),
    ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL must be a sqlite"),
    ({"WEBHOOK_PATH": "webhook"}, "WEBHOOK_PATH must start with '/'"),
    ({"LOG_LEVEL": "loud"}, "LOG_LEVEL must be one of"),
    ({"VERDICT_RUN_TIMEOUT": "-1"}, "VERDICT_RUN_TIMEOUT must be a positive number"),
    ({"VERDICT_IMPACT": "maybe"}, "VERDICT_IMPACT must be on or off"),
])
def test_malformed_settings_are_one_clear_error(env, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Settings.from_env(env)


def test_missing_app_settings_are_named():
    with pytest.raises(ConfigError, match="APP_ID, PRIVATE_KEY or PRIVATE_KEY_PATH, WEBHOOK_SECRET"):
        Settings.from_env({}).require_github_app()


@pytest.mark.parametrize("argv", [["worker"], ["web"]])
def test_cli_start_up_error_is_one_line(argv, tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "APP_ID": "nope"}
    proc = subprocess.run([sys.executable, "-m", "verdict.cli", *argv], env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "verdict: configuration error: APP_ID must be the numeric GitHub App id, got 'nope'"


def test_gunicorn_start_up_error_is_one_clear_line(tmp_path):
    env = {"PATH": f"{sys.prefix}/bin:/usr/bin:/bin", "HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", "import wsgi"], env=env, capture_output=True, text=True,
                          timeout=60, cwd=tmp_path)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "verdict: configuration error: missing setting: WEBHOOK_SECRET" in proc.stderr
