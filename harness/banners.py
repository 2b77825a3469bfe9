"""TensorFlow's start-up banners, kept off the terminal of ``python -m harness``.

TensorFlow 2.16 on logs through absl, which no longer heeds ``TF_CPP_MIN_LOG_LEVEL`` before it
is initialised: each process that imports it prints the oneDNN notice, the CPU-feature notice and
absl's own warning (a dozen lines over two workers, before the summary). ``python -m harness``
sends its standard error through a pipe whose reader drops those lines and passes everything else
on unchanged; its worker processes inherit the pipe. ``--verbose`` leaves standard error alone.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
from collections.abc import Iterator

BANNERS = re.compile(
    rb"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    rb"|I\d{4} [\d:.]+ +\d+ \S+\.cc:\d+\] .*"  # absl's INFO lines: the oneDNN and CPU-feature notices
    rb"|[\d-]+ [\d:.]+: I \S+\.cc:\d+\] .*"  # the same before TF 2.16, in TensorFlow's own format
    rb"|To enable the following instructions: .*"  # the CPU-feature notice's second line
    # Keras's tf.data pipeline names an attribute TensorFlow's op does not know; TensorFlow says it
    # ignores it ("This may be expected if your graph generating binary is newer than this binary").
    rb"|(?:E\d{4} [\d:.]+ +\d+ |[\d-]+ [\d:.]+: E \S*?)node_def_util\.cc:\d+\] "
    rb"NodeDef mentions attribute use_unbounded_threadpool .*")


def is_banner(line: bytes) -> bool:
    return BANNERS.fullmatch(line.rstrip(b"\r\n")) is not None


@contextlib.contextmanager
def filtered(enabled: bool = True) -> Iterator[None]:
    """Standard error (file descriptor 2, so child processes too) without the banners."""
    if not enabled:
        yield
        return
    sys.stderr.flush()
    original = os.dup(2)
    read, write = os.pipe()
    os.dup2(write, 2)
    os.close(write)

    def pump() -> None:
        with os.fdopen(read, "rb") as source:
            for line in source:
                if not is_banner(line):
                    os.write(original, line)

    reader = threading.Thread(target=pump, name="banners", daemon=True)
    reader.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(original, 2)  # this process's last write end of the pipe: the reader sees its end
        reader.join(timeout=10)
        os.close(original)
