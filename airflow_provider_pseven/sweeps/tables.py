"""The sweep's tables: the input streamed row by row, and the results written without half-files.

Paths are local paths or object-storage URLs (``s3://...``, ``file://...``; anything Airflow's
``ObjectStoragePath`` opens). Every file is written under a temporary name and then renamed, so a
crash leaves either the whole file or none; readers skip temporary names.

Layout under the results destination (a folder)::

    results.csv, results.parquet   the final table, one row per point
    _sweep/manifest.json           the sweep's key (its run names), input and size
    _sweep/input.jsonl             the parameter sets, when they came as a list (XCom)
    _sweep/part-*.jsonl            rows of ended points, stored before their runs are deleted
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

WORK = "_sweep"
MANIFEST = "manifest.json"
INPUT = "input.jsonl"
TMP = ".tmp-"
#: Rows read from a JSON array per decoding step: the array is decoded item by item, never whole.
_CHUNK = 1 << 16
_SPACE = re.compile(r"\s*")
_BETWEEN = re.compile(r"[\s,]*")


class TableError(ValueError):
    """The input table cannot be swept: what is wrong and where (row and column)."""


def storage_path(text: Any) -> Any:
    """A local :class:`~pathlib.Path`, or an ``ObjectStoragePath`` for a URL (imported only then)."""
    if not isinstance(text, str) and not isinstance(text, os.PathLike):
        return text  # already an ObjectStoragePath
    value = str(text)
    if "://" in value and not value.startswith("file://"):
        from airflow.sdk import ObjectStoragePath

        return ObjectStoragePath(value)
    return Path(value[len("file://") :] if value.startswith("file://") else value).expanduser()


def write_atomically(path: Any, chunks: Iterable[str]) -> None:
    """Write text to a temporary sibling, then rename it over ``path``."""
    tmp = path.parent / f"{TMP}{uuid.uuid4().hex}-{path.name}"
    with tmp.open("w", encoding="utf-8", newline="") as f:
        for chunk in chunks:
            f.write(chunk)
    tmp.rename(path)


# --- input ---------------------------------------------------------------------------------------


def _cell(text: str) -> Any:
    """A CSV cell as a value: JSON when it reads as JSON (numbers, true, lists, objects), else text.
    An empty cell is None: that parameter keeps the workflow's value for this point."""
    if text == "":
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _csv_rows(f: Any) -> Iterator[Any]:
    reader = csv.reader(f)
    header = next(reader, None)
    if header is None:
        return
    for line, values in enumerate(reader, start=2):
        if len(values) != len(header):
            raise TableError(
                f"CSV line {line} has {len(values)} cells but the header has {len(header)} columns"
            )
        yield {name: _cell(value) for name, value in zip(header, values, strict=True)}


def _json_array_items(f: Any) -> Iterator[Any]:
    """The items of a JSON array read chunk by chunk, so a large table is never held whole."""
    decoder = json.JSONDecoder()
    buffer, pos, started = "", 0, False
    while True:
        chunk = f.read(_CHUNK)
        buffer, pos = buffer[pos:] + chunk, 0
        while True:
            pos = (_BETWEEN if started else _SPACE).match(buffer, pos).end()  # type: ignore[union-attr]
            if pos == len(buffer):
                break
            if not started:
                if buffer[pos] != "[":
                    raise TableError(
                        "A JSON table must be an array of objects (or JSON Lines, one object a line)"
                    )
                pos, started = pos + 1, True
                continue
            if buffer[pos] == "]":
                return
            try:
                item, pos = decoder.raw_decode(buffer, pos)
            except ValueError:
                if not chunk:
                    raise TableError("The JSON table ends in the middle of an item") from None
                break
            yield item
        if not chunk:
            if started:
                raise TableError("The JSON table's array is not closed")
            return


def _json_lines(f: Any) -> Iterator[Any]:
    for line, text in enumerate(f, start=1):
        if text.strip():
            try:
                yield json.loads(text)
            except ValueError as error:
                raise TableError(f"JSON Lines line {line} is not JSON: {error}") from None


def read_rows(source: Any) -> Iterator[dict[str, Any]]:
    """The parameter sets of a CSV, JSON (an array of objects) or JSON Lines table, one at a time.

    The format comes from the name: ``.csv``, ``.json``, ``.jsonl``/``.ndjson``. A CSV cell reads as
    JSON when it can (``0.2``, ``true``, ``{"a": 1}``), else as text. An empty cell (or a JSON
    ``null``) leaves that parameter at the workflow's value for that point; its column is still
    checked against the workflow's parameters.
    """
    path = storage_path(source)
    name = path.name.lower()
    with path.open("r", encoding="utf-8", newline="") as f:
        if name.endswith(".csv"):
            items: Iterator[Any] = _csv_rows(f)
        elif name.endswith((".jsonl", ".ndjson")):
            items = _json_lines(f)
        elif name.endswith(".json"):
            items = _json_array_items(f)
        else:
            raise TableError(f"Cannot tell the format of {source}: name it .csv, .json, .jsonl or .ndjson")
        for row, item in enumerate(items, start=1):
            if not isinstance(item, dict):
                raise TableError(
                    f"Row {row} is not a set of parameters (an object/mapping): {type(item).__name__}"
                )
            yield item


