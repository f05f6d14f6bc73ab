"""Errors raised by the runners when a sandbox cannot run the command at all.

RunnerError                     the sandbox could not start (base; catch this one)
├── RunnerUnavailable           transient: the Docker engine is unreachable, the image build failed
│   └── ImageBuildError         debootstrap/import of the base image failed (mirror down, disk full)
├── RunnerMisconfigured         permanent: bwrap/prlimit missing, unknown runner, bad spec
└── NoTestsFound                permanent: the workspace holds no tests the runner knows how to run

A test that fails, times out or runs out of memory is *not* an error: it is a RunResult.
"""

from __future__ import annotations

from verdict.errors import PermanentError, TransientError, VerdictError


class RunnerError(VerdictError):
    """The sandbox could not run the command."""


class RunnerUnavailable(RunnerError, TransientError):
    """Worth retrying later: the engine may come back."""


class ImageBuildError(RunnerUnavailable):
    pass


class RunnerMisconfigured(RunnerError, PermanentError):
    """Retrying will not help until the host is fixed."""


class NoTestsFound(RunnerError, PermanentError):
    pass
