"""The sweep's tables: streamed input in three formats, parts, and the final CSV and Parquet."""

from __future__ import annotations

import csv
import json
import tracemalloc

import pytest

from airflow_provider_pseven.sweeps import tables


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_cells_read_as_json_when_they_can(tmp_path):
    table = _write(
        tmp_path / "doe.csv", 'OuterRadius,Options,Name,Flag\n0.2,"{""a"": 1}",disk A,true\n,,x,\n'
    )
    rows = list(tables.read_rows(str(table)))
    assert rows == [
        {"OuterRadius": 0.2, "Options": {"a": 1}, "Name": "disk A", "Flag": True},
        {"OuterRadius": None, "Options": None, "Name": "x", "Flag": None},
    ]


def test_json_array_and_json_lines(tmp_path):
    data = [{"a": i, "b": [i, "x"]} for i in range(5)]
    array = _write(tmp_path / "t.json", json.dumps(data, indent=2))
    lines = _write(tmp_path / "t.jsonl", "\n".join(json.dumps(d) for d in data) + "\n\n")
    assert list(tables.read_rows(array)) == data
    assert list(tables.read_rows(f"file://{lines}")) == data


def test_json_array_is_decoded_across_chunk_boundaries(tmp_path, monkeypatch):
    monkeypatch.setattr(tables, "_CHUNK", 7)
    data = [{"name": "x" * 20, "v": i} for i in range(30)]
    table = _write(tmp_path / "t.json", json.dumps(data))
    assert list(tables.read_rows(table)) == data


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("t.json", '{"a": 1}', "must be an array of objects"),
        ("t.json", '[{"a": 1}, {"a": ', "ends in the middle of an item"),
        ("t.json", '[{"a": 1}', "not closed"),
        ("t.json", '[{"a": 1}, 5]', "Row 2 is not a set of parameters"),
        ("t.jsonl", '{"a": 1}\nnope\n', "line 2 is not JSON"),
        ("t.csv", "a,b\n1,2\n3\n", "CSV line 3 has 1 cells but the header has 2 columns"),
        ("t.xlsx", "", "Cannot tell the format"),
    ],
)
def test_malformed_tables_say_where(tmp_path, name, text, message):
    with pytest.raises(tables.TableError, match=message):
        list(tables.read_rows(_write(tmp_path / name, text)))


def test_scan_counts_and_finds_each_column_first_row():
    shape = tables.scan([{"a": 1}, {"a": 2, "b": None}, {"c": 3, "b": 1}])
    assert shape.rows == 3 and shape.columns == {"a": 1, "b": 2, "c": 3}


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([], "empty"),
        ([{}, {}], "No row of the parameter table sets any parameter"),
        ([{"a": 1}, {" ": 2}], "Row 2 has a column without a name"),
    ],
)
def test_scan_refuses_tables_that_sweep_nothing(rows, message):
    with pytest.raises(tables.TableError, match=message):
        tables.scan(rows)


def test_an_empty_csv_is_empty(tmp_path):
    with pytest.raises(tables.TableError, match="empty"):
        tables.scan(tables.read_rows(_write(tmp_path / "t.csv", "a,b\n")))


def test_manifest_and_list_input_round_trip(tmp_path):
    work = tmp_path / "out" / tables.WORK
    assert tables.read_manifest(work) is None
    tables.write_manifest(work, {"key": "k"})
    assert tables.read_manifest(work) == {"key": "k"}
    path = tables.write_input(work, [{"a": 1}, {"a": 2}])
    assert list(tables.read_rows(path)) == [{"a": 1}, {"a": 2}]
    assert not [p for p in work.iterdir() if p.name.startswith(tables.TMP)]


def _row(point, state="FINISHED", **results):
    return {
        "point": point,
        "state": state,
        "attempts": 1,
        "run_id": f"r{point}",
        "run_name": f"n.p{point}.a1",
        "duration_s": 1.5,
        "failure_reason": "" if state == "FINISHED" else "diverged",
        "parameters": {"x": point * 0.5, "label": f"p{point}"},
        "results": results,
    }


