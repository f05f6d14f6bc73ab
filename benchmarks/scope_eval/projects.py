"""The open-source projects the scope evaluation runs on, and how each is fetched, unpacked and made a git repo.

Each project is a pinned release fetched at benchmark time from its registry (a PyPI sdist with
`pip download --no-binary :all:`, an npm tarball with `npm pack`), cached under
`~/.cache/verdict/bench-scope/`, unpacked into a temporary folder and committed there as the base
commit. Python suites run in a virtualenv of their own under the cache (pytest plus each
project's test dependencies; the projects themselves are imported from their unpacked source
through PYTHONPATH, so the mutants are what runs). JavaScript test dependencies are installed
with `npm install --ignore-scripts` into a cached folder that the unpacked project links as
`node_modules` (ignored by git and by scope).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "verdict" / "bench-scope"
PYTEST = "pytest>=8"
GIT = ["git", "-c", "user.name=verdict-bench", "-c", "user.email=bench@localhost", "-c", "commit.gpgsign=false",
       "-c", "core.hooksPath=/dev/null", "-c", "init.defaultBranch=main"]
FETCH_TIMEOUT = 300  # seconds, for one download or install


@dataclass(frozen=True)
class Project:
    """A release to evaluate on: where its modules and tests are, and what its tests need."""

    name: str  # registry name
    version: str
    language: str  # "python" or "js"
    package: str  # folder holding the modules that are mutated
    tests: str  # folder holding the test files
    source: str = "."  # Python: the sys.path entry that imports the package
    test_deps: tuple[str, ...] = ()  # Python: pip requirements; JS: npm specs (name@range)
    why: str = ""


PROJECTS: tuple[Project, ...] = (
    Project("boltons", "26.2.0", "python", "boltons", "tests",
            why="~30 independent utility modules, empty __init__.py, one test file per module"),
    Project("python-dateutil", "4.0.0", "python", "src/dateutil", "tests", source="src",
            test_deps=("freezegun", "hypothesis", "pytest-cov", "tzdata"),
            why="lazy __init__.py (module __getattr__), subpackages parser/ tz/ zoneinfo/"),
    Project("jinja2", "3.1.6", "python", "src/jinja2", "tests", source="src", test_deps=("markupsafe", "trio"),
            why="eager __init__.py that imports the whole engine: the hard case for import graphs"),
    Project("pyflakes", "4.1.0", "python", "pyflakes", "pyflakes/test",
            why="tests inside the package, most going through one central checker module"),
    Project("qs", "6.17.1", "js", "lib", "test",
            test_deps=("tape@^5", "side-channel@^1.1.0", "for-each", "has-property-descriptors", "iconv-lite",
                       "mock-property", "has-override-mistake", "safer-buffer", "es-value-fixtures",
                       "object-inspect", "has-proto", "has-symbols", "has-bigints"),
            why="CommonJS, tape; tests require the package root ('../') and lib/ files"),
    Project("resolve", "1.22.14", "js", "lib", "test",
            test_deps=("tape@^5", "is-core-module@^2.16.1", "path-parse@^1.0.7",
                       "supports-preserve-symlinks-flag@^1.0.0", "mkdirp@^0.5.5", "rimraf@^2.7.1",
                       "tmp@^0.0.31", "mock-property", "object-keys", "semver@^6.3.1", "array.prototype.map",
                       "copy-dir", "mv"),
            why="CommonJS, tape, ~20 test files; lib/ split into sync/async resolvers and helpers"),
)


@dataclass
class Checkout:
    """One project unpacked and committed: its root, base commit and what its runs need."""

    project: Project
    root: Path
    base: str
    python: str | None = None  # the test virtualenv's interpreter (Python projects)
    runner: Path | None = None  # tape's bin (JS projects)
    notes: list[str] = field(default_factory=list)


def run(cmd: list[str], cwd: Path | None = None, timeout: float = FETCH_TIMEOUT, **kw: object) -> str:
    """Run a setup command; its stdout, or SystemExit with the end of its output."""
    try:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, **kw)  # type: ignore[call-overload]
    except subprocess.TimeoutExpired as exc:
        raise SystemExit(f"benchmarks/scope: {' '.join(cmd[:4])} … took over {timeout:.0f} s") from exc
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-8:]
        raise SystemExit(f"benchmarks/scope: {' '.join(cmd[:6])} … failed ({proc.returncode}):\n  " + "\n  ".join(tail))
    return proc.stdout


def fetch(project: Project) -> Path:
    """The cached sdist or tarball of `project`, downloaded on first use."""
    folder = CACHE / "downloads"
    folder.mkdir(parents=True, exist_ok=True)
    found = _downloaded(project, folder)
    if found:
        return found
    if project.language == "python":
        run([sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps", "--quiet",
             "-d", str(folder), f"{project.name}=={project.version}"])
    else:
        run(["npm", "pack", f"{project.name}@{project.version}", "--pack-destination", str(folder), "--silent"])
    found = _downloaded(project, folder)
    if found is None:
        raise SystemExit(f"benchmarks/scope: downloaded {project.name} {project.version} but cannot find the file")
    return found


def _downloaded(project: Project, folder: Path) -> Path | None:
    def norm(name: str) -> str:
        return re.sub(r"[-_.]+", "_", name).lower()
    prefix = f"{norm(project.name)}_{norm(project.version)}_"
    return next((p for p in sorted(folder.iterdir()) if norm(p.name).startswith(prefix)
                 and p.name.endswith((".tar.gz", ".tgz"))), None)


def unpack(archive: Path, dest: Path) -> Path:
    """Extract the single top folder of `archive` to `dest` (no links, nothing outside)."""
    dest.mkdir(parents=True)
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers() if (m.isfile() or m.isdir()) and ".." not in m.name.split("/")]
        for member in members:
            member.name = member.name.split("/", 1)[1] if "/" in member.name else ""
        tar.extractall(dest, members=[m for m in members if m.name], filter="data")
    return dest


def python_env(projects: list[Project]) -> str:
    """The cached virtualenv the Python suites run in, with pytest and every project's test deps."""
    venv = CACHE / "venv"
    wanted = sorted({PYTEST, *[d for p in projects if p.language == "python" for d in p.test_deps]})
    stamp = venv / "verdict-bench-requirements.txt"
    python = venv / "bin" / "python"
    if not python.exists():
        run([sys.executable, "-m", "venv", str(venv)])
    if not stamp.exists() or stamp.read_text() != "\n".join(wanted):
        run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *wanted])
        stamp.write_text("\n".join(wanted))
    return str(python)


