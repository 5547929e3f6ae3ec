"""Operator controls that outlive the process: pause, resume and kill.

The state lives in a small JSON file beside the store (``<data_dir>/<mode>_controls.json``),
written atomically, so it holds across restarts and any process can change it: ``arbkit
kill`` from a shell stops a service running elsewhere on the same folder, which picks the
change up at its next cycle.

* **paused**: no new trades; scans, settlement and reconciliation go on.
* **killed**: paused, and every order resting on every venue was cancelled (by whoever
  killed, and again by each bot that notices the kill, which is harmless).
* **running**: trading as configured. Only :meth:`Controls.resume` gets back here: a
  restart never does.

A controls file that cannot be read counts as **paused** (with the reason), never as
running: when in doubt, do not trade.

>>> import tempfile, pathlib
>>> controls = Controls(pathlib.Path(tempfile.mkdtemp()) / "paper_controls.json")
>>> controls.read().state
'running'
>>> controls.pause("lunch").state
'paused'
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

import attrs

from arbkit.codec import structure, unstructure
from arbkit.errors import PersistenceError, ValidationError
from arbkit.models import utcnow
from arbkit.values import one_of

__all__ = ["CONTROL_STATES", "ControlState", "Controls"]

CONTROL_STATES = ("running", "paused", "killed")


@attrs.frozen
class ControlState:
    """Whether trading may go on, why not, and since when."""

    state: str = attrs.field(default="running", validator=one_of(CONTROL_STATES, what="control state"))
    reason: str = ""
    since: datetime | None = None

    @property
    def trading_allowed(self) -> bool:
        """Only ``running`` trades."""
        return self.state == "running"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (:mod:`arbkit.codec`)."""
        data: dict[str, Any] = unstructure(self)
        return data


class Controls:
    """Reads and writes the control state file; safe from several threads and processes."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Controls({str(self.path)!r})"

    def read(self) -> ControlState:
        """The current state; ``running`` when no file exists, ``paused`` when it is unreadable."""
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return ControlState()
        except OSError as exc:
            return ControlState("paused", f"controls file {self.path} cannot be read ({type(exc).__name__})")
        try:
            state = structure(json.loads(raw), ControlState)
            return attrs.evolve(state, reason=state.reason[:500])
        except (ValueError, ValidationError):
            return ControlState("paused", f"controls file {self.path} is corrupt; fix or delete it to resume")

    def _write(self, state: ControlState) -> ControlState:
        body = json.dumps(state.to_dict(), ensure_ascii=False).encode()
        with self._lock:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                tmp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(4)}.tmp")
                with open(tmp, "wb") as handle:
                    handle.write(body)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, self.path)
            except OSError as exc:
                with contextlib.suppress(OSError, UnboundLocalError):
                    tmp.unlink()
                raise PersistenceError(f"cannot write {self.path}: {type(exc).__name__}") from None
        return state

    def pause(self, reason: str = "paused by the operator") -> ControlState:
        """Stop new trades until :meth:`resume`."""
        return self._write(ControlState("paused", reason or "paused by the operator", utcnow()))

    def kill(self, reason: str = "killed by the operator") -> ControlState:
        """Record a kill (the caller cancels the resting orders): no trading until :meth:`resume`."""
        return self._write(ControlState("killed", reason or "killed by the operator", utcnow()))

    def resume(self) -> ControlState:
        """Trade again."""
        return self._write(ControlState("running", "", utcnow()))
