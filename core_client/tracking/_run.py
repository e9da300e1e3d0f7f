"""``Run``: what ``tracklet.init`` returns. ``log`` encodes a record and writes it to the run's WAL.

The training thread never waits for the store: each call appends one record to
``runs/<id>/run.tlog`` with a single ``write(2)`` and returns. A separate process
(``_ingest_worker``) or any later reader moves records into the store.
"""

from __future__ import annotations

import os
import struct
import threading
import time
import weakref
from collections.abc import Mapping

from ._config import Config
from .._errors import UsageError, warn_once
from ._run_extras import RunExtras
from ._summary import MetricDef, Summary, parse_metric_def
from ._values import FAST_INT, MAX_STEP, NEG_FAST_INT, as_number, check_step, check_text, describe, flatten
from ..media._image import Image, is_figure
from ..media._log import is_media
from ..media._log import queue as queue_media
from ..media._log import split as split_media
from ..media._pixels import describe as describe_images
from ..media._pixels import image_record
from ..wal._wal import MAX_RECORD, RecordType, WalWriter, json_payload

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ._background import Background
    from ._console import ConsoleCapture
    from .._settings import Settings

__all__ = ["Run"]

_live_runs: "weakref.WeakSet[Run]" = weakref.WeakSet()


def _forget_runs_in_child() -> None:
    # A forked child (a DataLoader worker, say) shares the parent's WAL file descriptor;
    # writing from it would interleave sequence numbers, so its runs go quiet.
    for run in list(_live_runs):
        run._closed = "fork"


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_runs_in_child)


class _NullWriter:
    """The writer of a disabled run: accepts every record and keeps none."""

    path = None
    offset = 0
    seq = 1
    error = None
    pending_bytes = 0
    dropped = 0

    def append(self, rtype: int, payload: bytes) -> int:
        return 0

    def append_json(self, rtype: int, obj: Any) -> int:
        return 0

    def append_history(self, step: int, t: float, pairs: list, tail: bytes | None, then: Any = None) -> None:
        struct.pack(f"<q{len(pairs) >> 1}d", step, *pairs[1::2])  # refuses what a real WAL would, as a real one does

    def append_key(self, key_id: int, name: str) -> None:
        pass

    def append_system(self, t: float, pairs: list) -> None:
        pass

    def flush(self) -> bool:
        return True

    def unwritten(self) -> tuple[int, int]:
        return 0, 0

    def sync(self) -> None:
        pass

    def close(self) -> None:
        pass


def _step_error(step: Any) -> UsageError:
    """The error for a step past 2**63-1: the one given, or the next after log(step=2**63-1)."""
    if step is not None:
        try:
            check_step(step)
        except UsageError as e:
            return e
    return UsageError("this run has logged step 2**63-1, the last a step can be; log() without step= has no next step")


