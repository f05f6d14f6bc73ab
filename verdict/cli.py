"""The `verdict` command: check a local checkout, run the worker or the web app, manage the database and images."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from verdict.errors import ConfigError, VerdictError
from verdict.logs import configure as configure_logging
from verdict.settings import RUNNERS, Settings

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_ERROR = 0, 1, 2, 3
PASSING = ("success", "neutral", "skipped")


def _local_database_url() -> str:
    data_home = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return f"sqlite:///{data_home / 'verdict' / 'local.db'}"


def _local_settings() -> Settings:
    """Settings for the local commands: the local database unless DATABASE_URL says otherwise."""
    settings = Settings.from_env()
    if not os.environ.get("DATABASE_URL"):
        settings = settings.with_overrides(database_url=_local_database_url())
    return settings


def cmd_check(args: argparse.Namespace) -> int:
    from jobs.local import check_local

    settings = _local_settings()
    verdict = check_local(Path(args.path), settings, base=args.base, runner=args.runner, run_all=args.all)
    report = verdict.report
    if args.json:
        out = {
            "conclusion": report.conclusion,
            "summary": report.summary,
            "tests": report.totals,
            "annotations": [{k: a[k] for k in ("path", "start_line", "end_line", "annotation_level", "title",
                                               "message")} for a in report.annotations],
        }
        print(json.dumps(out, indent=2, ensure_ascii=False))
    else:
        print(f"verdict: {report.conclusion} — {report.title}\n")
        print(report.summary)
        if report.annotations:
            print("\nAnnotations:")
            for a in report.annotations:
                first = a["message"].splitlines()[0] if a["message"] else ""
                print(f"  {a['path']}:{a['start_line']}: {a['annotation_level']}: {a['title']}: {first}")
        print(f"\n(run {verdict.run_id} recorded in {settings.database_url})")
    return EXIT_OK if report.conclusion in PASSING else EXIT_FAILED


def _local_impact(top: Path):
    """`verdict scope`'s source of impact data: what `verdict check --all` recorded in the local database."""
    from jobs.local import local_impact_loader

    settings = _local_settings()
    if not settings.impact:
        return lambda commit: None
    return local_impact_loader(top, settings)


def cmd_worker(args: argparse.Namespace) -> int:
    from jobs.worker import run_worker

    settings = Settings.from_env()
    configure_logging(settings.log_level)
    run_worker(settings, burst=args.burst, name=args.name)
    return EXIT_OK


def cmd_web(args: argparse.Namespace) -> int:
    Settings.from_env().require_github_app()  # fail here, in one line, rather than in every gunicorn worker
    argv = ["gunicorn", "--bind", args.bind, "--workers", str(args.workers), "--access-logfile", "-", "wsgi:app"]
    os.execvp(sys.executable, [sys.executable, "-m", *argv])
    return EXIT_ERROR  # not reached


def cmd_migrate(args: argparse.Namespace) -> int:
    import storage

    settings = Settings.from_env()
    storage.migrate(storage.make_engine(settings.database_url))
    print(f"database at {settings.database_url} is up to date")
    return EXIT_OK


def cmd_images_build(args: argparse.Namespace) -> int:
    from runners.images import build_images

    for tag in build_images():
        print(tag)
    return EXIT_OK


def cmd_reap(args: argparse.Namespace) -> int:
    from jobs.context import current
    from jobs.reaper import reap

    print(json.dumps(reap(current())))
    return EXIT_OK


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="verdict",
                                description="Run the tests a change can affect; report as GitHub Check Runs.")
    sub = p.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="run the pipeline on a local git checkout and print the verdict")
    check.add_argument("path", nargs="?", default=".", help="a git checkout (default: .)")
    check.add_argument("--base", help="compare against this ref (branch, tag or commit)")
    check.add_argument("--runner", choices=RUNNERS, default="process", help="sandbox to run the tests in")
    check.add_argument("--json", action="store_true", help="print the verdict as JSON")
    check.add_argument("--all", action="store_true", help="run every test, not only those the change can affect")
    check.set_defaults(func=cmd_check)
    from scope.cli import add_parser as add_scope_parser

    add_scope_parser(sub).set_defaults(impact_for=_local_impact)
    worker = sub.add_parser("worker", help="process queued jobs (any number may share REDIS_URL)")
    worker.add_argument("--burst", action="store_true", help="exit when the queues are empty")
    worker.add_argument("--name", help="worker name (default: generated)")
    worker.set_defaults(func=cmd_worker)
    web = sub.add_parser("web", help="serve the webhook and run pages with gunicorn")
    web.add_argument("--bind", default=os.environ.get("BIND", "0.0.0.0:3000"))
    web.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2")))
    web.set_defaults(func=cmd_web)
    sub.add_parser("migrate", help="create or upgrade the database schema").set_defaults(func=cmd_migrate)
    images = sub.add_parser("images", help="sandbox images")
    images_sub = images.add_subparsers(dest="images_command", required=True)
    images_sub.add_parser("build", help="build the local base images (once per machine)").set_defaults(
        func=cmd_images_build)
    sub.add_parser("reap", help="one reaper pass: finish runs whose worker died").set_defaults(func=cmd_reap)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as exc:
        print(f"verdict: configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except VerdictError as exc:
        print(f"verdict: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # e.g. `verdict scope --json | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
