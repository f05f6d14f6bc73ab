"""Which runner and which test command a workspace gets, from its config and what it contains.

- `.github/verdict.yml` `runner:` wins;
- else a kernel-facing repository (a `Kconfig` at the root, as in Linux and its out-of-tree
  modules) runs under QEMU;
- else the worker's default runner, with the framework the workspace's files name
  (pytest, Jest, Vitest, Mocha: runners.discover).
Under QEMU the test command is `command:` from the config, or `sh tests/run.sh` when that file
exists; it prints TAP or KTAP on the serial console.
"""

from __future__ import annotations

from pathlib import Path

from jobs.repo_config import CONFIG_PATH, RepoConfig
from runners import TestPlan, test_plan_for
from verdict.errors import PermanentError

DEFAULT_QEMU_SCRIPT = "tests/run.sh"


def is_kernel_facing(workspace: Path) -> bool:
    return (workspace / "Kconfig").is_file()


def plan_for(workspace: Path, config: RepoConfig, default_runner: str) -> tuple[str, TestPlan]:
    """(runner name, plan) for this workspace."""
    runner = config.runner or ("qemu" if is_kernel_facing(workspace) else default_runner)
    if runner != "qemu":
        return runner, test_plan_for(workspace)
    command = config.command
    if command is None and (workspace / DEFAULT_QEMU_SCRIPT).is_file():
        command = f"sh {DEFAULT_QEMU_SCRIPT}"
    if not command:
        raise PermanentError(f"the qemu runner needs a test command: set `command:` in {CONFIG_PATH} (it runs in "
                             f"the VM's busybox sh and prints TAP or KTAP), or add {DEFAULT_QEMU_SCRIPT}")
    (workspace / ".verdict").mkdir(exist_ok=True)
    return runner, TestPlan(["sh", "-c", command], ".verdict/console.log", "tap", "ktap", "")
