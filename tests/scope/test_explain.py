"""Reason chains, scope kinds and the check run summary."""

from __future__ import annotations

import pytest

from scope import SelectedTest, Selection, summary_markdown, summary_text

PROJECT = {
    "src/shop/__init__.py": "",
    "src/shop/cart.py": "from shop import prices\n",
    "src/shop/prices.py": "",
    "src/shop/tax.py": "",
    "src/billing/__init__.py": "",
    "src/billing/invoice.py": "from shop.cart import total\nfrom shop import tax\n",
    "tests/conftest.py": "",
    "tests/test_cart.py": "from shop.cart import total\n",
    "tests/test_tax.py": "from shop import tax\n",
    "tests/billing/conftest.py": "from billing import invoice\n",
    "tests/billing/test_invoice.py": "",
    "tests/test_other.py": "",
}

KINDS = [
    ("file", {"tests/test_other.py": "# edit\n"}),
    ("module", {"src/shop/prices.py": "# edit\n"}),
    ("package", {"src/shop/prices.py": "# edit\n", "src/shop/tax.py": "# edit\n"}),
    ("service", {"src/shop/tax.py": "# edit\n", "src/billing/invoice.py": "# edit\n"}),
    ("repository", {"pyproject.toml": "[project]\n"}),
    ("none", {}),
]


@pytest.mark.parametrize(("kind", "files"), KINDS, ids=[k[0] for k in KINDS])
def test_scope_kinds(make_repo, kind, files):
    repo = make_repo(PROJECT)
    repo.write(files)
    assert repo.select().kind == kind


def test_reason_chain_through_imports_and_a_conftest(make_repo):
    repo = make_repo(PROJECT)
    repo.write({"src/shop/prices.py": "# edit\n"})
    selection = repo.select()
    whys = {s.file: s.why for s in selection.selected}
    assert whys == {
        "tests/test_cart.py": ["src/shop/prices.py changed → imported by src/shop/cart.py → imported by "
                               "tests/test_cart.py"],
        "tests/billing/test_invoice.py": ["src/shop/prices.py changed → imported by src/shop/cart.py → imported by "
                                          "src/billing/invoice.py → imported by tests/billing/conftest.py → "
                                          "conftest of tests/billing/test_invoice.py"],
    }
    assert selection.reason == "1 changed file selects 2 of 4 test files"


def test_one_chain_per_changed_file(make_repo):
    repo = make_repo(PROJECT)
    repo.write({"src/shop/prices.py": "# edit\n", "src/shop/tax.py": "# edit\n"})
    invoice = next(s for s in repo.select().selected if s.file == "tests/billing/test_invoice.py")
    assert [why.split(" → ")[0] for why in invoice.why] == ["src/shop/prices.py changed", "src/shop/tax.py changed"]


def test_summary_markdown_for_an_affected_selection(make_repo):
    repo = make_repo(PROJECT)
    repo.write({"src/shop/tax.py": "# edit\n"})
    markdown = summary_markdown(repo.select())
    assert markdown.startswith("**Scope: module** (one changed module and its dependents) — "
                               "2 of 4 test files selected.\n")
    assert "<details><summary>Why these tests</summary>" in markdown and markdown.rstrip().endswith("</details>")
    assert "- `tests/test_tax.py`\n  - src/shop/tax.py changed → imported by tests/test_tax.py" in markdown


def test_summary_markdown_for_a_full_run_and_a_skip():
    full = Selection("all", "package.json changed (dependency manifest)", ["package.json"], 3,
                     [SelectedTest("t.test.js", [], ["full run: package.json changed (dependency manifest)"])],
                     "repository")
    assert summary_markdown(full).startswith("**Scope: repository** (the full suite) — all 3 test files selected.\n\n"
                                             "Package.json changed (dependency manifest).")
    skip = Selection("affected", "every changed file matches scope.skip_if_only_changed (*.md): no tests to run",
                     ["README.md"], 3, [], "none", skipped=True)
    assert "0 of 3 test files selected (skipped)" in summary_markdown(skip)


def test_summary_markdown_stays_under_githubs_limit():
    many = [SelectedTest(f"tests/test_{i}.py", [], ["x" * 500] * 10) for i in range(1000)]
    text = summary_markdown(Selection("affected", "r", ["a.py"], 1000, many, "module"))
    assert len(text) < 65535 and "more test files" in text


def test_node_ids_are_named_up_to_ten_per_file():
    nodes = [f"tests/test_a.py::test_{i}" for i in range(25)]
    selection = Selection("affected", "r", ["a.py"], 1, [SelectedTest("tests/test_a.py", nodes, ["why"])], "module")
    assert "(`tests/test_a.py::test_0`, " in summary_markdown(selection)
    assert "`tests/test_a.py::test_9` and 15 more)" in summary_markdown(selection)
    assert "tests/test_a.py::test_9 and 15 more]" in summary_text(selection)


def test_summary_text_with_explain(make_repo):
    repo = make_repo(PROJECT)
    repo.write({"src/shop/tax.py": "# edit\n"})
    text = summary_text(repo.select(), explain=True)
    assert text.splitlines()[0] == "scope: module — 2 of 4 test files selected (mode affected)"
    assert "      why: src/shop/tax.py changed → imported by tests/test_tax.py" in text
