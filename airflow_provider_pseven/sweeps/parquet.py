"""The results table as Parquet, when pyarrow is installed (the ``parquet`` extra).

Imported only when a sweep ends, so nothing imports pyarrow unless it writes a table.
"""

from __future__ import annotations

import uuid
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from airflow_provider_pseven.sweeps.tables import TMP, Columns, flat, stored_rows, text_of


def write_parquet(work: Any, target: Any, columns: Columns, batch: int = 10_000) -> None:
    """The same table as Parquet, written in batches: numeric columns as float64, any other value
    as its text (JSON for lists and objects)."""
    kinds = [
        ("point", pa.int64()),
        ("state", pa.string()),
        ("attempts", pa.int64()),
        ("run_id", pa.string()),
        ("run_name", pa.string()),
        ("duration_s", pa.float64()),
        ("failure_reason", pa.string()),
    ]
    for group, names in (("parameters", columns.parameters), ("results", columns.results)):
        for name in names:
            label = name if group == "parameters" else f"result:{name}"
            kinds.append((label, pa.float64() if columns.numeric[f"{group}:{name}"] else pa.string()))
    schema = pa.schema(kinds)
    tmp = target.parent / f"{TMP}{uuid.uuid4().hex}-{target.name}"

    def cast(value: Any, kind: Any) -> Any:
        if value is None:
            return None
        if kind == pa.string():
            return text_of(value)
        return float(value) if kind == pa.float64() else int(value)

    with tmp.open("wb") as f, pq.ParquetWriter(f, schema) as writer:
        pending: list[list[Any]] = []

        def flush() -> None:
            if pending:
                cols = list(zip(*pending, strict=True))
                arrays = [
                    pa.array([cast(v, k) for v in col], type=k)
                    for col, (_, k) in zip(cols, kinds, strict=True)
                ]
                writer.write_batch(pa.record_batch(arrays, schema=schema))
                pending.clear()

        for row in stored_rows(work):
            pending.append(flat(row, columns))
            if len(pending) >= batch:
                flush()
        flush()
    tmp.rename(target)
