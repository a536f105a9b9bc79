"""Guarantee 9: after SIGKILL at any moment, a restart on the same cache directory removes the
leftover temporary files no live process holds, and serves only correct entries.
"""

from __future__ import annotations

import contextlib
import hashlib
import random
import threading
import time
from pathlib import Path

from tests.faults.conftest import Serve
from tests.faults.hostile_upstream import (
    SIMPLE_JSON,
    Entry,
    HostileUpstream,
    blob_entry,
    hold_after,
    trickle,
)
from tests.faults.probes import BEFORE, MiB, cache_files, files_holding, get, wait_for

TEMP_PREFIX = ".tmp-"  # the interface: leftovers are `.tmp-*` (and other temporary names)


def _partials(cache: Path, contents: list[bytes]) -> list[Path]:
    """Files holding a strict, non-empty prefix of one of `contents`: downloads cut short."""
    found = []
    for path in cache_files(cache):
        size = path.stat().st_size
        if not size:
            continue
        head = path.read_bytes()[:size]
        if any(size < len(c) and c[:size] == head for c in contents):
            found.append(path)
    return found


def _temps(cache: Path) -> list[Path]:
    return [p for p in cache_files(cache) if p.name.startswith(TEMP_PREFIX)]


def _leftovers(cache: Path, contents: list[bytes]) -> set[Path]:
    return set(_partials(cache, contents)) | set(_temps(cache))


def _in_background(port: int, path: str) -> threading.Thread:
    def run() -> None:
        with contextlib.suppress(OSError):  # the server is killed under it
            get(port, path, timeout=30)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _file_path(entry: Entry) -> str:
    return f"/files/{entry.project}/{entry.filename}"


def test_sigkill_mid_download_then_restart_removes_the_leftovers(
    upstream: HostileUpstream, serve: Serve, tmp_path: Path
) -> None:
    """Issue 8.10: `.tmp-*` files stayed in the cache for ever after SIGKILLs."""
    content = random.Random(9).randbytes(8 * MiB)
    entry = blob_entry("killed", "1.0", content, BEFORE)
    upstream.add(entry)
    gate = upstream.gate()
    upstream.fault(entry.files_path, hold_after(2 * MiB, gate), origin="files")
    cache = tmp_path / "cache"
    proxy = serve(cache_dir=cache)
    _in_background(proxy.port, _file_path(entry))
    wait_for(lambda: _partials(cache, [content]), "a partial download in the cache")
    proxy.kill()
    [partial] = _partials(cache, [content])
    planted = [partial.parent / f"{TEMP_PREFIX}planted", cache / f"{TEMP_PREFIX}planted"]
    for path in planted:
        path.write_bytes(b"left by a process that no longer exists")
    left = _leftovers(cache, [content])
    print(f"\nafter SIGKILL: {len(left)} leftovers ({sorted(p.name for p in left)})")

    restarted = serve(cache_dir=cache)
    wait_for(lambda: not _leftovers(cache, [content]), "the restart to remove the leftovers")
    gate.open()
    answer = get(restarted.port, _file_path(entry))
    assert answer.complete and answer.sha256 == entry.sha256
    wait_for(lambda: files_holding(cache, content), "the file to be stored")
    assert not _leftovers(cache, [content])


def test_a_restart_keeps_the_temporary_files_of_a_live_process(
    upstream: HostileUpstream, serve: Serve, tmp_path: Path
) -> None:
    """The sweep must not take a file another server on the same cache is still writing."""
    content = random.Random(10).randbytes(8 * MiB)
    entry = blob_entry("alive", "1.0", content, BEFORE)
    upstream.add(entry)
    gate = upstream.gate()
    upstream.fault(entry.files_path, hold_after(2 * MiB, gate), origin="files", times=1)
    cache = tmp_path / "cache"
    writer = serve(cache_dir=cache)
    result: list[bytes] = []
    thread = threading.Thread(
        target=lambda: result.append(get(writer.port, _file_path(entry)).body), daemon=True
    )
    thread.start()
    wait_for(lambda: _partials(cache, [content]), "a partial download in the cache")
    second = serve(cache_dir=cache)  # its start-up sweep runs now
    assert get(second.port, "/-/health").status == 200
    time.sleep(0.5)  # a sweep in the background has had its chance
    gate.open()
    thread.join(60)
    assert result and hashlib.sha256(result[0]).hexdigest() == entry.sha256
    wait_for(lambda: files_holding(cache, content), "the first server to store the file")
    # The second server serves the stored file: the download was not lost to its sweep.
    assert get(second.port, _file_path(entry)).sha256 == entry.sha256
    assert upstream.count(entry.files_path, "files") == 1


def test_repeated_sigkill_under_load_serves_only_correct_entries(
    upstream: HostileUpstream, serve: Serve, tmp_path: Path
) -> None:
    rng = random.Random(11)
    entries = [
        blob_entry(f"loaded-{n}", "1.0", rng.randbytes(2 * MiB), BEFORE) for n in range(4)
    ]
    upstream.add(*entries)
    for entry in entries:  # about a second per download, so kills land inside them
        upstream.fault(entry.files_path, trickle(0.03), origin="files")
    contents = [e.content or b"" for e in entries]
    paths = [_file_path(e) for e in entries] + [f"/simple/{e.project}/" for e in entries]
    cache = tmp_path / "cache"
    found_after_kills = 0
    for _ in range(5):
        proxy = serve(cache_dir=cache)
        wait_for(lambda: not _leftovers(cache, contents), "the restart to remove the leftovers")
        for path in paths:
            _in_background(proxy.port, path)
        time.sleep(rng.uniform(0.1, 1.2))
        proxy.kill()
        found_after_kills += len(_leftovers(cache, contents))

    proxy = serve(cache_dir=cache)
    wait_for(lambda: not _leftovers(cache, contents), "the restart to remove the leftovers")
    print(f"\n5 SIGKILLs under load: {found_after_kills} leftovers seen, 0 after restart")
    assert found_after_kills > 0, "no kill landed inside a download: the test proved nothing"
    for entry in entries:
        answer = get(proxy.port, _file_path(entry))
        assert answer.complete and answer.sha256 == entry.sha256, entry.filename
        page = get(proxy.port, f"/simple/{entry.project}/", {"Accept": SIMPLE_JSON})
        assert page.status == 200 and entry.sha256.encode() in page.body
