"""Console capture: a copy of what the script prints goes into the run's log, the terminal unchanged.

Python-level streams are wrapped (``sys.stdout``/``sys.stderr``); complete lines are recorded,
and a line rewritten with carriage returns (progress bars) is kept as the terminal shows it last.
"""

from __future__ import annotations

import sys
TYPE_CHECKING = False  # typing is not imported at run time: it costs ~2 ms of the first init()
if TYPE_CHECKING:
    from typing import Any, Callable

__all__ = ["ConsoleCapture"]

_MAX_BUFFER = 64 * 1024


def _as_displayed(text: str) -> str:
    """Each line as a terminal would show it after its carriage returns."""
    return "\n".join(line.rsplit("\r", 1)[-1] if "\r" in line else line for line in text.split("\n"))


class _Tee:
    """Writes through to the real stream first, then hands complete lines to ``sink``."""

    def __init__(self, stream: Any, name: str, sink: Callable[[str, str], None]) -> None:
        self._stream = stream
        self._name = name
        self._sink = sink
        self._buf = ""
        self._active = True

    def write(self, text: Any) -> Any:
        n = self._stream.write(text)
        if self._active and isinstance(text, str) and text:
            try:
                self._take(text)
            except Exception:
                self._active = False  # never let capture break the user's output
        return n

    def _take(self, text: str) -> None:
        buf = self._buf + text
        cut = buf.rfind("\n")
        if cut >= 0:
            done, buf = buf[: cut + 1], buf[cut + 1 :]
            self._sink(self._name, _as_displayed(done))
        if "\r" in buf:
            buf = buf.rsplit("\r", 1)[-1] if not buf.endswith("\r") else buf
        if len(buf) > _MAX_BUFFER:
            self._sink(self._name, buf)
            buf = ""
        self._buf = buf

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self._stream.flush()

    def drain(self) -> None:
        if self._buf.strip("\r"):
            try:
                self._sink(self._name, _as_displayed(self._buf.rstrip("\r")) + "\n")
            except Exception:
                pass
        self._buf = ""
        self._active = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class ConsoleCapture:
    """Wraps ``sys.stdout`` and ``sys.stderr`` for one run; ``stop()`` unwraps them."""

    def __init__(self, run: Any) -> None:
        self._run = run
        self._tees: dict[str, _Tee] = {}

    def start(self) -> None:
        for name in ("stdout", "stderr"):
            stream = getattr(sys, name, None)
            if stream is None:
                continue
            tee = _Tee(stream, name, self._run._record_output)
            self._tees[name] = tee
            setattr(sys, name, tee)

    def terminal(self, name: str) -> Any:
        """The real ``sys.<name>`` under the wrapper: text written there is shown and not recorded."""
        tee = self._tees.get(name)
        return tee._stream if tee is not None else getattr(sys, name)

    def stop(self) -> None:
        for name, tee in self._tees.items():
            tee.drain()
            if getattr(sys, name, None) is tee:
                setattr(sys, name, tee._stream)
        self._tees.clear()
