"""The docs site's API reference covers every exported name, and its build hook rewrites as meant.

``make docs`` (strict) fails on a broken link or a reference that does not resolve; what it cannot
see is an exported class that mkdocstrings leaves out because it has no docstring of its own.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "docs" / "reference"
PACKAGES = ("hooks", "operators", "sensors", "triggers", "client", "emulator")


def load_hooks() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "scripts" / "docs_hooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def own_docstring(obj: object) -> str:
    """The object's docstring, or "" when it has none (a dataclass makes one from its signature)."""
    doc = inspect.getdoc(obj) or ""
    name = getattr(obj, "__name__", "")
    return "" if inspect.isclass(obj) and doc.startswith(f"{name}(") else doc


@pytest.mark.parametrize("package", PACKAGES)
def test_every_exported_name_is_on_a_reference_page_with_a_docstring(package: str) -> None:
    directives = {
        line.removeprefix(":::").strip()
        for page in REFERENCE.glob("*.md")
        for line in page.read_text(encoding="utf-8").splitlines()
        if line.startswith(":::")
    }
    module_name = f"airflow_provider_pseven.{package}"
    assert module_name in directives, f"no '::: {module_name}' in docs/reference/*.md"
    module = importlib.import_module(module_name)
    undocumented = [
        name
        for name in module.__all__
        if (inspect.isclass(obj := getattr(module, name)) or inspect.isfunction(obj))
        and not own_docstring(obj)
    ]
    assert not undocumented, f"the API reference leaves these out (no docstring): {undocumented}"


def test_the_changelog_page_links_pages_of_the_site() -> None:
    hooks = load_hooks()
    page = hooks.on_page_markdown(hooks.CHANGELOG_MARKER, None, {"repo_url": "https://example.org/r"}, None)
    assert page.startswith("# Changelog")
    local = [link for link in re.findall(r"\]\(([^)\s]+)\)", page) if not re.match(r"[a-z]+:|#", link)]
    assert local, "CHANGELOG.md links no page of docs/ any more: this test checks nothing"
    missing = [link for link in local if not (ROOT / "docs" / link.split("#")[0]).is_file()]
    assert not missing, f"the changelog page links pages that are not in docs/: {missing}"


def test_relative_links_are_rewritten(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hooks = load_hooks()
    (tmp_path / "CHANGELOG.md").write_text(
        "[a](docs/runs.md#x) [b](scripts/demo.py) [c](https://semver.org/) [d](#top)\n", encoding="utf-8"
    )
    monkeypatch.setattr(hooks, "REPO", tmp_path)
    assert hooks._changelog("https://example.org/r/") == (
        "[a](runs.md#x) [b](https://example.org/r/blob/main/scripts/demo.py) "
        "[c](https://semver.org/) [d](#top)\n"
    )


def test_sphinx_roles_show_as_code_and_the_cli_help_is_quoted() -> None:
    hooks = load_hooks()
    html = "see :class:<code>Run</code> and :mod:<code>~airflow_provider_pseven.client.path_cache</code>"
    assert hooks.on_page_content(html, None, None, None) == (
        "see <code>Run</code> and <code>path_cache</code>"
    )
    page = hooks.on_page_markdown(f"x\n{hooks.HELP_MARKER}\n", None, {}, None)
    assert "usage: pseven-emulator" in page
    assert "--base-path" in page
