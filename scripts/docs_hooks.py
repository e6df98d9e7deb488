"""MkDocs hook (mkdocs.yml ``hooks``): pages that quote the repository rather than copy it.

- ``<!-- pseven-emulator --help -->`` becomes the help text of the emulator's own parser, so the CLI
  reference cannot drift from the code;
- ``<!-- CHANGELOG.md -->`` becomes CHANGELOG.md, whose links are written for the repository root:
  ``docs/page.md`` turns into ``page.md`` (checked by the strict build like any link), another
  repository file into its URL under ``repo_url``;
- the Sphinx roles of the docstrings (``:class:`Run```), which mkdocstrings shows as written, are
  shown as the code they name, as Sphinx does (``~a.b.C`` as ``C``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

HELP_MARKER = "<!-- pseven-emulator --help -->"
CHANGELOG_MARKER = "<!-- CHANGELOG.md -->"
REPO = Path(__file__).resolve().parent.parent
_RELATIVE_LINK = re.compile(r"\]\((?![a-z]+:|#)([^)\s]+)\)")
_SPHINX_ROLE = re.compile(r":(?:mod|class|meth|func|attr|exc|data|obj):<code>(~?)([^<]*)</code>")


def _emulator_help() -> str:
    # argparse wraps at $COLUMNS: fix it so the page does not depend on the terminal.
    os.environ["COLUMNS"] = "100"
    from airflow_provider_pseven.emulator.__main__ import build_parser

    return build_parser().format_help().rstrip()


def _changelog(repo_url: str) -> str:
    def relink(match: re.Match[str]) -> str:
        target = match.group(1)
        if target.startswith("docs/"):
            return f"]({target.removeprefix('docs/')})"
        return f"]({repo_url.rstrip('/')}/blob/main/{target})"

    return _RELATIVE_LINK.sub(relink, (REPO / "CHANGELOG.md").read_text(encoding="utf-8"))


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """Replace the markers a page holds."""
    if HELP_MARKER in markdown:
        markdown = markdown.replace(HELP_MARKER, f"```text\n{_emulator_help()}\n```")
    if CHANGELOG_MARKER in markdown:
        markdown = markdown.replace(CHANGELOG_MARKER, _changelog(config["repo_url"]))
    return markdown


def _sphinx_role(match: re.Match[str]) -> str:
    name = match.group(2).rsplit(".", 1)[-1] if match.group(1) else match.group(2)
    return f"<code>{name}</code>"


def on_page_content(html: str, page: Any, config: Any, files: Any) -> str:
    """Show the docstrings' Sphinx roles as code."""
    return _SPHINX_ROLE.sub(_sphinx_role, html)
