"""Versioned objects of tracing: ``Prompt``, ``Dataset``, ``publish`` and ``ref``.

A published object is an artifact (type ``prompt``, ``dataset`` or ``object``) holding one JSON file,
so versions are content-addressed: publishing unchanged content returns the version already there,
a change makes the next ``vN``; aliases are the artifact's (``latest``, and any given). Publishing
outside a run starts a short run of job type ``publish`` to record it, as ``Artifact.save`` would.
"""

from __future__ import annotations

import json

from .._errors import UsageError
from ._context import CURRENT

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["Dataset", "Prompt", "Ref", "add_prompts", "dataset_of_artifact", "publish", "ref"]

_FILE = "object.json"


class Prompt:
    """A prompt: a template string, or chat messages (``[{"role", "content"}, ...]``) whose contents are templates.

    ``format(**values)`` fills ``{name}`` fields; once published (``tracklet.publish(prompt, name="qa")``),
    every call that formats it records the version it used (its summary's ``prompts``, its parents' too), so
    versions can be compared by latency, tokens, cost and scores (``tracklet.Api().prompt_versions``).

    >>> p = tracklet.Prompt("Answer briefly: {question}")
    >>> tracklet.publish(p, name="qa")
    >>> p.format(question="What is RAG?")
    """

    def __init__(self, content: str | list[dict[str, Any]]) -> None:
        if isinstance(content, str):
            pass
        elif isinstance(content, list) and all(isinstance(m, dict) and isinstance(m.get("content"), str) for m in content):
            content = [dict(m) for m in content]
        else:
            raise TypeError("Prompt() takes a template string or chat messages: [{'role': 'user', 'content': '...'}, ...]")
        self.content = content
        self.ref: Ref | None = None

    def format(self, **values: Any) -> Any:
        """The prompt with ``values`` filled in (a string, or the messages with their contents filled)."""
        try:
            if isinstance(self.content, str):
                out: Any = self.content.format(**values)
            else:
                out = [{**m, "content": m["content"].format(**values)} for m in self.content]
        except KeyError as e:
            raise UsageError(f"Prompt.format() needs a value for {e.args[0]!r}") from None
        call = CURRENT.get()
        if self.ref is not None and call is not None and call.id is not None:
            add_prompts(call, [self.ref.uri])
        return out

    def __tracklet_value__(self) -> Any:
        return {"prompt": self.ref.uri if self.ref else None, "content": self.content}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Prompt) and other.content == self.content

    def __repr__(self) -> str:
        return f"Prompt({self.content!r}{', ' + self.ref.uri if self.ref else ''})"


def add_prompts(call: Any, uris: list[str]) -> None:
    """Record in ``call``'s summary (``prompts``) that it used these prompt versions; a call's parents record
    its prompts too when it ends, as they do its usage, so a trace's root and an evaluation name every version used."""
    used = (call.summary or {}).get("prompts", [])
    new = [u for u in uris if u not in used]
    if new:
        call.set_summary(prompts=[*used, *new])


class Dataset:
    """Named rows for evaluations: ``Dataset(name="qa", rows=[{...}, ...])``; publish it to version it."""

    def __init__(self, rows: list[dict[str, Any]], name: str | None = None) -> None:
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise TypeError("Dataset(rows=...) takes a list of dicts, one per row")
        self.rows, self.name = rows, name
        self.ref: Ref | None = None

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Any:
        return iter(self.rows)

    def __tracklet_value__(self) -> Any:
        return {"dataset": self.ref.uri if self.ref else self.name, "rows": len(self.rows)}


class Ref:
    """A published object's address, ``name:vN``; ``get()`` loads it."""

    def __init__(self, project: str, name: str, version: str, entity: str | None = None) -> None:
        self.project, self.name, self.version, self.entity = project, name, version, entity

    @property
    def uri(self) -> str:
        return f"{self.name}:{self.version}"

    def __repr__(self) -> str:
        return f"Ref({self.project}/{self.uri})"

    def get(self) -> Any:
        """The object as published: a ``Prompt``, a ``Dataset``, or the JSON value."""
        from ..api._api import Api

        path = f"{self.entity + '/' if self.entity else ''}{self.project}/{self.name}:{self.version}"
        art = Api(dir=_store_dir()).artifact(path)
        obj = _object_of(art)
        if isinstance(obj, (Prompt, Dataset)):
            obj.ref = Ref(self.project, self.name, art.version or self.version, self.entity)
        return obj