def test_parts_give_each_point_once_and_the_csv_has_one_row_per_point(tmp_path):
    work = tmp_path / tables.WORK
    work.mkdir()
    tables.write_part(work, [_row(0, mass=1.0, design={"r": 1}), _row(1, "FAILED")])
    tables.write_part(work, [_row(1, "FAILED"), _row(2, mass=2.0, status="OK")])  # a point stored twice
    _write(work / f"{tables.TMP}x-part-0.jsonl", "garbage")  # a crash mid-write leaves only a temp file
    columns = tables.Columns()
    for row in tables.stored_rows(work):
        columns.add(row)
    target = tmp_path / "results.csv"
    tables.write_csv(work, target, columns)
    with target.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["point"] for r in rows].count("1") == 1 and len(rows) == 3
    assert rows[0]["result:design"] == '{"r": 1}' and rows[0]["x"] == "0.0"
    assert rows[1]["failure_reason"] == "diverged" and rows[1]["result:mass"] == ""
    assert list(rows[0])[:7] == list(tables.FIXED)
    tables.remove_work(work)
    assert not work.exists()


def test_parquet_when_pyarrow_is_there(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    work = tmp_path / tables.WORK
    work.mkdir()
    tables.write_part(work, [_row(i, mass=float(i), design={"r": i}) for i in range(25)])
    columns = tables.Columns()
    for row in tables.stored_rows(work):
        columns.add(row)
    from airflow_provider_pseven.sweeps.parquet import write_parquet

    write_parquet(work, tmp_path / "results.parquet", columns, batch=10)
    table = pq.read_table(tmp_path / "results.parquet")
    assert table.num_rows == 25
    assert str(table.schema.field("result:mass").type) == "double"
    assert str(table.schema.field("result:design").type) == "string"


def test_parquet_is_skipped_without_pyarrow(tmp_path, monkeypatch):
    import sys

    # What an import of pyarrow that fails does to our module's import (None in sys.modules: ImportError).
    monkeypatch.setitem(sys.modules, "airflow_provider_pseven.sweeps.parquet", None)
    from airflow_provider_pseven.operators.sweep import _write_parquet

    assert _write_parquet(tmp_path, tmp_path / "r.parquet", tables.Columns()) is False
    assert not (tmp_path / "r.parquet").exists()


def _big_table(path, n):
    with path.open("w") as f:
        if path.suffix == ".csv":
            f.write("OuterRadius,Speed,Sampler/Seed\n")
            f.writelines(f"{0.1 + i * 1e-6},{800 + i % 700},{i}\n" for i in range(n))
        elif path.suffix == ".json":
            f.write(
                "["
                + ",".join(json.dumps({"OuterRadius": 0.1, "Speed": 800.0, "Seed": i}) for i in range(n))
                + "]"
            )
        else:
            f.writelines(json.dumps({"OuterRadius": 0.1, "Speed": 800.0, "Seed": i}) + "\n" for i in range(n))
    return path


def _streaming_peak(path):
    tracemalloc.start()
    shape = tables.scan(tables.read_rows(path))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return shape.rows, peak


@pytest.mark.parametrize("suffix", ["csv", "json", "jsonl"])
def test_streaming_a_large_table_keeps_memory_flat(tmp_path, suffix, monkeypatch):
    """Four times the rows, the same peak: streaming holds a chunk, never the table
    (benchmarks/sweep_table_memory.py measures 100,000 rows)."""
    monkeypatch.setattr(tables, "_CHUNK", 4096)  # many chunks at either size
    small = _streaming_peak(_big_table(tmp_path / f"small.{suffix}", 1_000))
    large = _streaming_peak(_big_table(tmp_path / f"large.{suffix}", 4_000))
    assert (small[0], large[0]) == (1_000, 4_000)
    assert large[1] < 1.3 * small[1] + 32_768, f"peak {small[1]} B for 1,000 rows, {large[1]} B for 4,000"
