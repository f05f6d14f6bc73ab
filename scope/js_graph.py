"""Resolve JavaScript/TypeScript module specifiers to files, as Node, TypeScript and bundlers do.

Relative specifiers resolve against the importing file, trying the exact file, then each of
.ts .tsx .js .jsx .mjs .cjs .mts .cts .json, then `index.*` in a folder; `./a.js` written in
TypeScript also finds `a.ts`. Bare specifiers go through the nearest tsconfig.json/jsconfig.json
(`compilerOptions.paths`, then `baseUrl`, following relative `extends`), then the repository's
own workspace packages by their package.json `name`; anything else is a dependency from
node_modules and has no file here.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Callable
from typing import Any

EXTS = (".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts", ".json")
JS_TO_TS = {".js": (".ts", ".tsx"), ".jsx": (".tsx",), ".mjs": (".mts",), ".cjs": (".cts",)}
CONFIG_NAMES = ("tsconfig.json", "jsconfig.json")
TEST_NAME = re.compile(r"\.(test|spec)\.[cm]?[jt]sx?$")
MOCHA_EXTS = (".js", ".cjs", ".mjs")
JSONC_NOISE = re.compile(r'("(?:\\.|[^"\\])*")|//[^\n]*|/\*.*?\*/|,(\s*[}\]])', re.DOTALL)


def is_js_test(path: str) -> bool:
    """Test files as Jest/Vitest (`*.test.*`, `*.spec.*`, `__tests__/`) and Mocha (`test/*.js`) find them."""
    if path.endswith(".d.ts"):
        return False
    parts = path.split("/")
    if TEST_NAME.search(parts[-1]):
        return True
    if "__tests__" in parts[:-1] and parts[-1].endswith(EXTS[:-1]):
        return True
    return len(parts) > 1 and parts[-2] == "test" and parts[-1].endswith(MOCHA_EXTS)


def load_jsonc(data: bytes | None) -> Any:
    """JSON with comments and trailing commas (tsconfig's dialect); None when unreadable."""
    if data is None:
        return None
    text = data.decode("utf-8", "replace")
    text = JSONC_NOISE.sub(lambda m: m.group(1) or m.group(2) or "", text)
    try:
        return json.loads(text)
    except ValueError:
        return None


class JsResolver:
    """Resolves specifiers against one snapshot's files; `read` gives a config file's bytes."""

    def __init__(self, files: set[str], read: Callable[[str], bytes | None]):
        self.files = files
        self.read = read
        self._options: dict[str, dict[str, Any]] = {}
        self._nearest: dict[str, str | None] = {}
        self.packages = self._workspace_packages()

    def resolve(self, importer: str, spec: str) -> str | None:
        if spec.startswith(("./", "../")) or spec in (".", ".."):
            return self._file_or_dir(posixpath.join(posixpath.dirname(importer), spec))
        if spec.startswith("/") or ":" in spec.split("/")[0]:
            return None  # absolute paths and URLs/protocols (node:fs, https:)
        options = self._config_for(posixpath.dirname(importer))
        found = self._via_paths(spec, options)
        if found is None and "baseUrl" in options:
            found = self._file_or_dir(posixpath.join(options["baseUrl"], spec))
        return found or self._via_workspace(spec)

    def _file_or_dir(self, base: str, *, follow_main: bool = True) -> str | None:
        base = posixpath.normpath(base)
        if base.startswith(".."):
            return None
        if base == ".":  # the repository root, e.g. require('../') from test/
            return self._package_main("") if follow_main else None
        stem, ext = posixpath.splitext(base)
        candidates = [base] + [base + e for e in EXTS]
        candidates += [stem + e for e in JS_TO_TS.get(ext, ())]
        found = next((c for c in candidates if c in self.files), None)
        if found is None and follow_main:
            found = self._package_main(base)  # a folder with a package.json naming its entry point
        if found is None:
            found = next((c for c in (f"{base}/index{e}" for e in EXTS) if c in self.files), None)
        return found

    def _package_main(self, folder: str) -> str | None:
        """A folder's entry point: package.json `main` (or `module`/`source`), else its index file."""
        manifest = posixpath.join(folder, "package.json") if folder else "package.json"
        data = load_jsonc(self.read(manifest)) if manifest in self.files else None
        if isinstance(data, dict):
            for key in ("source", "module", "main"):
                entry = data.get(key)
                if isinstance(entry, str) and entry.strip():
                    found = self._file_or_dir(posixpath.join(folder, entry) if folder else entry, follow_main=False)
                    if found:
                        return found
        index = [f"{folder}/index{e}" if folder else f"index{e}" for e in EXTS]
        return next((c for c in index if c in self.files), None)

    def _via_paths(self, spec: str, options: dict[str, Any]) -> str | None:
        paths, root = options.get("paths"), options.get("pathsBase", "")
        if not isinstance(paths, dict):
            return None
        best: tuple[int, list[str], str] | None = None
        for pattern, targets in paths.items():
            prefix, star, suffix = str(pattern).partition("*")
            if not star and spec == pattern:
                best = (len(pattern) + 1, targets, "")
            elif star and spec.startswith(prefix) and spec.endswith(suffix) and len(spec) >= len(prefix + suffix):
                if best is None or len(prefix) > best[0]:
                    best = (len(prefix), targets, spec[len(prefix):len(spec) - len(suffix)])
        if best is None or not isinstance(best[1], list):
            return None
        for target in best[1]:
            if isinstance(target, str):
                found = self._file_or_dir(posixpath.join(root, target.replace("*", best[2])))
                if found:
                    return found
        return None

    def _via_workspace(self, spec: str) -> str | None:
        for name, (folder, entry) in self.packages.items():
            if spec == name:
                return self._file_or_dir(posixpath.join(folder, entry)) or self._file_or_dir(folder)
            if spec.startswith(name + "/"):
                return self._file_or_dir(posixpath.join(folder, spec[len(name) + 1:]))
        return None

    def _workspace_packages(self) -> dict[str, tuple[str, str]]:
        packages: dict[str, tuple[str, str]] = {}
        for path in self.files:
            if posixpath.basename(path) != "package.json":
                continue
            data = load_jsonc(self.read(path))
            if isinstance(data, dict) and isinstance(data.get("name"), str):
                entry = next((data[k] for k in ("source", "module", "main") if isinstance(data.get(k), str)), "index")
                packages[data["name"]] = (posixpath.dirname(path), entry)
        return dict(sorted(packages.items(), key=lambda item: -len(item[0])))

    def _config_for(self, folder: str) -> dict[str, Any]:
        if folder not in self._nearest:
            here = next((posixpath.join(folder, n) for n in CONFIG_NAMES if posixpath.join(folder, n) in self.files),
                        None)
            if here is None and folder:
                self._config_for(posixpath.dirname(folder))
                here = self._nearest[posixpath.dirname(folder)]
            self._nearest[folder] = here
        config = self._nearest[folder]
        return self._options_of(config, 0) if config else {}

    def _options_of(self, config: str, depth: int) -> dict[str, Any]:
        if config in self._options:
            return self._options[config]
        self._options[config] = {}  # guards against `extends` cycles
        data = load_jsonc(self.read(config))
        if not isinstance(data, dict):
            return {}
        folder = posixpath.dirname(config)
        merged: dict[str, Any] = {}
        extends = data.get("extends")
        for parent in [extends] if isinstance(extends, str) else extends if isinstance(extends, list) else []:
            if isinstance(parent, str) and parent.startswith(".") and depth < 10:
                target = posixpath.normpath(posixpath.join(folder, parent))
                target = target if target.endswith(".json") else target + ".json"
                merged.update(self._options_of(target, depth + 1))
        options = data.get("compilerOptions")
        if isinstance(options, dict):
            if isinstance(options.get("baseUrl"), str):
                merged["baseUrl"] = posixpath.normpath(posixpath.join(folder, options["baseUrl"]))
            if isinstance(options.get("paths"), dict):
                merged["paths"] = options["paths"]
                merged["pathsBase"] = merged.get("baseUrl", folder) if "baseUrl" not in options else merged["baseUrl"]
        if "paths" in merged and "pathsBase" not in merged:
            merged["pathsBase"] = merged.get("baseUrl", folder)
        self._options[config] = merged
        return merged