@dataclass
class TableShape:
    """What one streaming pass over the input found: its size and every column with its first row."""

    rows: int = 0
    columns: dict[str, int] = field(default_factory=dict)  # column -> first row (1-based) using it


def scan(rows: Iterable[Mapping[str, Any]]) -> TableShape:
    """Count the rows and note each column; an empty table, a row without parameters or a blank
    column name fails here, naming the row."""
    shape = TableShape()
    for row in rows:
        shape.rows += 1
        for column in row:
            if not isinstance(column, str) or not column.strip():
                raise TableError(f"Row {shape.rows} has a column without a name ({column!r})")
            shape.columns.setdefault(column, shape.rows)
    if shape.rows == 0:
        raise TableError("The parameter table is empty: a sweep needs at least one parameter set")
    if not shape.columns:
        raise TableError("No row of the parameter table sets any parameter")
    return shape


# --- manifest and list input ---------------------------------------------------------------------


def read_manifest(work: Any) -> dict[str, Any] | None:
    path = work / MANIFEST
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else None


def write_manifest(work: Any, manifest: Mapping[str, Any]) -> None:
    work.mkdir(parents=True, exist_ok=True)
    write_atomically(work / MANIFEST, [json.dumps(dict(manifest), indent=1)])


def write_input(work: Any, rows: Iterable[Any]) -> Any:
    """Store parameter sets given as a list (e.g. from XCom) as JSON Lines beside the results, so the
    trigger streams them from storage like any table and nothing large rides in the trigger."""
    work.mkdir(parents=True, exist_ok=True)
    path = work / INPUT
    write_atomically(path, (json.dumps(row, default=str) + "\n" for row in rows))
    return path


# --- parts: rows of ended points ------------------------------------------------------------------


def write_part(work: Any, rows: list[dict[str, Any]]) -> None:
    """Store rows of ended points (a new part file each time): only then may their runs be deleted."""
    name = f"part-{time.time_ns():020d}-{uuid.uuid4().hex[:8]}.jsonl"  # in the order stored
    write_atomically(work / name, (json.dumps(row, default=str) + "\n" for row in rows))


def part_files(work: Any) -> list[Any]:
    if not work.exists():
        return []
    return sorted(
        (p for p in work.iterdir() if p.name.startswith("part-") and p.name.endswith(".jsonl")),
        key=lambda p: p.name,
    )


def stored_rows(work: Any) -> Iterator[dict[str, Any]]:
    """Every stored row, one at a time; a point stored twice (a crash between a part and the next
    look) is given once."""
    seen: set[int] = set()
    for part in part_files(work):
        with part.open("r", encoding="utf-8") as f:
            for text in f:
                if not text.strip():
                    continue
                row = json.loads(text)
                if row["point"] in seen:
                    continue
                seen.add(row["point"])
                yield row


def remove_work(work: Any) -> None:
    """Remove the work folder once the final table is in place (a later clear starts anew)."""
    if not work.exists():
        return
    for path in list(work.iterdir()):
        path.unlink()
    with contextlib.suppress(OSError, NotImplementedError):  # object stores have no real folders
        work.rmdir()


# --- the final table ------------------------------------------------------------------------------

FIXED = ("point", "state", "attempts", "run_id", "run_name", "duration_s", "failure_reason")


@dataclass
class Columns:
    """The final table's columns, found in a first pass over the stored rows."""

    parameters: dict[str, None] = field(default_factory=dict)
    results: dict[str, None] = field(default_factory=dict)
    numeric: dict[str, bool] = field(default_factory=dict)

    def add(self, row: Mapping[str, Any]) -> None:
        for group, names in (("parameters", self.parameters), ("results", self.results)):
            for name, value in (row.get(group) or {}).items():
                names.setdefault(name, None)
                key = f"{group}:{name}"
                numeric = value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))
                self.numeric[key] = self.numeric.get(key, True) and numeric

    @property
    def header(self) -> list[str]:
        return [*FIXED, *self.parameters, *(f"result:{name}" for name in self.results)]


def text_of(value: Any) -> str:
    """A cell's text: numbers as Python writes them, lists and objects as JSON, None as empty."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return repr(value)
    return json.dumps(value, default=str)


def flat(row: Mapping[str, Any], columns: Columns) -> list[Any]:
    params, results = row.get("parameters") or {}, row.get("results") or {}
    return [
        *(row.get(name) for name in FIXED),
        *(params.get(name) for name in columns.parameters),
        *(results.get(name) for name in columns.results),
    ]


def _csv_chunks(work: Any, columns: Columns) -> Iterator[str]:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns.header)
    for row in stored_rows(work):
        writer.writerow([text_of(v) for v in flat(row, columns)])
        if out.tell() > _CHUNK:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()


def write_csv(work: Any, target: Any, columns: Columns) -> None:
    write_atomically(target, _csv_chunks(work, columns))
