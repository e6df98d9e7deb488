"""docs/templated-fields.md is what scripts/gen_templated_fields_doc.py makes of the code today."""

from __future__ import annotations

import importlib.util
import inspect
import sys
from pathlib import Path
from types import ModuleType

from airflow_provider_pseven import operators, sensors

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "scripts" / "gen_templated_fields_doc.py"
PAGE = ROOT / "docs" / "templated-fields.md"
REGENERATE = "run .venv/bin/python scripts/gen_templated_fields_doc.py"


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_templated_fields_doc", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_page_matches_the_code() -> None:
    generated = load_script().render()
    current = PAGE.read_text(encoding="utf-8") if PAGE.exists() else ""
    assert current == generated, f"docs/templated-fields.md is out of date: {REGENERATE}"


def test_every_exported_class_and_field_is_on_the_page() -> None:
    page = PAGE.read_text(encoding="utf-8")
    rows = {line.split("`")[1]: line for line in page.splitlines() if line.startswith("| [`")}
    for package in (operators, sensors):
        for name in package.__all__:
            cls = getattr(package, name)
            assert name in rows, f"{name} is missing from docs/templated-fields.md: {REGENERATE}"
            fields_cell = rows[name].split(" | ")[1]
            assert fields_cell == ", ".join(f"`{field}`" for field in cls.template_fields)
            for field, renderer in getattr(cls, "template_fields_renderers", {}).items():
                if renderer == "json" and field in cls.template_fields:
                    assert f"`{field}`" in rows[name].split(" | ")[2]


def test_the_script_is_idempotent_and_checks(tmp_path: Path) -> None:
    script = load_script()
    page = tmp_path / "templated-fields.md"
    script.PAGE = page
    script.REPO = tmp_path
    assert script.main(["--check"]) == 1  # no page yet
    assert script.main([]) == 0
    written = page.stat().st_mtime_ns, page.read_bytes()
    assert script.main([]) == 0  # nothing changed: the file is left alone
    assert script.main(["--check"]) == 0
    assert (page.stat().st_mtime_ns, page.read_bytes()) == written


def test_every_templated_field_is_a_constructor_argument() -> None:
    """The page names fields by their argument names: that holds only while they are the same."""
    for package in (operators, sensors):
        for name in package.__all__:
            cls = getattr(package, name)
            arguments = {
                parameter
                for klass in cls.__mro__
                if "__init__" in vars(klass)
                for parameter in inspect.signature(vars(klass)["__init__"]).parameters
            }
            missing = [field for field in cls.template_fields if field not in arguments]
            assert not missing, f"{name}: templated fields {missing} are no constructor argument"