def _object_of(art: Any) -> Any:
    """What ``publish`` stored in artifact ``art``."""
    try:
        entry = art.get_entry(_FILE)
    except (KeyError, UsageError):
        raise UsageError(f"artifact {art.name} was not made by tracklet.publish (it has no {_FILE})") from None
    with open(entry.download(), encoding="utf-8") as f:
        doc = json.load(f)
    if art.type == "prompt":
        return Prompt(doc["content"])
    if art.type == "dataset":
        return Dataset(doc["rows"], name=art.name.split(":")[0])
    return doc["value"]


def dataset_of_artifact(art: Any) -> Dataset:
    """The ``Dataset`` a published dataset artifact holds (``Api().artifact("project/qa:v2")``)."""
    found = _object_of(art)
    if not isinstance(found, Dataset):
        raise TypeError(f"artifact {art.name} is a {art.type}, not a published Dataset")
    return found


def _store_dir() -> str | None:
    from . import _setup

    return _setup.TRACER.root if _setup.TRACER is not None else None


def _project() -> tuple[str, str | None]:
    from ..tracking import _init
    from . import _setup

    if _setup.TRACER is not None:
        return _setup.TRACER.project, _setup.TRACER.entity
    if _init._current is not None:
        return _init._current.project, _init._current.entity
    raise UsageError("publish() and ref() need a project: call tracklet.init_tracing('my-project') (or tracklet.init) first")


def publish(obj: Any, name: str | None = None, aliases: list[str] | None = None) -> Ref:
    """Store a version of ``obj`` (a ``Prompt``, a ``Dataset``, or a JSON-able value) under ``name``; returns its ``Ref``.

    Unchanged content keeps its version; changed content gets the next one. ``aliases`` are added to it.
    """
    from ..artifacts._artifact import Artifact, check_artifact_name
    from ..tracking import _init

    name = check_artifact_name(name or getattr(obj, "name", None) or "", "publish(name=...)") if (name or getattr(obj, "name", None)) else None
    if name is None:
        raise UsageError(f"publish() needs a name for {type(obj).__name__}: publish(obj, name='qa-prompt')")
    if isinstance(obj, Prompt):
        kind, doc = "prompt", {"content": obj.content}
    elif isinstance(obj, Dataset):
        kind, doc = "dataset", {"rows": obj.rows}
    else:
        kind, doc = "object", {"value": obj}
    try:
        text = json.dumps(doc, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise TypeError(f"publish() stores JSON: {type(obj).__name__} cannot be written as JSON ({e})") from None
    project, entity = _project()
    art = Artifact(name, kind)
    with art.new_file(_FILE) as f:
        f.write(text)
    run = _init._current
    if run is not None and not run.disabled:  # the run records it (in the run's project)
        project, entity = run.project, run.entity
        run.log_artifact(art, aliases=aliases)
    else:
        from .. import init

        own = init(project=project, entity=entity, job_type="publish", name=f"publish-{name}", dir=_store_dir())
        try:
            own.log_artifact(art, aliases=aliases)
        finally:
            own.finish()
    art.wait()
    found = Ref(project, name, art.version or "latest", entity)
    if isinstance(obj, (Prompt, Dataset)):
        obj.ref = found
    return found


def ref(uri: str) -> Ref:
    """The object published as ``uri``: ``name:latest``, ``name:v3``, ``name:alias``, or ``project/name:...``."""
    if not isinstance(uri, str) or not uri:
        raise TypeError(f"ref() takes 'name:version', got {uri!r}")
    if uri.startswith("weave:///"):
        uri = uri[len("weave:///"):]
    path, _, version = uri.rpartition(":") if ":" in uri else (uri, ":", "latest")
    parts = path.split("/")
    if len(parts) == 1:
        project, entity = _project()
    elif len(parts) == 2:
        project, entity = parts[0], None
    else:
        entity, project = parts[-3], parts[-2]
    return Ref(project, parts[-1], version or "latest", entity)