class Run(RunExtras):
    """A single run: ``log`` metrics, read and set ``config`` and ``summary``, then ``finish``.

    Example:
        >>> run = tracklet.init(project="llm-finetuning", config={"lr": 2e-4})
        >>> run.log({"train/loss": 0.5})
        >>> run.finish()
    """

    def __init__(
        self,
        settings: "Settings",
        run_id: str,
        name: str,
        run_dir: str | None,
        writer: WalWriter | _NullWriter,
        created_at: float,
    ) -> None:
        self._settings = settings
        self._id = run_id
        self._name = name
        self._dir = run_dir
        self._writer = writer
        self._created_at = created_at
        self._lock = threading.RLock()
        self._key_ids: dict[str, int] = {}
        self._step = 0
        self._closed: str | None = None  # None while live; "finished" or "fork" after
        self._metric_defs: list[MetricDef] = []
        self._warned_steps = False
        self._reopened_step = -1  # a resumed run's last step: logging it again is not "lower"
        self._error: str | None = None
        self._end_state: str | None = None  # "stopped": a sweep's early termination ended it (stop_for_sweep)
        self.sweep_id: str | None = None  # the sweep whose trial this run is, as wandb's run.sweep_id
        self._tags = tuple(settings.tags)
        self._notes = settings.notes
        self._group = settings.group
        self._job_type = settings.job_type
        self._background: Background | None = None
        self._console: ConsoleCapture | None = None
        self._on_finish: list[Any] = []
        self._upload_queue: Any = None
        self._uploader: Any = None  # remote mode: the thread that posts the log (remote._uploader)
        self._worker_started = False
        self.config = Config(on_change=self._record_config)
        self.summary = Summary(on_set=self._record_summary)
        _live_runs.add(self)

    # -- identity ------------------------------------------------------------------------------
    @property
    def id(self) -> str:
        return self._id

    @property
    def name(self) -> str:
        return self._name

    @name.setter
    def name(self, value: str) -> None:
        self._name = check_text(value, "run.name")
        self._record_update(name=self._name)

    @property
    def project(self) -> str:
        return self._settings.project

    @property
    def entity(self) -> str | None:
        return self._settings.entity

    @property
    def path(self) -> str:
        """``project/run_id`` (``entity/project/run_id`` with an entity), as ``Api().run()`` takes it."""
        prefix = f"{self.entity}/" if self.entity else ""
        return f"{prefix}{self.project}/{self._id}"

    @property
    def dir(self) -> str | None:
        """The run's folder on disk (None for a disabled run)."""
        return self._dir

    @property
    def mode(self) -> str:
        return self._settings.mode

    @property
    def disabled(self) -> bool:
        return self._settings.mode == "disabled"

    @property
    def offline(self) -> bool:
        return self._settings.mode == "offline"

    @property
    def step(self) -> int:
        """The step the next ``log()`` without ``step=`` writes to."""
        return self._step

    @property
    def start_time(self) -> float:
        return self._created_at

    @property
    def tags(self) -> tuple[str, ...]:
        return self._tags

    @tags.setter
    def tags(self, value: Any) -> None:
        from .._settings import _as_tags

        self._tags = _as_tags(value)
        self._record_update(tags=list(self._tags))

    @property
    def notes(self) -> str | None:
        return self._notes

    @notes.setter
    def notes(self, value: str | None) -> None:
        self._notes = None if value is None else check_text(value, "run.notes")
        self._record_update(notes=value)

    @property
    def group(self) -> str | None:
        return self._group

    @property
    def job_type(self) -> str | None:
        return self._job_type

    @property
    def url(self) -> str | None:
        return None if self._dir is None else f"file://{self._dir}"

    # -- logging -------------------------------------------------------------------------------
    def log(self, data: Mapping[str, Any], step: int | None = None, commit: bool | None = None) -> None:
        """Record metrics for one step; nested dicts become ``a/b`` keys.

        Args:
            data: metric name to value: numbers, numpy/torch scalars, strings, nested dicts.
            step: the step to record at (an int from 0 to 2**63-1); default is the current step.
                A lower step than the current one is stored as well (charts sort by step).
            commit: False keeps the current step open for more keys; the default moves on.

        Raises:
            UsageError: a bad key, step or value (see ``tracklet.tracking._values``); nothing is recorded
                and the step does not move.
        """
        if self._closed is not None:
            self._log_after_close()
            return
        t = time.time()
        # The fast path (~3 µs for 10 values): known keys, plain floats and ints; the rest is checked in _encode_slow.
        if type(data) is dict or isinstance(data, dict):
            ids = self._key_ids
            pairs: list | None = []
            append = pairs.append
            try:
                for key, value in data.items():
                    tv = type(value)
                    if tv is float or tv is int:  # an int beyond float64 is caught where it is packed
                        kid = ids.get(key)
                        if kid is not None:
                            append(kid)
                            append(value)
                            continue
                    pairs = None
                    break
            except Exception:  # a key whose __eq__ raises: the slow path says what is wrong
                pairs = None
        elif isinstance(data, Mapping):
            pairs = None
        else:
            raise UsageError(f"log() takes a dict of metrics; got {describe(data)}")
        if commit is not None and type(commit) is not bool:
            raise UsageError(f"log(commit=) takes True, False or None; got {describe(commit)}")
        late = False
        with self._lock:
            # Everything is checked before anything changes: a refused call registers no key,
            # writes no record and moves no step.
            cur = self._step
            if step is None:
                s = cur  # past 2**63-1 only after log(step=2**63-1)
            elif type(step) is int and step >= 0:
                s = step  # past 2**63-1: refused below
            else:
                s = check_step(step)
            media = images = None
            if pairs is None:
                if s > MAX_STEP:
                    raise _step_error(step)
                pairs, tail, flat, media = self._encode_slow(data)
                if media:
                    images, media = split_media(media, self._dir is not None)
            else:
                tail, flat = None, data
            try:
                # the step's images as pixels go in the same write (media._pixels): one system call a step
                self._writer.append_history(s, t, pairs, tail, None if not images else (RecordType.IMAGE, image_record(s, t, images)))
            except struct.error:  # pack() refused the step or an int beyond float64: nothing is written
                if s > MAX_STEP:
                    raise _step_error(step) from None
                self._encode_slow(data)  # raises the UsageError that names the key
                raise
            if step is None:
                if commit is not False:
                    self._step = cur + 1
            elif s >= cur:
                self._step = s + 1 if commit else s
            elif s == self._reopened_step and cur == s + 1:
                pass  # a resumed run's last step, logged again: it merges, as before the resume
            elif not self._warned_steps:
                self._warned_steps = late = True
            if media:
                queue_media(self, s, t, media)  # in step order with the history records: under the lock
            if images:
                self.summary.observe_media(describe_images(s, images))
                self._start_worker()
        if self._writer.error is not None:
            self._report_write_error()
        if late:
            warn_once(
                f"step-order:{self._id}",
                f"tracklet: log() at step {s} is lower than the current step {cur}; it is stored "
                "(charts sort by step). This is said once per run.",
            )
        self.summary.observe(flat)

    def _encode_slow(self, data: Mapping) -> tuple[list, bytes | None, dict[str, Any], dict[str, Any]]:
        """Flatten and check everything, then register new keys: bad input leaves nothing half-written.

        Returns the HISTORY record's pairs and text tail, the scalars and texts (for the summary), and
        the rich values (tables, images, ...: ``tracklet.media``), which go to a MEDIA record instead.
        """
        flat = flatten(data)
        scalars: dict[str, Any] = {}
        texts: dict[str, str] = {}
        media: dict[str, Any] = {}
        for key, value in flat.items():
            tv = type(value)
            if tv is float or (tv is int and NEG_FAST_INT < value < FAST_INT):
                scalars[key] = value
            elif tv is str:
                texts[key] = value if value.isascii() else check_text(value, f"log() value for {key!r}:")
            elif is_media(value):  # before as_number: an image a step asks nothing of numbers' checks
                media[key] = value
            elif is_figure(value):  # wandb takes a matplotlib figure (or pyplot) as a value: stored as its image
                media[key] = Image(value)
            else:
                number = as_number(key, value)
                if number is not None:
                    scalars[key] = number
                elif isinstance(value, str):
                    texts[key] = check_text(value, f"log() value for {key!r}:")
                else:
                    raise UsageError(
                        f"log() value for {key!r} is a {type(value).__name__}; tracklet logs numbers "
                        "(int, float, bool, numpy and torch scalars), strings and media (tracklet.Table, "
                        "Image, Histogram, Audio, Video, Html, plot charts)"
                    )
        encoded: dict[str, str] = {}
        if texts:
            from json.encoder import encode_basestring_ascii as quote  # json.dumps' own, in C

            encoded = {key: quote(value) for key, value in texts.items()}
            size = 41 + 12 * len(scalars) + sum(len(v) + 16 for v in encoded.values())  # body bytes, at most
            if size > MAX_RECORD:
                raise UsageError(
                    f"log() text values take {size:,} bytes in this call; one call holds at most "
                    f"{MAX_RECORD:,}. Log large text as an artifact (tracklet.Artifact) instead"
                )
        pairs: list = []
        for key, number in scalars.items():
            pairs.append(self._key_id(key))
            pairs.append(float(number) if type(number) is bool else number)
        tail = None
        if encoded:
            tail = ("{" + ",".join([f'"{self._key_id(k)}":{v}' for k, v in encoded.items()]) + "}").encode()
        scalars.update(texts)
        return pairs, tail, scalars, media

    def _resume_steps(self, next_step: int) -> None:
        """Continue a resumed run: ``log()`` goes on at ``next_step``, and ``log(step=next_step - 1)``
        (the last step logged before the resume) adds to that step without a "lower step" warning."""
        self._step = next_step
        self._reopened_step = next_step - 1

    def _key_id(self, key: str) -> int:
        kid = self._key_ids.get(key)
        if kid is None:
            kid = self._key_ids[key] = len(self._key_ids) + 1
            self._writer.append_key(kid, key)
            if not self._worker_started:
                self._start_worker()  # metrics are coming: a live chart wants them stored as they arrive
            for mdef in self._metric_defs:
                if mdef.matches(key):
                    self.summary.apply_def(key, mdef)
        return kid

    def _log_after_close(self) -> None:
        if self._end_state == "stopped":
            from .._errors import RunStopped

            raise RunStopped(f"run {self._id} was stopped by its sweep's early termination (hyperband); the agent goes on")
        if self._closed == "fork":
            warn_once(
                "log-in-fork",
                f"tracklet: log() in a forked child process (pid {os.getpid()}) is ignored; "
                "log from the process that called tracklet.init().",
            )
        else:
            warn_once(
                f"log-after-finish:{self._id}",
                f"tracklet: log() after run {self._id} finished is ignored; call tracklet.init() for a new run.",
            )

    def define_metric(
        self,
        name: str,
        step_metric: str | None = None,
        summary: str | None = None,
        goal: str | None = None,
        hidden: bool = False,
        **_ignored: Any,
    ) -> MetricDef:
        """Say how a metric (or ``prefix/*`` family) is summarised and which metric is its x-axis.

        Example:
            >>> run.define_metric("val/*", step_metric="epoch")
            >>> run.define_metric("val/loss", summary="min", goal="minimize")
        """
        mdef = parse_metric_def(name, step_metric, summary, goal, hidden)
        with self._lock:
            self._metric_defs.append(mdef)
            if not self.disabled:
                self._writer.append_json(RecordType.METRIC, mdef.to_json())
            for key in self._key_ids:
                if mdef.matches(key):
                    self.summary.apply_def(key, mdef)
            if mdef.step_metric is not None:
                self._key_id(mdef.step_metric)
        return mdef

    def _start_worker(self) -> None:
        """Start the store's ingest worker if this run has not yet (see ``tracklet.store.sql._spawn``); local mode only."""
        if self._worker_started:
            return
        self._worker_started = True
        if self.mode == "local" and self._dir is not None:
            from ..store.sql import ensure_worker

            try:
                ensure_worker(self._settings.dir)
            except OSError as e:  # called from log(): a tracking failure never reaches the training loop
                warn_once(
                    f"worker:{self._id}",
                    f"tracklet: could not start the store's ingest worker ({e}); nothing is lost: "
                    f"the records stay in {self._writer.path}, and the next reader of the store takes them in.",
                )

    # -- artifacts -------------------------------------------------------------------------------
    @property
    def _uploads(self) -> Any:
        if self._upload_queue is None:
            from ..artifacts._ops import Uploads

            self._upload_queue = Uploads()
        return self._upload_queue

    def log_artifact(self, artifact: Any, name: str | None = None, type: str | None = None, aliases: list[str] | None = None) -> Any:
        """Store an Artifact's files (in the background, each once by digest) and record a new version.

        A path works too: ``run.log_artifact("out/model.pt", name="model", type="model")``.
        Returns the artifact; ``artifact.wait()`` blocks until its version is assigned.
        """
        if self._closed is not None:
            raise UsageError(f"run {self._id} has finished; log artifacts before finish()")
        from ..artifacts._ops import log_artifact

        return log_artifact(self, artifact, name, type, aliases)

    def use_artifact(self, artifact: Any, type: str | None = None, aliases: list[str] | None = None) -> Any:
        """Record an artifact version as this run's input and return it: ``run.use_artifact("data:latest")``."""
        if self._closed is not None:
            raise UsageError(f"run {self._id} has finished; use artifacts before finish()")
        from ..artifacts._ops import use_artifact

        return use_artifact(self, artifact, type, aliases)

    def link_artifact(self, artifact: Any, target_path: str, aliases: list[str] | None = None) -> None:
        """Link an artifact version into the model registry: ``run.link_artifact(model, "registry/llama3-chat")``."""
        from ..artifacts._artifact import Artifact, check_aliases
        from ..artifacts._ops import link_from_run

        if not isinstance(artifact, Artifact):
            raise UsageError(f"link_artifact() takes an Artifact; got {artifact.__class__.__name__}")
        aliases = check_aliases(aliases)
        if artifact.state == "pending":
            self.log_artifact(artifact)
        if artifact.state == "committed" and artifact._run is not self:
            artifact.link(target_path, aliases)
            return
        link_from_run(self, artifact, target_path, aliases)

    # -- records other than history --------------------------------------------------------------
    def _record_config(self, changed: dict[str, Any]) -> None:
        self._record_checked(RecordType.CONFIG, {"set": changed}, "config")

    def _record_summary(self, values: dict[str, Any], deleted: list[str]) -> None:
        self._record_checked(RecordType.SUMMARY, {"set": values, "del": deleted}, "summary")

    def _record_checked(self, rtype: int, obj: dict[str, Any], what: str) -> None:
        """Write a JSON record of user values, refusing one larger than a record can be (a reader would stop at it)."""
        import json

        payload = json.dumps(obj, separators=(",", ":"), allow_nan=True).encode()
        if len(payload) > MAX_RECORD - 9:
            raise UsageError(
                f"this {what} change is {len(payload):,} bytes as JSON; one change holds at most "
                f"{MAX_RECORD - 9:,}. Store large data as an artifact (tracklet.Artifact) instead"
            )
        with self._lock:
            if self._closed is None:
                self._writer.append(rtype, payload)

    def _record_update(self, **changes: Any) -> None:
        with self._lock:
            if self._closed is None:
                self._writer.append_json(RecordType.UPDATE, changes)

    def _record_output(self, stream: str, text: str) -> None:
        with self._lock:
            if self._closed in (None, "finishing"):
                self._writer.append_json(RecordType.OUTPUT, {"t": time.time(), "stream": stream, "text": text})

    def _record_system(self, t: float, values: dict[str, float]) -> None:
        with self._lock:
            if self._closed is None and values:
                pairs: list = []
                for key, value in values.items():
                    pairs.append(self._key_id(key))
                    pairs.append(float(value))
                self._writer.append_system(t, pairs)

    def _record_json(self, rtype: int, obj: Any) -> None:
        """Write one JSON record from a thread of the run's own (artifacts, files, heartbeats, ...)."""
        self._record_many(rtype, [obj], [json_payload(obj)])

    def _record_many(self, rtype: int, objs: list[Any], payloads: list[bytes]) -> None:
        """Write a record per object (``payloads``: their JSON, ``wal._wal.json_payload``) in one write."""
        with self._lock:
            if self._closed in (None, "finishing"):
                if self._uploader is not None:
                    for obj in objs:  # before the records: their blobs go before the batch holding them
                        self._uploader.need_blobs(rtype, obj)
                self._writer.append_many(rtype, payloads)

    def _report_write_error(self) -> None:
        w = self._writer
        warn_once(
            f"wal-write:{self._id}",
            f"tracklet: cannot write to {w.path} ({w.error}). Training goes on; "
            f"{w.pending_bytes} bytes of records wait in memory and are written when the disk "
            "has room (beyond 64 MB the oldest are dropped).",
        )

    # -- ending ----------------------------------------------------------------------------------
    def stop_for_sweep(self, finish_now: bool = True) -> None:
        """End the run in state ``stopped`` (its sweep's early termination); its next ``log()`` raises ``RunStopped``.

        Safe from another thread: a sweep agent's monitor calls it while the training function runs.
        ``finish_now=False`` only marks it (a signal handler: the run finishes as its script exits).
        """
        self._end_state = "stopped"
        if finish_now:
            self.finish()

    def finish(self, exit_code: int | None = None, quiet: bool | None = None) -> None:
        """End the run: write the final record, stop background work, and say where the data is."""
        with self._lock:
            if self._closed is not None:
                return
            self._closed = "finishing"
        if self._background is not None:
            self._background.request_stop()  # its last work (a short run's environment) overlaps the uploads
        if self._upload_queue is not None:
            self._upload_queue.finish()  # artifacts and media logged before finish() are stored before the run ends
        if self._console is not None:
            self._console.stop()
        if self._background is not None:
            self._background.stop()
        code = 0 if exit_code is None else int(exit_code)
        state = "finished" if code == 0 and self._error is None else "failed"
        self._exit_code = code if state == "finished" else code or 1
        if self._end_state is not None:
            state, self._exit_code = self._end_state, code
        with self._lock:
            w = self._writer
            w.append_json(RecordType.CONFIG, {"replace": self.config.as_dict()})
            w.append_json(RecordType.SUMMARY, {"replace": self.summary.as_dict()})
            w.append_json(
                RecordType.EXIT,
                {"t": time.time(), "exit_code": code, "state": state, "error": self._error},
            )
            w.flush()
            w.sync()
            lost_records, lost = w.unwritten()
            w.close()
            self._closed = "finished"
        kept = False
        if lost and self._dir is not None:
            from ..wal._logfile import write_loss_report

            kept = write_loss_report(
                self._dir,
                {"t": time.time(), "offset": w.offset, "records": lost_records, "bytes": lost, "error": str(w.error or ""),
                 "state": state, "exit_code": code},
            )
        from . import _init

        if _init._current is self:
            _init._publish(None)  # as in wandb: tracklet.run is None once the current run has finished
        for callback in self._on_finish:
            try:
                callback(self)
            except Exception as e:  # a tracking failure never escapes into the user's script
                warn_once(f"finish-callback:{e!r}", f"tracklet: while finishing run {self._id}: {e!r}")
        if self.mode == "local" and self._dir is not None:
            from ..store.sql import ingest_problem, wake_worker

            self._start_worker()
            wake_worker(self._settings.dir)  # the run's last records reach the store now, not at the next poll
            problem = ingest_problem(self._dir)
            if problem:
                root = os.path.dirname(os.path.dirname(self._dir))
                warn_once(
                    f"ingest:{self._id}",
                    f"tracklet: the store in {root} could not take run {self._id}'s records ({problem}). "
                    f"Nothing is lost: they are in {w.path}, and the next tracklet command or "
                    f"`tracklet sync {root}` stores them.",
                )
        if self._uploader is not None:
            self._finish_upload(w.offset)
        if lost:
            warn_once(
                f"finish-lost:{self._id}",
                f"tracklet: run {self._id} ended with {lost_records} records ({lost} bytes) that could not be "
                f"written to {w.path} ({w.error}); they are lost."
                + (" `tracklet show` will say so for this run." if kept else ""),
            )
        if not (self._settings.silent if quiet is None else quiet) and not self.disabled:
            from ._messages import finish_message

            finish_message(self, state)

    def _finish_upload(self, end: int) -> None:
        """Remote mode: give the server ``finish_timeout`` seconds to take the rest, then say what is unsent and how to send it."""
        up = self._uploader
        timeout = self._settings.finish_timeout
        crash = None
        try:
            unsent = up.finish(end, timeout)
        except Exception as e:  # a tracking failure never reaches the training script
            unsent, crash = end, repr(e)
        if not unsent:
            return
        why = crash or up.failed or up.error or f"not sent within {timeout:g} s (TRACKLET_FINISH_TIMEOUT)"
        warn_once(
            f"finish-unsent:{self._id}",
            f"tracklet: {unsent:,} bytes of run {self._id}'s log did not reach {up.base_url} ({why}). Nothing is lost: "
            f"they are in {up.path}. Send them with: tracklet sync {self._dir} --to {up.base_url}",
        )

    @property
    def finished(self) -> bool:
        return self._closed == "finished"

    def __enter__(self) -> "Run":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        if exc is not None:
            self._error = f"{exc_type.__name__}: {exc}"
        self.finish(exit_code=1 if exc is not None else 0)
        return False

    def __repr__(self) -> str:
        return f"<tracklet.Run {self.path} name={self._name!r} mode={self.mode}>"

    # A live run owns its open log: a copy is the run itself, and another process continues it by id.
    def __copy__(self) -> "Run":
        return self

    def __deepcopy__(self, memo: dict) -> "Run":
        return self

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise TypeError(
            f"a live tracklet.Run ({self._id}) cannot be pickled: pass run.id to the other process and continue the "
            f"run there with tracklet.init(id={self._id!r}, resume='allow') once this process has finished it"
        )
