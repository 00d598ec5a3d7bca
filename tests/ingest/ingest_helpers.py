"""Shared by the ingest tests: where the fixtures are, and ingesting like the CLI does."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from vntwin.ingest import read_layers, write_layer
from vntwin.twin.layer import Layer

FIXTURES = Path(__file__).parent / "fixtures"


def ingest(path: Path, out: Path, **options: Any) -> list[tuple[Layer, Path]]:
    """Read (temporary files next to the output), then write every layer into ``out``."""
    layers = read_layers(path, workdir=out, **options)
    return [(layer, write_layer(layer, out, f"{layer.name}-v1")) for layer in layers]


_WATCHER = """
import errno, os, sys, time
path = sys.argv[1]
print("ready", flush=True)
while True:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    except OSError as error:
        if error.errno != errno.ENXIO:
            raise
        time.sleep(0.001)
        continue
    print("opened", flush=True)
    try:
        os.write(fd, b"not a grid" * 8)
    except OSError:
        pass
    os.close(fd)
"""


@contextmanager
def opened_files(path: Path) -> Iterator[list[str]]:
    """Make ``path`` a FIFO; the list yielded gets one entry per open of it in the block.

    A reader opening a FIFO blocks until a writer opens it too. A watcher process keeps
    trying to (non-blocking: that fails until a reader waits), so every open is counted
    and released with a few bytes of garbage. This sees opens made inside C libraries
    (PROJ, GDAL), which monkeypatching cannot, without strace. A process, not a thread:
    PROJ may block in open() holding the GIL.
    """
    os.mkfifo(path)
    opens: list[str] = []
    watcher = subprocess.Popen([sys.executable, "-c", _WATCHER, str(path)],
                               stdout=subprocess.PIPE, text=True)
    assert watcher.stdout is not None
    assert watcher.stdout.readline().strip() == "ready"
    try:
        yield opens
    finally:
        watcher.terminate()
        output, _ = watcher.communicate(timeout=10)
        opens += [line for line in output.splitlines() if line == "opened"]
