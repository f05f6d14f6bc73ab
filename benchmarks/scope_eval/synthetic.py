"""A generated 1,000-module Python repository, to time selection at the size the target names.

Package `synth/` has 10 layers of 100 modules (`synth/layer3/m042.py`); each module above layer 0
imports 3 modules of the layer below, so a change low down reaches much of the package and one
high up reaches little. 300 test files each import 2 modules from random layers. Seeded, so the
same repository every run. Base commit (its suite run once with the impact recorder when a
Python to run it is given), then one commit that changes one module of layer 4; selection is
timed with the import graph alone and with the impact data (loading it included).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.scope_eval.evaluate import select_for
from benchmarks.scope_eval.projects import Checkout, Project, git
from benchmarks.scope_eval.suites import run_suite
from scope import ImpactMap

LAYERS, PER_LAYER, TESTS, FANOUT = 10, 100, 300, 3
PROJECT = Project("synthetic", "1", "python", "synth", "tests", why="generated: 1,000 modules, 300 test files")


@dataclass
class SyntheticResult:
    modules: int
    test_files: int
    selected: int
    cold: list[float]
    warm: list[float]
    impact_selected: int | None = None  # with impact data (None: not recorded)
    impact_cold: list[float] = field(default_factory=list)
    impact_warm: list[float] = field(default_factory=list)


def module_path(layer: int, index: int) -> str:
    return f"synth/layer{layer}/m{index:03d}.py"


def generate(root: Path, seed: int = 1000) -> None:
    rng = random.Random(seed)
    (root / "synth").mkdir(parents=True)
    (root / "synth" / "__init__.py").write_text('"""Generated package."""\n')
    for layer in range(LAYERS):
        folder = root / "synth" / f"layer{layer}"
        folder.mkdir()
        (folder / "__init__.py").write_text("")
        for i in range(PER_LAYER):
            deps = rng.sample(range(PER_LAYER), FANOUT) if layer else []
            lines = [f'"""Layer {layer} module {i}."""', "import math", ""]
            lines += [f"from synth.layer{layer - 1} import m{d:03d}" for d in deps]
            body = " + ".join([f"m{d:03d}.value()" for d in deps] or ["math.floor(1.5)"])
            lines += ["", "", f"def value():\n    return {body} + {i}", ""]
            (root / module_path(layer, i)).write_text("\n".join(lines))
    (root / "tests").mkdir()
    for t in range(TESTS):
        picks = [(rng.randrange(LAYERS), rng.randrange(PER_LAYER)) for _ in range(2)]
        lines = [f"from synth.layer{layer} import m{i:03d} as mod{n}" for n, (layer, i) in enumerate(picks)]
        lines += ["", "", f"def test_{t}():", "    assert mod0.value() + mod1.value() > 0", ""]
        (root / "tests" / f"test_{t:04d}.py").write_text("\n".join(lines))


def run_synthetic(workdir: Path, repeats: int, python: str | None = None) -> SyntheticResult:
    """Cold and warm selection times for a one-module change, `repeats` times each (bounded)."""
    root = workdir / "synthetic"
    root.mkdir()
    generate(root)
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    base = git(root, "rev-parse", "HEAD")
    co = Checkout(PROJECT, root, base, python=python)
    impact = None
    if python is not None:
        run = run_suite(co, time_limit=300, trace=True)
        impact = ImpactMap.load(run.record, base).to_bytes() if run.usable and run.record else None
    changed = root / module_path(4, 7)
    changed.write_text(changed.read_text().replace("+ 7\n", "+ 8\n"))
    git(root, "commit", "-q", "-a", "-m", "change one module")
    head = git(root, "rev-parse", "HEAD")
    result = SyntheticResult(LAYERS * PER_LAYER, 0, 0, [], [])
    for _ in range(max(1, min(repeats, 20))):
        c, w, selection = select_for(co, head)
        result.cold.append(c)
        result.warm.append(w)
        result.selected, result.test_files = len(selection.selected), selection.total_test_files
        if impact is not None:
            c, w, narrowed = select_for(co, head, impact)
            result.impact_cold.append(c)
            result.impact_warm.append(w)
            result.impact_selected = len(narrowed.selected)
    return result