def node_deps(project: Project) -> Path:
    """The cached node_modules holding `project`'s runtime and test dependencies."""
    folder = CACHE / "node" / f"{project.name}-{project.version}"
    specs = {}
    for spec in project.test_deps:
        name, _, rng = spec.rpartition("@") if spec.rfind("@") > 0 else (spec, "", "*")
        specs[name] = rng or "*"
    manifest = json.dumps({"name": "verdict-bench-deps", "private": True, "dependencies": specs}, indent=1)
    if not (folder / "node_modules").is_dir() or (folder / "package.json").read_text() != manifest:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        (folder / "package.json").write_text(manifest)
        run(["npm", "install", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"], cwd=folder)
    return folder / "node_modules"


def git(root: Path, *args: str, timeout: float = 60) -> str:
    return run([*GIT, *args], cwd=root, timeout=timeout).strip()


def checkout(project: Project, workdir: Path, python: str | None) -> Checkout:
    """Fetch, unpack and commit `project` under `workdir`; link its JS dependencies."""
    root = unpack(fetch(project), workdir / project.name)
    (root / ".gitignore").write_text("node_modules\n__pycache__/\n.hypothesis/\n.pytest_cache/\n")
    out = Checkout(project, root, "", python=python)
    if project.language == "js":
        modules = node_deps(project)
        (root / "node_modules").symlink_to(modules, target_is_directory=True)
        out.runner = modules / "tape" / "bin" / "tape"
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", f"{project.name} {project.version}")
    out.base = git(root, "rev-parse", "HEAD")
    return out


def commit_mutant(co: Checkout, path: str, text: str, label: str) -> str:
    """Commit `text` as `path` on top of the base commit; the work tree keeps the mutant. Returns the sha."""
    (co.root / path).write_text(text, encoding="utf-8")
    git(co.root, "commit", "-q", "-a", "-m", label)
    return git(co.root, "rev-parse", "HEAD")


def reset_to_base(co: Checkout) -> None:
    git(co.root, "reset", "-q", "--hard", co.base)
