"""Settings: read once from the environment into one typed object, validated at start-up.

Names follow Probot where Probot has one (APP_ID, PRIVATE_KEY, PRIVATE_KEY_PATH,
WEBHOOK_SECRET, GITHUB_API_URL, REDIS_URL, DATABASE_URL, WEBHOOK_PATH, LOG_LEVEL);
Verdict's own knobs are prefixed VERDICT_.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlparse

from verdict.errors import ConfigError

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
RUNNERS = ("process", "docker", "qemu")


@dataclass(frozen=True)
class Settings:
    app_id: int | None = None
    private_key: str | None = field(default=None, repr=False)
    webhook_secret: str | None = field(default=None, repr=False)
    github_api_url: str = "https://api.github.com"
    redis_url: str = "redis://127.0.0.1:6379/0"
    database_url: str = "sqlite:///verdict.db"
    webhook_path: str = "/webhook"
    log_level: str = "INFO"
    public_url: str = "http://localhost:3000"  # where /runs/<id> pages are reachable (details_url)
    data_dir: Path = Path("var")  # workspaces and artifacts
    runner: str = "docker"  # default runner for the service
    run_timeout: float = 900.0  # wall-clock seconds for one test command
    run_memory_mb: int = 2048
    run_cpus: float = 1.0
    stale_after: float = 120.0  # seconds without a heartbeat before the reaper finishes a run
    queue_prefix: str = "verdict"  # RQ queue names: <prefix>:checks and <prefix>:runs
    impact: bool = True  # record impact data on trusted full pytest/Mocha runs and narrow selections with it

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    def require_github_app(self) -> None:
        """The service needs the app's identity; the local `verdict check` does not."""
        missing = [n for n, v in (("APP_ID", self.app_id), ("PRIVATE_KEY or PRIVATE_KEY_PATH",
                   self.private_key), ("WEBHOOK_SECRET", self.webhook_secret)) if not v]
        if missing:
            raise ConfigError(f"missing setting{'s' if len(missing) > 1 else ''}: {', '.join(missing)}"
                              " (see docs/configuration.md)")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        get = lambda name: (env.get(name) or "").strip() or None  # noqa: E731
        values: dict[str, object] = {}
        if (app_id := get("APP_ID")) is not None:
            if not app_id.isdigit():
                raise ConfigError(f"APP_ID must be the numeric GitHub App id, got {app_id!r}")
            values["app_id"] = int(app_id)
        values["private_key"] = _private_key(get("PRIVATE_KEY"), get("PRIVATE_KEY_PATH"))
        values["webhook_secret"] = get("WEBHOOK_SECRET")
        for name, attr, check in (
            ("GITHUB_API_URL", "github_api_url", _http_url),
            ("REDIS_URL", "redis_url", _redis_url),
            ("DATABASE_URL", "database_url", _database_url),
            ("WEBHOOK_PATH", "webhook_path", _path),
            ("VERDICT_PUBLIC_URL", "public_url", _http_url),
        ):
            if (raw := get(name)) is not None:
                values[attr] = check(name, raw)
        if (level := get("LOG_LEVEL")) is not None:
            if level.upper() not in LOG_LEVELS:
                raise ConfigError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {level!r}")
            values["log_level"] = level.upper()
        if (runner := get("VERDICT_RUNNER")) is not None:
            if runner not in RUNNERS:
                raise ConfigError(f"VERDICT_RUNNER must be one of {', '.join(RUNNERS)}, got {runner!r}")
            values["runner"] = runner
        if (data_dir := get("VERDICT_DATA_DIR")) is not None:
            values["data_dir"] = Path(data_dir)
        for name, attr, kind in (
            ("VERDICT_RUN_TIMEOUT", "run_timeout", float),
            ("VERDICT_RUN_MEMORY_MB", "run_memory_mb", int),
            ("VERDICT_RUN_CPUS", "run_cpus", float),
            ("VERDICT_STALE_AFTER", "stale_after", float),
        ):
            if (raw := get(name)) is not None:
                values[attr] = _positive(name, raw, kind)
        if (prefix := get("VERDICT_QUEUE_PREFIX")) is not None:
            values["queue_prefix"] = prefix
        if (impact := get("VERDICT_IMPACT")) is not None:
            if impact.lower() not in ("on", "off", "1", "0", "true", "false"):
                raise ConfigError(f"VERDICT_IMPACT must be on or off, got {impact!r}")
            values["impact"] = impact.lower() in ("on", "1", "true")
        return cls(**values)  # type: ignore[arg-type]


def _private_key(inline: str | None, path: str | None) -> str | None:
    if inline and path:
        raise ConfigError("set PRIVATE_KEY or PRIVATE_KEY_PATH, not both")
    if path:
        try:
            inline = Path(path).read_text()
        except OSError as exc:
            raise ConfigError(f"PRIVATE_KEY_PATH {path!r} cannot be read: {exc.strerror}") from exc
    if inline is None:
        return None
    key = inline.replace("\\n", "\n").strip() + "\n"  # one-line keys from .env files
    if "-----BEGIN" not in key or "PRIVATE KEY-----" not in key:
        raise ConfigError("PRIVATE_KEY is not a PEM private key (expected '-----BEGIN ... PRIVATE KEY-----');"
                          " download it from the GitHub App's settings page")
    return key


def _http_url(name: str, raw: str) -> str:
    parsed = urlparse(raw)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(f"{name} must be an http(s) URL, got {raw!r}")
    return raw.rstrip("/")


def _redis_url(name: str, raw: str) -> str:
    if urlparse(raw).scheme not in ("redis", "rediss", "unix"):
        raise ConfigError(f"{name} must be a redis:// URL, got {raw!r}")
    return raw


def _database_url(name: str, raw: str) -> str:
    scheme = urlparse(raw).scheme.split("+")[0]
    if scheme not in ("sqlite", "postgresql", "postgres"):
        raise ConfigError(f"{name} must be a sqlite:/// or postgresql:// URL, got {raw!r}")
    if scheme == "postgres":  # Heroku-style alias
        raw = "postgresql" + raw[len("postgres"):]
    if raw.startswith("postgresql://"):
        raw = "postgresql+psycopg://" + raw[len("postgresql://"):]
    return raw


def _path(name: str, raw: str) -> str:
    if not raw.startswith("/"):
        raise ConfigError(f"{name} must start with '/', got {raw!r}")
    return raw


def _positive(name: str, raw: str, kind: type) -> float | int:
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a positive number, got {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be a positive number, got {raw!r}")
    return value
