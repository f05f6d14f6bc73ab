"""`verdict scope [PATH] --base REF [--head REF] [--explain] [--json]`: print what a change selects.

`add_parser(subparsers)` registers the subcommand and `run(args)` runs it; `main(argv)` runs it
standalone. The repository's `scope:` config is read from `.github/verdict.yml` at the base ref
(like the app, which reads it from the default branch, never from the change itself). When the
caller sets `impact_for` (the `verdict` command does: the local database of `verdict check`),
impact data recorded on the base commit narrows the selection unless `--no-impact` is given.
Exit 0 on success, 2 on bad usage (unknown ref, not a repository, invalid config).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from scope import git
from scope.changes import changed_files
from scope.config import ScopeConfig, scope_config
from scope.errors import ScopeConfigError
from scope.select import select_tests
from scope.summary import summary_text

EXIT_OK, EXIT_USAGE = 0, 2
CONFIG_PATH = ".github/verdict.yml"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register `scope` on an argparse subparsers object."""
    p = subparsers.add_parser("scope", help="show which tests a change can affect, and why")
    p.add_argument("path", nargs="?", default=".", help="a git checkout (default: .)")
    p.add_argument("--base", required=True, help="compare against the merge base with this ref")
    p.add_argument("--head", help="compare merge-base(base, head)..head (default: the working tree)")
    p.add_argument("--explain", action="store_true", help="print the reason chain of each test")
    p.add_argument("--json", action="store_true", help="print the selection as JSON")
    p.add_argument("--default-branch-push", action="store_true", help="treat the change as a push to the "
                   "default branch (runs everything unless scope.default_branch says affected)")
    p.add_argument("--cache-dir", type=Path, help="where parsed imports are cached "
                   "(default: $XDG_CACHE_HOME/verdict/scope)")
    p.add_argument("--no-impact", action="store_true", help="ignore impact data recorded by `verdict check --all` "
                   "on the base commit (select by the import graph alone)")
    p.set_defaults(func=run, impact_for=None)
    return p


def run(args: argparse.Namespace) -> int:
    """Print the selection for args.path; 0 on success, 2 on bad usage."""
    top = git.toplevel(Path(args.path))
    if top is None:
        return _usage(f"{args.path} is not a git repository")
    for flag, ref in (("--base", args.base), ("--head", args.head)):
        if ref is not None and git.resolve_commit(top, ref) is None:
            return _usage(f"{flag} {ref!r} is not a commit in {args.path}")
    try:
        config = config_at(top, args.base)
    except ScopeConfigError as exc:
        return _usage(f"{CONFIG_PATH}: {exc}")
    changes = changed_files(top, args.base, args.head)
    impact = None
    if args.impact_for is not None and not args.no_impact and config.impact and changes.base_commit:
        impact = args.impact_for(top)(changes.base_commit)
    selection = select_tests(top, changes, config, is_default_branch_push=args.default_branch_push,
                             cache_dir=args.cache_dir, impact=impact)
    if args.json:
        print(json.dumps(selection.to_json(), indent=2, ensure_ascii=False))
    else:
        print(summary_text(selection, explain=args.explain))
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """Run `verdict scope` on its own: argv without the subcommand name."""
    parser = argparse.ArgumentParser(prog="verdict")
    sub = parser.add_subparsers(dest="command")
    add_parser(sub)
    args = parser.parse_args(["scope", *(sys.argv[1:] if argv is None else argv)])
    return run(args)


def config_at(top: Path, ref: str) -> ScopeConfig:
    """The `scope:` section of .github/verdict.yml as it is at `ref` (defaults when absent)."""
    text = git.show_file(top, ref, CONFIG_PATH)
    if text is None:
        return ScopeConfig()
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScopeConfigError("scope", f"{CONFIG_PATH} is not valid YAML ({exc})") from exc
    if data is not None and not isinstance(data, dict):
        raise ScopeConfigError("scope", f"{CONFIG_PATH} must hold a mapping")
    return scope_config((data or {}).get("scope"))


def _usage(message: str) -> int:
    print(f"verdict: {message}", file=sys.stderr)
    return EXIT_USAGE
