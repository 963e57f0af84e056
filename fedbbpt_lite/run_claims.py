"""Which worker runs which run of a shared sweep folder.

A claim is the file OUT/claims/RUN_ID naming its worker's host and process, taken under the
folder's lock (filelock) so that two workers never take one run. A worker touches its claims
every `beat` seconds; a claim left untouched for `stale_after` seconds, or whose process on this
host has ended, was a dead worker's, and the next worker to look takes it over.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from pathlib import Path

from filelock import FileLock

from .validation import check_real

LOCK_FILE, CLAIMS_DIR = "sweep.lock", "claims"


def _process_alive(pid) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ProcessLookupError, ValueError, TypeError):
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


class RunClaims:
    """The claims of one sweep folder as seen by this process. `lock` serialises every read and
    write of the folder's store and claims between workers."""

    def __init__(self, folder, beat: float = 10.0, stale_after: float = 120.0):
        self.beat = check_real("beat", beat, positive=True)
        self.stale_after = check_real("stale_after", stale_after, positive=True)
        if self.stale_after <= self.beat:
            raise ValueError(f"stale_after ({stale_after}) must exceed beat ({beat})")
        self.folder = Path(folder)
        self.folder.joinpath(CLAIMS_DIR).mkdir(parents=True, exist_ok=True)
        self.lock = FileLock(self.folder / LOCK_FILE)
        self.owner = {"host": socket.gethostname(), "pid": os.getpid()}
        self.held: set[str] = set()
        self._stop = threading.Event()
        self._beating = threading.Thread(target=self._touch_held, daemon=True)
        self._beating.start()

    def path(self, key: str) -> Path:
        return self.folder / CLAIMS_DIR / key

    def live(self, key: str) -> bool:
        """Whether another worker that is still alive holds `key`."""
        path = self.path(key)
        try:
            owner, touched = json.loads(path.read_text()), path.stat().st_mtime
        except (FileNotFoundError, json.JSONDecodeError):
            return False
        if owner == self.owner:
            return key in self.held
        if owner.get("host") == self.owner["host"] and not _process_alive(owner.get("pid")):
            return False
        return time.time() - touched < self.stale_after

    def take(self, key: str) -> None:
        """Claim `key` for this worker (call under `lock`, after `live` said no)."""
        self.path(key).write_text(json.dumps(self.owner))
        self.held.add(key)

    def release(self, key: str) -> None:
        self.held.discard(key)
        self.path(key).unlink(missing_ok=True)

    def close(self) -> None:
        """Stop touching the claims and give back those still held."""
        self._stop.set()
        self._beating.join()
        for key in list(self.held):
            self.release(key)

    def _touch_held(self) -> None:
        while not self._stop.wait(self.beat):
            for key in list(self.held):
                try:
                    os.utime(self.path(key))
                except FileNotFoundError:
                    pass
