"""Reading rich values back: a run's tables, images, histograms, ... from the store's media entries and blobs."""

from __future__ import annotations

from .._errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ..store._interface import Store

__all__ = ["load"]


def load(store: Store, run_id: str, key: str, step: int | None, kind: str | None) -> Any:
    """The value logged under ``key`` at ``step`` (the latest step when None): a media object, or a list
    of them when a list was logged. ``kind`` (``table``, ``image``, ...) checks what it is."""
    from ..media._base import kinds

    if not isinstance(key, str):
        raise UsageError(f"a media key is a string; got {type(key).__name__}")
    entries = store.media(run_id, key)
    if not entries:
        logged = sorted({e["key"] for e in store.media(run_id)})
        raise UsageError(
            f"run {run_id} logged no media under {key!r}; "
            + (f"its media keys: {', '.join(logged[:20])}" if logged else "it logged no tables, images or other media")
        )
    steps = sorted({e["step"] for e in entries})
    if step is None:
        step = steps[-1]
    at = [e for e in entries if e["step"] == step]
    if not at:
        shown = ", ".join(map(str, steps[:10])) + (f", ... ({len(steps)} in all)" if len(steps) > 10 else "")
        raise UsageError(f"run {run_id} logged {key!r} at steps {shown}, not at step {step}")
    if kind is not None and any(e["kind"] != kind for e in at):
        raise UsageError(f"{key!r} at step {step} of run {run_id} is a {at[0]['kind']}, not a {kind}")
    classes = kinds()
    values = [classes[e["kind"]]._decode(store.get_blob(e["digest"]), e["meta"], store.get_blob) for e in sorted(at, key=lambda e: e["idx"])]
    return values[0] if len(values) == 1 and at[0]["idx"] == 0 and not _was_list(at) else values


def _was_list(entries: list[dict[str, Any]]) -> bool:
    return len(entries) > 1 or bool(entries[0]["meta"].get("in_list"))
