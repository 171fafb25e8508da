"""A real process caught in the middle of writing a file through ``write_atomically``: kept alive, or SIGKILLed.

Tests of what a killed writer leaves behind use a real child process and a real SIGKILL, so the kernel, not the
test, decides which locks go with it."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from tasks.shared.atomic_file import TEMPORARY_PREFIX
from tasks.shared.settings import PROJECT_ROOT

WRITER = """
import sys
from pathlib import Path
from tasks.shared.atomic_file import write_atomically

def write(out):
    out.write(b"the first half of the file")
    out.flush()
    print("writing", flush=True)
    sys.stdin.read()  # the rest comes when the test closes our stdin
    out.write(b" and its second half")

write_atomically(Path(sys.argv[1]), write)
print("written", flush=True)
"""

SECOND_HALF = b"the first half of the file and its second half"


class WriterInTheMiddle:
    """A child process that has written half of ``target`` under its temporary name and waits."""

    def __init__(self, target: Path) -> None:
        self.target = target
        before = set(target.parent.glob(f"{TEMPORARY_PREFIX}*")) if target.parent.is_dir() else set()
        self.process = subprocess.Popen([sys.executable, "-c", WRITER, str(target)], cwd=PROJECT_ROOT,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        line = self.process.stdout.readline()
        if line.strip() != b"writing":
            self.process.kill()
            raise AssertionError(f"the writer did not start writing: {line!r} {self.process.stderr.read()!r}")
        (self.temporary,) = set(target.parent.glob(f"{TEMPORARY_PREFIX}*")) - before

    def kill(self) -> Path:
        """SIGKILL the writer, as the OOM killer or a stopped container would; the temporary file it leaves."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        self.process.stdin.close()
        self.process.stdout.close()
        self.process.stderr.close()
        return self.temporary

    def finish(self) -> None:
        """Let the writer write its second half and rename; it must end well."""
        out, err = self.process.communicate(timeout=60)
        assert self.process.returncode == 0 and out.strip() == b"written", (out, err)


def killed_in_the_middle_of_writing(target: Path) -> Path:
    """The temporary file a writer of ``target`` left when it was SIGKILLed half-way."""
    return WriterInTheMiddle(target).kill()
