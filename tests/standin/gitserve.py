"""Git smart HTTP for the stand-in's repositories, through the `git http-backend` CGI.

Each added repository is linked into a private project root as `<owner>/<repo>.git`, so clone URLs
look like github.com's. Only fetching is served (upload-pack); fetching any commit by SHA is allowed.
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

GIT_PATH = re.compile(
    r"^/(?P<owner>[^/]+)/(?P<repo>[^/]+?)(?:\.git)?/(?P<rest>info/refs|git-upload-pack|git-receive-pack|"
    r"HEAD|objects/.*)$"
)
SERVER_GIT_CONFIG = {
    "uploadpack.allowAnySHA1InWant": "true",
    "uploadpack.allowReachableSHA1InWant": "true",
    "uploadpack.allowTipSHA1InWant": "true",
    "uploadpack.allowFilter": "true",
    "safe.directory": "*",
}
BACKEND_TIMEOUT = 300


@dataclass
class GitResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def git_dir_of(path: Path) -> Path:
    """The git directory of a bare or non-bare repository at `path`."""
    result = subprocess.run(
        ["git", "-C", str(path), "rev-parse", "--absolute-git-dir"],
        capture_output=True,
        text=True,
        env=_clean_env(),
        check=False,
    )
    if result.returncode != 0:
        raise ValueError(f"{path} is not a git repository: {result.stderr.strip()}")
    return Path(result.stdout.strip())


def commit_exists(git_dir: Path, sha: str) -> bool:
    """True when `sha` is a full 40-hex id of a commit in the repository."""
    if not re.fullmatch(r"[0-9a-f]{40}", sha):
        return False
    result = subprocess.run(
        ["git", "--git-dir", str(git_dir), "cat-file", "-e", f"{sha}^{{commit}}"],
        capture_output=True,
        env=_clean_env(),
        check=False,
    )
    return result.returncode == 0


def _clean_env() -> dict[str, str]:
    """An environment free of the caller's GIT_* variables and user/system config."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}
    env.update(GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull, GIT_TERMINAL_PROMPT="0")
    env["GIT_CONFIG_COUNT"] = str(len(SERVER_GIT_CONFIG))
    for index, (key, value) in enumerate(SERVER_GIT_CONFIG.items()):
        env[f"GIT_CONFIG_KEY_{index}"] = key
        env[f"GIT_CONFIG_VALUE_{index}"] = value
    return env


class GitProjectRoot:
    """A temporary directory of `<owner>/<repo>.git` links that `git http-backend` serves."""

    def __init__(self) -> None:
        self.path = Path(tempfile.mkdtemp(prefix="github-standin-git-"))

    def add(self, full_name: str, repository: Path) -> Path:
        """Link `repository` (bare or not) in as `full_name`; its git directory."""
        git_dir = git_dir_of(repository)
        link = self.path / f"{full_name}.git"
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.is_symlink():
            link.unlink()
        link.symlink_to(git_dir, target_is_directory=True)
        return git_dir

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)

    def serve(
        self, method: str, full_name: str, rest: str, query: str, headers: dict[str, str], body: bytes
    ) -> GitResponse:
        """Run `git http-backend` for one request and translate its CGI answer."""
        if headers.get("content-encoding", "").lower() in ("gzip", "x-gzip"):
            body = gzip.decompress(body)
        env = _clean_env()
        env.update(
            GIT_PROJECT_ROOT=str(self.path),
            GIT_HTTP_EXPORT_ALL="1",
            PATH_INFO=f"/{full_name}.git/{rest}",
            QUERY_STRING=query,
            REQUEST_METHOD=method,
            CONTENT_TYPE=headers.get("content-type", ""),
            CONTENT_LENGTH=str(len(body)),
            REMOTE_USER="x-access-token",
            REMOTE_ADDR="127.0.0.1",
            SERVER_PROTOCOL="HTTP/1.1",
        )
        if headers.get("git-protocol"):
            env["GIT_PROTOCOL"] = headers["git-protocol"]
        result = subprocess.run(
            ["git", "http-backend"],
            input=body,
            capture_output=True,
            env=env,
            timeout=BACKEND_TIMEOUT,
            check=False,
        )
        if result.returncode != 0 and not result.stdout:
            message = result.stderr.decode("utf-8", "replace").strip()
            return GitResponse(
                500, [("Content-Type", "text/plain")], f"git http-backend failed: {message}\n".encode()
            )
        return parse_cgi_output(result.stdout)


def parse_cgi_output(output: bytes) -> GitResponse:
    """Split a CGI response into status, headers and body."""
    separators = [index for index in (output.find(b"\r\n\r\n"), output.find(b"\n\n")) if index >= 0]
    if not separators:
        return GitResponse(502, [("Content-Type", "text/plain")], b"malformed CGI response\n")
    end = min(separators)
    head = output[:end].decode("latin-1")
    body = output[end + (4 if output[end : end + 4] == b"\r\n\r\n" else 2) :]
    status, headers = 200, []
    for line in head.splitlines():
        name, _, value = line.partition(":")
        if name.lower() == "status":
            status = int(value.strip().split()[0])
        elif name:
            headers.append((name.strip(), value.strip()))
    return GitResponse(status, headers, body)


def read_blob(git_dir: Path, ref: str, path: str) -> tuple[bytes, str] | None:
    """(content, blob sha) of `path` at `ref`, or None when the ref or file does not exist."""
    spec = f"{ref}:{path}"
    sha = subprocess.run(["git", "--git-dir", str(git_dir), "rev-parse", "--verify", "-q", spec],
                         capture_output=True, text=True)
    kind = subprocess.run(["git", "--git-dir", str(git_dir), "cat-file", "-t", spec], capture_output=True, text=True)
    if sha.returncode != 0 or kind.stdout.strip() != "blob":
        return None
    content = subprocess.run(["git", "--git-dir", str(git_dir), "cat-file", "blob", spec], capture_output=True)
    return content.stdout, sha.stdout.strip()
