"""Each JavaScript/TypeScript rule, on one real repository: a change selects exactly these tests."""

from __future__ import annotations

import json

import pytest

from scope.js_imports import parse_js
from tests.scope.scoperepo import ScopeRepo, selected_files

TSCONFIG = """{
  // comments and trailing commas, as tsconfig allows
  "compilerOptions": {
    "baseUrl": ".",
    "paths": {"@lib/*": ["src/alias/*"],},
  },
}
"""
PROJECT = {
    "package.json": json.dumps({"name": "app", "main": "src/root/main.js", "workspaces": ["packages/*"]}),
    "src/root/main.js": "module.exports = require('./impl');\n",
    "src/root/impl.js": "module.exports = 1;\n",
    "test/root_require.js": "const p = require('../');\n",
    "src/pkgdir/package.json": json.dumps({"main": "entry.js"}),
    "src/pkgdir/entry.js": "module.exports = 1;\n",
    "tests/pkgdir.test.js": "const p = require('../src/pkgdir');\n",
    "tsconfig.json": TSCONFIG,
    "packages/shared/package.json": json.dumps({"name": "@acme/shared", "main": "index.js"}),
    "packages/shared/index.js": "module.exports = {};\n",
    "src/alias/target.ts": "export const t = 1;\n",
    "src/esm/named.js": "export const a = 1;\n",
    "src/reexp/impl.ts": "export const impl = 1;\n",
    "src/reexp/api.ts": "export { impl } from './impl';\n",
    "src/cjs/lib.js": "module.exports = 1;\n",
    "src/lazy/mod.ts": "export default 1;\n",
    "src/widgets/index.tsx": "export default function W() { return null; }\n",
    "src/ext/mod.mjs": "export default 1;\n",
    "src/ext/comp.tsx": "export default 1;\n",
    "src/ext/tsfile.ts": "export {};\n",
    "src/base/thing.ts": "export {};\n",
    "src/ignored/x.js": "module.exports = 1;\n",
    "src/fixtures/data.json": "{}\n",
    "tests/alias.test.ts": "import { t } from '@lib/target';\n",
    "tests/import.test.js": "import { a } from '../src/esm/named.js';\n",
    "tests/export.test.ts": "import { impl } from '../src/reexp/api';\n",
    "test/mocha_require.js": "const lib = require('../src/cjs/lib');\n",
    "tests/dynamic.spec.ts": "test('x', async () => { await import('../src/lazy/mod'); });\n",
    "src/__tests__/widgets.js": "import W from '../widgets';\n",
    "tests/ext.test.mjs": "import m from '../src/ext/mod.mjs';\nimport c from '../src/ext/comp';\n",
    "tests/tsjs.test.ts": "import '../src/ext/tsfile.js';\n",
    "tests/baseurl.test.ts": "import 'src/base/thing';\n",
    "tests/workspace.test.js": "const shared = require('@acme/shared');\n",
    "tests/json.test.js": "import data from '../src/fixtures/data.json';\n",
    "tests/ignored.test.js": ("// import '../src/ignored/x'\n/* require('../src/ignored/x') */\n"
                              "const s = \"require('../src/ignored/x')\";\n"
                              "const r = /import('..\\/src\\/ignored\\/x')/;\n"),
}
CASES = [
    ("tsconfig paths alias", "src/alias/target.ts", {"tests/alias.test.ts"}),
    ("ES import with .js extension", "src/esm/named.js", {"tests/import.test.js"}),
    ("export … from (transitive)", "src/reexp/impl.ts", {"tests/export.test.ts"}),
    ("require, mocha test/ folder", "src/cjs/lib.js", {"test/mocha_require.js"}),
    ("dynamic import()", "src/lazy/mod.ts", {"tests/dynamic.spec.ts"}),
    ("index file, __tests__ folder", "src/widgets/index.tsx", {"src/__tests__/widgets.js"}),
    ("explicit .mjs extension", "src/ext/mod.mjs", {"tests/ext.test.mjs"}),
    ("extension resolution .tsx", "src/ext/comp.tsx", {"tests/ext.test.mjs"}),
    ("TypeScript .js specifier to .ts file", "src/ext/tsfile.ts", {"tests/tsjs.test.ts"}),
    ("tsconfig baseUrl", "src/base/thing.ts", {"tests/baseurl.test.ts"}),
    ("workspace package by name", "packages/shared/index.js", {"tests/workspace.test.js"}),
    ("imported JSON file", "src/fixtures/data.json", {"tests/json.test.js"}),
    ("comments, strings and regexes are not imports", "src/ignored/x.js", set()),
    ("changed test selects itself", "tests/alias.test.ts", {"tests/alias.test.ts"}),
    ("require('../') is the package root's main", "src/root/impl.js", {"test/root_require.js"}),
    ("a folder's package.json main", "src/pkgdir/entry.js", {"tests/pkgdir.test.js"}),
]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("js")
    repo = ScopeRepo(root / "repo", root / "cache")
    repo.write(PROJECT)
    repo.commit("initial")
    return repo


@pytest.mark.parametrize(("rule", "changed", "expected"), CASES, ids=[c[0] for c in CASES])
def test_js_rule(project, rule, changed, expected):
    original = (project.path / changed).read_text()
    try:
        (project.path / changed).write_text(original + "\n")
        selection = project.select()
    finally:
        (project.path / changed).write_text(original)
    assert selection.mode == "affected", selection.reason
    assert selected_files(selection) == expected
    assert selection.total_test_files == 14
    assert selection.js_test_files() == sorted(expected)
    assert selection.pytest_args() == []


TOKENIZER_CASES = [
    ("import default and named", "import a, { b as c } from './a';", ["./a"]),
    ("side-effect import", "import './side';", ["./side"]),
    ("type import", "import type { T } from \"./types\";", ["./types"]),
    ("multi-line import", "import {\n  a,\n  b,\n} from './multi';", ["./multi"]),
    ("export star", "export * from './star';", ["./star"]),
    ("export named", "export { x as y } from './named';", ["./named"]),
    ("require", "const r = require('./req');", ["./req"]),
    ("dynamic import", "const m = await import(`./tmpl`);", ["./tmpl"]),
    ("template with ${} is not followed", "import(`./x/${name}`);", []),
    ("line comment", "// import x from './no';", []),
    ("block comment", "/* require('./no') */", []),
    ("string", "const s = \"import x from './no'\";", []),
    ("regex", "const re = /from '.\\/no'/g; require('./yes');", ["./yes"]),
    ("division is not a regex", "const z = a / 2; const w = require('./after');", ["./after"]),
    ("jest.mock", "jest.mock('./mocked');", ["./mocked"]),
    ("property named require", "obj.require('./no');", []),
    ("export const is not a re-export", "export const from = 'x';", []),
]


@pytest.mark.parametrize(("case", "source", "expected"), TOKENIZER_CASES, ids=[c[0] for c in TOKENIZER_CASES])
def test_tokenizer(case, source, expected):
    assert parse_js(source.encode())["imports"] == expected
