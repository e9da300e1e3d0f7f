"""Images logged as pixels: ``log()`` writes them to the run's log as they are (an IMAGE record), and
whoever stores the log makes their PNGs (the store's worker, a reader catching up, the server, ``tracklet sync``).

Why: making the PNG in the training process (an uploads thread, or a child process fed through a pipe
by that thread) took the GIL, a thread's wake-ups and a pipe's copies from the loop every step. Written
as pixels, an image costs the training thread one record in the write it makes for the step anyway
(``os.writev``: the pixels are not copied in Python), and an image logged just before a crash is in the
log. Its PNG is the bytes the in-process encoder makes (same digest: stored once). The price is disk:
a log holds the pixels (a 64x64 RGB image is 12 KiB; its PNG 2-12 KiB), gzipped with the rest of the
log once the run has ended (as the log's own records are). Measured in benchmarks/RESULTS.md ("its pixels in the run's log").
"""

from __future__ import annotations

from json.encoder import encode_basestring_ascii as quote  # json.dumps' own, in C

from ..wal._media import decode_images, describe_into, encode_images

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["MAX_PIXELS", "RECORD_PIXELS", "describe", "image_record", "store_images"]

MAX_PIXELS = 16 << 20  # bytes of pixels an image may have to be written as them; a larger one is encoded in process
RECORD_PIXELS = 48 << 20  # bytes of pixels in one IMAGE record (a record is at most wal MAX_RECORD, 64 MiB); the rest in process


def image_record(step: int, t: float, images: list[tuple[str, int, Any]]) -> list[Any]:
    """The IMAGE record of one ``log()``'s ``images`` (key, index in a list or -1, an ``Image`` of pixels) at ``step``,
    as the byte buffers ``wal._media.encode_images`` gives (the pixels not copied).

    Its JSON is written by hand (the keys and caption quoted by ``json``'s own C quoting): ``json.dumps``
    of the same took a seventh of an image's cost on the training thread.
    """
    items, pixels = [], []
    for key, idx, image in images:
        arr = image._pixels
        h, w, c = arr.shape
        extra = "" if image.caption is None else ',"caption":' + quote(image.caption)
        if idx >= 0:
            extra += ',"in_list":true'
        items.append(f'{{"key":{quote(key)},"idx":{max(idx, 0)},"shape":[{h},{w},{c}]{extra}}}')
        pixels.append(arr)
    head = f'{{"t":{t!r},"step":{step},"items":[{",".join(items)}]}}'.encode()
    return encode_images(head, pixels)


def describe(step: int, images: list[tuple[str, int, Any]]) -> dict[str, Any]:
    """The summary's descriptions of ``images`` (as ``wal._media.media_summary`` gives them), ``"digest": None`` in each."""
    out: dict[str, Any] = {}
    for key, idx, image in images:
        h, w = image._pixels.shape[:2]
        one = {"digest": None, "size": None, "format": "png", "width": w, "height": h}
        if image.caption is not None:
            one["caption"] = image.caption
        describe_into(out, key, "image", step, one, idx >= 0)
    return out


def store_images(payload: bytes, blobs: Any) -> dict[str, Any]:
    """Make and store the PNG of each image of an IMAGE record's ``payload``; the MEDIA record that names them.

    Raises:
        ValueError: the payload is not an IMAGE record's.
        OSError: a blob could not be written (the caller tries again later).
    """
    from ._image import png_of_pixels

    record, pixels = decode_images(payload)
    items = []
    for item, view in zip(record["items"], pixels):
        h, w, c = item["shape"]
        digest, size = blobs.put_bytes(png_of_pixels(h, w, c, view))
        meta: dict[str, Any] = {"format": "png", "width": w, "height": h}
        if "caption" in item:
            meta["caption"] = item["caption"]
        if item.get("in_list"):
            meta["in_list"] = True
        items.append({"key": item["key"], "idx": item["idx"], "kind": "image", "digest": digest, "size": size, "meta": meta})
    return {"t": record["t"], "step": record["step"], "items": items}
