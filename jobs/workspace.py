"""Fetch exactly one commit into a fresh workspace, authenticating with an installation token.

The token travels only in the git process's environment (GIT_CONFIG_* → http.extraHeader):
never on a command line, never in .git/config, never in a log line.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
from pathlib import Path

from verdict.errors import PermanentError, TransientError

FETCH_TIMEOUT = 300


def fetch_commit(clone_url: str, sha: str, dest: Path, token: str | None) -> None:
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    env = _git_env(token)
    _git(["init", "-q"], dest, env, token)
    _git(["fetch", "-q", "--depth=1", "--no-tags", clone_url, sha], dest, env, token)
    _git(["-c", "advice.detachedHead=false", "checkout", "-q", "--detach", "FETCH_HEAD"], dest, env, token)


def fetch_for_comparison(clone_url: str, dest: Path, token: str | None, head: str, others: list[str],
                         default_branch: str, depths: tuple[int, ...] = (50, 500, 5000)) -> bool:
    """Fetch `others` (base or before shas) and the default branch deep enough to find a merge base.

    False when no merge base turned up within the deepest fetch (the caller then runs everything).
    """
    env = _git_env(token)
    refs = [*others, f"+refs/heads/{default_branch}:refs/remotes/origin/{default_branch}"]
    for depth in depths:
        for ref in [head, *refs]:
            try:
                _git(["fetch", "-q", f"--depth={depth}", "--no-tags", clone_url, ref], dest, env, token)
            except PermanentError:
                continue  # a base that is gone (force-pushed away) is not an error: compare with the rest
        targets = [*others, f"origin/{default_branch}"]
        if any(_merge_base(dest, head, target) for target in targets):
            return True
    return False


def _merge_base(dest: Path, a: str, b: str) -> bool:
    return subprocess.run(["git", "merge-base", a, b], cwd=dest, capture_output=True).returncode == 0


def _git_env(token: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_TERMINAL_PROMPT="0", GIT_ASKPASS="true")
    if token:
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        env.update(GIT_CONFIG_COUNT="1", GIT_CONFIG_KEY_0="http.extraHeader",
                   GIT_CONFIG_VALUE_0=f"Authorization: Basic {basic}")
    return env


def _git(args: list[str], cwd: Path, env: dict[str, str], token: str | None) -> None:
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=FETCH_TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        raise TransientError(f"git {args[0]} timed out after {FETCH_TIMEOUT} s") from exc
    if proc.returncode == 0:
        return
    message = (proc.stderr or proc.stdout).strip()
    if token:
        message = message.replace(token, "***")
    if any(s in message for s in ("not our ref", "couldn't find remote ref", "unadvertised object",
                                  "Repository not found", "upload-pack: not our ref")):
        raise PermanentError(f"git {args[0]} failed: {message[-1000:]}")
    raise TransientError(f"git {args[0]} failed: {message[-1000:]}")
