"""A child process that makes images' PNGs and stores them, so the training loop keeps its core and the GIL.

A 64x64 image costs 0.2-0.3 ms of encoding, hashing and writing; on the run's uploads thread that
work took the GIL from the loop at every release (each numpy call of a step) and added 27-35% to a
0.26 ms step (benchmarks/RESULTS.md). Here the uploads thread only sends the pixels down a pipe and
writes the records.

The child is ``python -m tracklet.media._encoder <blob folder>``, started by ``subprocess`` (fork
and exec in C: no Python runs in a fork of this threaded process) from the uploads thread once a
run has stored ``_log.CHILD_AFTER`` images, ended by ``finish()``. It reads batches
of pixels on stdin and answers each image with its digest and size, or an error. A child that
does not start, dies or stops answering is ended and the run stores in process from then on:
every image of an unanswered batch is stored again there (by content: once).
"""

from __future__ import annotations

import os
import struct
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["Child", "main"]

HELLO = b"tracklet-encoder 1\n"
_BATCH = struct.Struct("<I")  # images in a batch; bytes of its answer
_IMAGE = struct.Struct("<IIBQ")  # height, width, channels, bytes of pixels
_REPLY = struct.Struct("<BQI")  # status (0 stored), size, length of the error text; the 64 hex digits follow when stored
MAX_PIXELS = 64 << 20  # a larger image is stored in process: a batch's bytes stay in memory until answered
ROUND_TRIP = 1 << 20  # bytes of pixels sent at once (but one larger image): the pipe's size, no huge buffer made
TIMEOUT = 60.0  # seconds without progress before the child is taken for hung


class ChildGone(Exception):
    """The child did not start, died or stopped answering."""


class Child:
    """The parent's end: one child per run, used by the run's uploads thread only."""

    def __init__(self, directory: str) -> None:
        import subprocess

        exe = sys.executable or ""
        if not os.path.basename(exe).lower().startswith("python"):  # an embedding program is no interpreter to run
            raise ChildGone(f"no Python interpreter to start ({exe!r})")
        try:
            self._proc = subprocess.Popen(
                [exe, "-m", "tracklet.media._encoder", directory],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=0,
                cwd=directory,  # the blob folder: no folder named tracklet (the default store's) shadows the package
            )
        except OSError as e:
            raise ChildGone(f"could not start: {e}") from None
        self._out = self._proc.stdin.fileno()  # type: ignore[union-attr]
        self._in = self._proc.stdout.fileno()  # type: ignore[union-attr]
        _widen(self._out)
        try:
            if self._read(len(HELLO)) != HELLO:
                raise ChildGone("it did not introduce itself")
        except (ChildGone, OSError) as e:
            self.close(kill=True)
            raise ChildGone(str(e)) from None

    def store(self, images: list[tuple[int, int, int, bytes]]) -> list[tuple[str, int] | str]:
        """Store the PNG of each ``(height, width, channels, pixels)``: ``(digest, size)`` or the error's text, in order.

        Raises:
            ChildGone: the child died or hung; it has been ended and none of the answers are known.
        """
        parts = [_BATCH.pack(len(images))]
        for h, w, c, pixels in images:
            parts += (_IMAGE.pack(h, w, c, len(pixels)), pixels)
        try:
            self._write(b"".join(parts))
            (n,) = _BATCH.unpack(self._read(_BATCH.size))
            answer, at = self._read(n), 0  # in two reads: each is a GIL release and a wake-up
            out: list[tuple[str, int] | str] = []
            for _ in images:
                status, size, n = _REPLY.unpack_from(answer, at)
                at += _REPLY.size
                if status == 0:
                    out.append((answer[at : at + 64].decode("ascii"), size))
                    at += 64
                else:
                    out.append(answer[at : at + n].decode("utf-8", "replace"))
                    at += n
            return out
        except (OSError, ValueError, struct.error) as e:
            self.close(kill=True)
            raise ChildGone(repr(e)) from None
        except ChildGone:
            self.close(kill=True)
            raise

    def close(self, kill: bool = False) -> None:
        """End the child: it exits at the end of its input (every batch was answered); ``kill``: at once."""
        proc = self._proc
        if kill and proc.poll() is None:
            proc.kill()
        for f in (proc.stdin, proc.stdout):
            try:
                f.close()  # type: ignore[union-attr]
            except OSError:
                pass
        try:
            proc.wait(timeout=TIMEOUT)
        except Exception:
            proc.kill()
            proc.wait()

    def _write(self, data: bytes) -> None:
        import select

        if self._proc.poll() is not None:  # where SIGPIPE is not ignored, writing to a dead child would end this process
            raise ChildGone(f"it exited (code {self._proc.returncode})")
        view = memoryview(data)
        while view:
            if not select.select([], [self._out], [], TIMEOUT)[1]:
                raise ChildGone(f"it took nothing for {TIMEOUT:.0f} s")
            view = view[os.write(self._out, view):]

    def _read(self, n: int) -> bytes:
        import select

        parts, left = [], n
        while left:
            if not select.select([self._in], [], [], TIMEOUT)[0]:
                raise ChildGone(f"it answered nothing for {TIMEOUT:.0f} s")
            got = os.read(self._in, left)
            if not got:
                raise ChildGone(f"it exited (code {self._proc.poll()})")
            parts.append(got)
            left -= len(got)
        return parts[0] if len(parts) == 1 else b"".join(parts)


def _widen(fd: int) -> None:
    """A 1 MiB pipe where Linux allows it (64 KiB by default): a batch goes in a few writes, each a GIL release."""
    try:
        import fcntl

        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, 1 << 20)
    except (ImportError, AttributeError, OSError):
        pass


def main(directory: str) -> int:
    """The child: answer batches of pixels on stdin until it closes."""
    from ..artifacts.storage._blobs import LocalBlobStore
    from ._image import png_of_pixels

    store = LocalBlobStore(directory, workers=1)
    inp = os.fdopen(0, "rb", buffering=1 << 20)
    out = 1
    os.write(out, HELLO)
    while True:
        head = inp.read(_BATCH.size)
        if len(head) < _BATCH.size:
            return 0
        (count,) = _BATCH.unpack(head)
        batch = []
        for _ in range(count):  # the whole batch first: the parent's write ends at once, and it then waits in one read
            h, w, c, n = _IMAGE.unpack(_exact(inp, _IMAGE.size))
            batch.append((h, w, c, n, _exact(inp, n)))
        replies = []
        for h, w, c, n, pixels in batch:
            try:
                if n != h * w * c:
                    raise ValueError(f"{n} bytes of pixels for an image of {h}x{w}x{c}")
                digest, size = store.put_bytes(png_of_pixels(h, w, c, pixels))
                replies.append(_REPLY.pack(0, size, 0) + digest.encode("ascii"))
            except Exception as e:  # said by the parent, which stores this image in process and warns there
                text = repr(e).encode("utf-8", "replace")
                replies.append(_REPLY.pack(1, 0, len(text)) + text)
        answer = b"".join(replies)
        view_out = memoryview(_BATCH.pack(len(answer)) + answer)
        while view_out:
            view_out = view_out[os.write(out, view_out):]


def _exact(inp: Any, n: int) -> bytes:
    data = inp.read(n)
    if len(data) != n:
        raise SystemExit(0)  # the parent went away mid-batch
    return data


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
