"""Impact data in the worker and in `verdict check`: record it on trusted full runs, keep it, load it.

A full pytest or Mocha run of a commit Verdict trusts (a push to the default branch; locally, a
clean checkout) runs with scope's recorder: for pytest `scope/recorder.py`, copied into the
workspace as `.verdict/verdict_impact.py` and loaded with `-p verdict_impact`; for Mocha
`scope/recorder.cjs`, copied as `.verdict/verdict-impact.cjs` and loaded with `--require`.
After the run its record is checked and stored per repository and commit. A later change whose
base is that commit gets it back from `impact_loader`, and scope narrows the change's tests with it.
Jest and Vitest transform the code they run, so their runs record nothing.

Recording never fails a run: a missing, oversized or unreadable record is logged and dropped.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import storage
from runners import RunSpec
from scope import ImpactDataError, ImpactMap
from scope.impact import JS_RECORDER_PATH, OUTPUT_ENV, RECORDER_MODULE, RECORDER_PATH

RECORDING_FRAMEWORKS = ("pytest", "mocha")
RECORD_DIR = ".verdict"
RECORD_FILE = f"{RECORD_DIR}/impact.json"
MAX_RECORD_BYTES = 128 * 1024 * 1024


def records_impact(enabled: bool, *, trusted: bool, framework: str, runner: str, arguments: list[str]) -> bool:
    """Whether this run records impact data: enabled, a trusted commit, pytest or Mocha outside QEMU, every test."""
    return enabled and trusted and framework in RECORDING_FRAMEWORKS and runner != "qemu" and not arguments


def with_recording(spec: RunSpec, framework: str) -> RunSpec:
    """`spec` (a pytest or Mocha run) with the recorder loaded and told where to write."""
    folder = spec.workspace / RECORD_DIR
    folder.mkdir(parents=True, exist_ok=True)
    (spec.workspace / RECORD_FILE).unlink(missing_ok=True)
    if framework == "mocha":
        preload = f"{RECORD_DIR}/verdict-impact.cjs"
        shutil.copyfile(JS_RECORDER_PATH, spec.workspace / preload)
        return replace(spec, command=[*spec.command, "--require", preload], env={**spec.env, OUTPUT_ENV: RECORD_FILE})
    shutil.copyfile(RECORDER_PATH, folder / f"{RECORDER_MODULE}.py")
    existing = spec.env.get("PYTHONPATH")
    env = {**spec.env, OUTPUT_ENV: RECORD_FILE,
           "PYTHONPATH": f"{RECORD_DIR}:{existing}" if existing else RECORD_DIR}  # relative: the workspace
    return replace(spec, command=[*spec.command, "-p", RECORDER_MODULE], env=env)


def read_recording(workspace: Path, commit: str) -> tuple[ImpactMap | None, str]:
    """The record the run left in `workspace`, and what to log about it."""
    path = workspace / RECORD_FILE
    try:
        if path.is_symlink() or not path.is_file():
            return None, "impact data: the run left no record (it was stopped before the test runner finished)"
        if path.stat().st_size > MAX_RECORD_BYTES:
            return None, f"impact data: the record is over {MAX_RECORD_BYTES // 2**20} MB; not kept"
        record = ImpactMap.load(path.read_bytes(), commit)
    except (OSError, ImpactDataError) as exc:
        return None, f"impact data: not kept: {exc}"
    if not record.tests:
        return None, ("impact data: not kept: the record saw no test run (pytest-xdist runs tests in worker "
                      "processes, which are not traced)")
    files = len(record.test_files())
    return record, (f"impact data: recorded which of {len(record.tests)} tests in {files} file"
                    f"{'s' * (files != 1)} ran which functions; changes based on {commit[:12]} will run only "
                    "the tests their changed functions reach")


def keep_recording(sessions, workspace: Path, commit: str, *, installation_id: int, repository_id: int,
                   run_id: int | None, note: Callable[[str], None]) -> ImpactMap | None:
    """Store the record the run left in `workspace` (saying so with `note`); None when there is none to keep."""
    record, message = read_recording(workspace, commit)
    note(message)
    if record is None:
        return None
    with storage.session_scope(sessions) as session:
        storage.save_impact_record(session, installation_id=installation_id, repository_id=repository_id,
                                   commit_sha=record.commit, data=record.to_bytes(), tests=len(record.tests),
                                   run_id=run_id)
    return record


def impact_loader(sessions, *, installation_id: int, repository_id: int,
                  note: Callable[[str], None]) -> Callable[[str], ImpactMap | None]:
    """A function giving the stored record of a commit (None when there is none or it is unusable)."""
    def load(commit: str) -> ImpactMap | None:
        with storage.session_scope(sessions) as session:
            data = storage.impact_record(session, repository_id, commit, installation_id=installation_id)
        if data is None:
            return None
        try:
            return ImpactMap.load(data, commit)
        except ImpactDataError as exc:
            note(f"impact data of {commit[:12]} not used: {exc}")
            return None
    return load
