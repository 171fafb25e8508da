"""The data directory full: a write that cannot finish leaves no temporary file, and the store stays whole.

A tmpfs cannot be mounted without root here, so the stand-in is RLIMIT_FSIZE set in the child process: a write past
the limit fails with EFBIG (SIGXFSZ ignored) exactly where ENOSPC would, through the same write() call."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tasks.shared.atomic_file import TEMPORARY_PREFIX, sweep_orphans
from tasks.shared.raw_store import store_bytes
from tasks.shared.settings import PROJECT_ROOT
from tests.writers import WriterInTheMiddle, killed_in_the_middle_of_writing

pytestmark = pytest.mark.faults

STORE = """
import sys
from pathlib import Path
from tasks.shared.raw_store import store_bytes
try:
    store_bytes(Path(sys.argv[1]), b"x" * int(sys.argv[2]), ".csv")
except OSError as exc:
    print(f"refused: {exc.strerror}")
    sys.exit(3)
print("stored")
"""


def _limit_file_size(limit: int):
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG from write() instead of the default kill
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def _store_in_child(store: Path, size: int, limit: int) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", STORE, str(store), str(size)], cwd=PROJECT_ROOT, capture_output=True,
                          text=True, timeout=120, preexec_fn=_limit_file_size(limit))


def test_a_full_disk_refuses_the_file_and_leaves_no_temporary_file(tmp_path: Path, reliability) -> None:
    reliability.fault("data directory full",
                      injected="RLIMIT_FSIZE 64 kB in the child (write() fails with EFBIG where a full disk gives ENOSPC)",
                      where="raw store: store_bytes of a 200 kB file, after a file stored earlier")
    store = tmp_path / "raw"
    original = b"Month,Offences\n2022-04,3\n"
    kept = store_bytes(store, original, ".csv")  # a file stored before the disk filled
    refused = _store_in_child(store, 200_000, limit=64_000)
    reliability.check("exit code", refused.returncode, 3, detail=refused.stderr)
    reliability.message(refused.stdout.strip())
    assert refused.stdout.strip() == "refused: File too large"
    reliability.outcome("refused")
    leftovers = [p.relative_to(store).as_posix() for p in store.rglob("*") if p.is_file() and p != kept.path]
    # no 0-byte or partial temporary file, no partial file under a final name
    reliability.check("temporary or partial files left", len(leftovers), 0, detail=leftovers)
    reliability.kept("files stored earlier, intact", int(kept.path.read_bytes() == original), 1)
    # with room again, the same file is stored whole
    reliability.check("stored once there is room", _store_in_child(store, 200_000, limit=10_000_000).stdout.strip(),
                      "stored")
    reliability.outcome("kept")


def test_a_killed_writers_temporary_file_is_swept_at_once_and_a_live_writers_kept(tmp_path: Path, reliability) -> None:
    reliability.fault("temporary files left by a killed run",
                      injected="a writer SIGKILLed half-way through a file, and a live one half-way through another "
                               "whose file is a day old, beside a stored file in the raw store",
                      where="raw store: sweep_orphans")
    store = tmp_path / "raw"
    stored = store_bytes(store, b"a,b\n1,2\n")
    killed = killed_in_the_middle_of_writing(stored.path.parent / "killed.csv")  # a run killed a moment ago
    live = WriterInTheMiddle(stored.path.parent / "slow.csv")  # another run's write in progress
    try:
        a_day_ago = time.time() - 86_400
        os.utime(live.temporary, (a_day_ago, a_day_ago))
        swept = [file.path for file in sweep_orphans(store)]
        reliability.check("killed writers' temporaries swept", len(swept), 1)
        assert swept == [killed] and not killed.exists()
        reliability.check("live writers' temporaries kept (another run's write)", int(live.temporary.exists()), 1)
    finally:
        live.finish()
    reliability.kept("stored files", int(stored.path.exists()), 1)
    reliability.outcome("kept")


def test_the_first_store_of_a_process_sweeps_the_orphans(tmp_path: Path, reliability) -> None:
    reliability.fault("a killed run's temporary file, then a new process",
                      injected="a fresh `.incoming-` file no writer holds in the raw store",
                      where="raw store: a new process's first store")
    store = tmp_path / "raw"
    (store / "ab").mkdir(parents=True)
    orphan = store / "ab" / f"{TEMPORARY_PREFIX}left-by-a-kill"
    orphan.write_bytes(b"")  # no writer holds it: an orphan however young
    result = subprocess.run([sys.executable, "-c", STORE, str(store), "10"], cwd=PROJECT_ROOT, capture_output=True,
                            text=True, timeout=120)
    reliability.check("stored", result.stdout.strip(), "stored", detail=result.stderr)
    reliability.check("orphans left", int(orphan.exists()), 0)
    reliability.outcome("kept")
