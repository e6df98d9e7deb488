"""Property-based: generated ids, names and paths against the address and file-name rules.

An id either is refused with the client's own error or becomes exactly one path segment that no HTTP
client changes (requests and httpx resolve dot segments); a server name either is refused or names a
file inside its destination folder.
"""

from __future__ import annotations

import posixpath
import tempfile
from pathlib import Path
from urllib.parse import unquote, urljoin

from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_pseven.client import PsevenConfigError, PsevenUnsafeNameError, RunRef
from airflow_provider_pseven.client.run_files import safe_name
from tests.reliability.fuzz_support import FUZZ, WF

#: Text biased toward what breaks addresses and file names.
TRICKY = st.one_of(
    st.text(max_size=12),
    st.text(alphabet=st.sampled_from(list("./\\@%?#\x00\n\r\x1b\x7f\x85 a")), max_size=8),
    st.sampled_from([".", "..", "...", " .. ", "./", "%2e%2e", "%2F", "a@1", "\u2024\u2024", "\ufeff"]),
)
DEST = Path(tempfile.mkdtemp(prefix="pseven-names-")).resolve()


@FUZZ
@given(run_id=TRICKY, parent=TRICKY)
def test_an_id_is_refused_or_stays_one_segment(run_id: str, parent: str) -> None:
    try:
        ref = RunRef.app(parent, run_id)
    except PsevenConfigError:
        return
    base = "https://p7.test/appshub/.rest/v2/"
    url = base + ref.path("interrupt/")
    # What an HTTP client sends after resolving the reference (RFC 3986 dot-segment removal).
    resolved = urljoin(base, ref.path("interrupt/"))
    assert resolved == url
    segments = ref.path("interrupt/").split("/")
    assert segments[0] == "apps" and segments[2] == "runs" and segments[4] == "interrupt"
    assert unquote(segments[3]) == run_id
    assert unquote(segments[1]) == parent


@FUZZ
@given(name=TRICKY)
def test_a_server_name_is_refused_or_stays_inside_the_destination(name: str) -> None:
    try:
        accepted = safe_name(name, "out")
    except PsevenUnsafeNameError as error:
        assert not any(ch in str(error) for ch in "\x00\n\r\x1b\x7f\x85")
        return
    target = (DEST / accepted).resolve()
    assert target.parent == DEST
    assert posixpath.normpath(f"out/{accepted}") == f"out/{accepted}".rstrip("/")


@FUZZ
@given(run_id=st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=20))
def test_printable_ids_without_slashes_or_dot_segments_are_accepted(run_id: str) -> None:
    if run_id.strip() in ("", ".", "..") or "/" in run_id or "\\" in run_id:
        return
    assert RunRef.workflow(WF, run_id).run_id == run_id
