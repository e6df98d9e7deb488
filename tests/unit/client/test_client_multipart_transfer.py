"""The streamed multipart body and the download sinks, on their own."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest
from pseven_client_harness import parse_multipart

from airflow_provider_pseven.client import FileSink, PsevenConfigError, PsevenError, StreamSink, TailSink
from airflow_provider_pseven.client.multipart import MultipartBody


def _files(tmp_path: Path) -> tuple[Path, Path]:
    small = tmp_path / "small.txt"
    small.write_bytes(b"tiny")
    big = tmp_path / "big.bin"
    big.write_bytes(bytes(range(256)) * 100)
    return small, big


def test_length_equals_the_bytes_yielded(tmp_path: Path) -> None:
    small, big = _files(tmp_path)
    body = MultipartBody(
        [("destination", "run_setup"), ("directory", "新しい")],
        [("file", small, None), ("file", big, "renamed.bin")],
        chunk_size=1000,
    )
    data = b"".join(body)
    assert body.content_length == len(data) == len(body)
    assert body.file_bytes == 4 + 25600
    assert body.content_type == f"multipart/form-data; boundary={body.boundary}"
    assert data.endswith(f"--{body.boundary}--\r\n".encode())
    assert parse_multipart(body.content_type, data) == [
        ("destination", None, b"run_setup"),
        ("directory", None, "新しい".encode()),
        ("file", "small.txt", b"tiny"),
        ("file", "renamed.bin", big.read_bytes()),
    ]
    # Iterable again (a retry re-sends the same bytes), and the async view gives the same bytes.
    assert b"".join(body) == data

    async def collect() -> bytes:
        return b"".join([chunk async for chunk in body.aiter()])

    assert asyncio.run(collect()) == data


def test_file_is_read_in_chunks(tmp_path: Path) -> None:
    _, big = _files(tmp_path)
    body = MultipartBody([], [("file", big, None)], chunk_size=1000)
    sizes = [len(chunk) for chunk in body]
    assert max(sizes) <= 1000 + 200  # no chunk holds the whole 25 600 byte file


def test_non_ascii_file_name_also_has_filename_star(tmp_path: Path) -> None:
    local = tmp_path / "a.csv"
    local.write_bytes(b"1")
    name = "データ 結果.csv"
    body = MultipartBody([], [("file", local, name)])
    data = b"".join(body)
    head = data.split(b"\r\n\r\n", 1)[0].decode("utf-8")
    assert f'filename="{name}"' in head
    assert "filename*=utf-8''%E3%83%87%E3%83%BC%E3%82%BF%20%E7%B5%90%E6%9E%9C.csv" in head
    assert parse_multipart(body.content_type, data) == [("file", name, b"1")]


def test_ascii_file_name_has_no_filename_star_and_quotes_are_escaped(tmp_path: Path) -> None:
    local = tmp_path / "a.csv"
    local.write_bytes(b"1")
    data = b"".join(MultipartBody([], [("file", local, 'say "hi".csv')]))
    assert b"filename*" not in data
    assert b'filename="say %22hi%22.csv"' in data


def test_file_changing_size_during_upload_raises(tmp_path: Path) -> None:
    local = tmp_path / "growing.log"
    local.write_bytes(b"x" * 3000)
    body = MultipartBody([("destination", "d")], [("file", local, None)], chunk_size=1000)
    chunks = iter(body)
    next(chunks)  # the field
    next(chunks)  # the file's head
    next(chunks)  # its first 1000 bytes
    with local.open("ab") as handle:
        handle.write(b"more lines")
    with pytest.raises(PsevenConfigError, match=r"growing\.log' changed size while it was being uploaded"):
        list(chunks)


def test_file_shrinking_during_upload_raises(tmp_path: Path) -> None:
    local = tmp_path / "shrinking.bin"
    local.write_bytes(b"x" * 3000)
    body = MultipartBody([], [("file", local, None)], chunk_size=1000)
    local.write_bytes(b"x" * 10)
    with pytest.raises(PsevenConfigError, match="changed size"):
        b"".join(body)


def test_missing_or_directory_file(tmp_path: Path) -> None:
    with pytest.raises(PsevenConfigError, match="the local file is missing"):
        MultipartBody([], [("file", tmp_path / "nope", None)])
    with pytest.raises(PsevenConfigError, match="the local file is a directory"):
        MultipartBody([], [("file", tmp_path, None)])


# --- sinks ----------------------------------------------------------------------------------------


def test_file_sink_refuses_to_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "exists.txt"
    target.write_text("old")
    with pytest.raises(PsevenConfigError, match="already exists; pass overwrite=True"):
        FileSink(target)
    with pytest.raises(PsevenConfigError, match="it is a directory"):
        FileSink(tmp_path)
    sink = FileSink(target, overwrite=True)
    sink.begin(3)
    sink.write(b"new")
    sink.finish()
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["exists.txt"]


def test_file_sink_abort_and_restart(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "out.bin"
    sink = FileSink(target)
    sink.begin(None)
    sink.write(b"half")
    temps = list(target.parent.iterdir())
    assert len(temps) == 1
    assert temps[0].name.startswith(".out.bin.")
    assert temps[0].name.endswith(".part")
    sink.begin(None)  # a retry starts a clean file
    sink.write(b"whole")
    sink.finish()
    assert target.read_bytes() == b"whole"
    assert [p.name for p in target.parent.iterdir()] == ["out.bin"]
    assert sink.bytes_written == 5
    other = FileSink(tmp_path / "other.bin")
    other.begin(None)
    other.write(b"x")
    other.abort()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sub"]


def test_file_sink_target_appearing_meanwhile(tmp_path: Path) -> None:
    target = tmp_path / "race.txt"
    sink = FileSink(target)
    sink.begin(None)
    sink.write(b"mine")
    target.write_text("theirs")
    with pytest.raises(PsevenConfigError, match="appeared while downloading"):
        sink.finish()
    assert target.read_text() == "theirs"
    assert [p.name for p in tmp_path.iterdir()] == ["race.txt"]


def test_stream_sink_rewinds_on_retry() -> None:
    stream = io.BytesIO(b"keep:")
    stream.seek(0, io.SEEK_END)
    sink = StreamSink(stream)
    sink.begin(None)
    sink.write(b"broken")
    sink.abort()
    sink.begin(None)
    sink.write(b"good")
    sink.finish()
    assert stream.getvalue() == b"keep:good"


def test_stream_sink_cannot_rewind_an_unseekable_stream() -> None:
    class Pipe(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, data: bytes) -> int:  # type: ignore[override]
            return len(data)

    sink = StreamSink(Pipe(), label="to pipe")  # type: ignore[arg-type]
    sink.begin(None)
    sink.write(b"data")
    with pytest.raises(
        PsevenError, match="to pipe: the transfer broke and the target stream cannot be rewound"
    ):
        sink.begin(None)


def test_tail_sink_keeps_last_lines_across_chunks() -> None:
    sink = TailSink(2)
    sink.begin(None)
    for chunk in (b"one\r\ntw", b"o\nthr", b"ee\nfo", "ur é".encode()):
        sink.write(chunk)
    sink.finish()
    assert sink.text == "three\nfour é"
    sink.abort()
    assert sink.text == ""


def test_non_ascii_file_name_is_sent_as_utf8_in_filename(tmp_path: Path) -> None:
    local = tmp_path / "a.csv"
    local.write_bytes(b"1")
    data = b"".join(MultipartBody([], [("file", local, "データ.csv")]))
    assert 'filename="データ.csv"'.encode() in data
