"""``@tracklet.op``: one call path (start, run, end) with thin adapters for functions, coroutines and generators.

``_start`` writes a CALL_START record and makes the call current; ``_end`` writes its CALL_END.
Neither ever raises into the user's code: the traced function returns and raises exactly what it
would untraced. A generator's call lasts until the stream ends (or is closed), its items gathered as
the output; the call is current only while the generator's own code runs, so the consumer's ops are
never its children.
"""

from __future__ import annotations

import functools
import sys
import threading
import time

from .._errors import warn_once
from ..tracking import _init as _run_state
from ..wal._wal import RecordType
from . import _setup
from ._call import LIVE, Call
from ._context import ATTRIBUTES, CURRENT
from ._objects import add_prompts
from ._usage import cost_of, merge_usage
from ._values import encode, encode_fields

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable

__all__ = ["Op", "op"]

_START, _END = RecordType.CALL_START, RecordType.CALL_END
_UNSAMPLED = Call(None, None, None, "", None, None)  # current in a trace that sampling dropped: its children are dropped too
_get_ident = threading.get_ident
_now = time.time
_dumps_str = encode  # JSON of a str


class Op:
    """What ``@op`` knows of a traced function: its name, version (digest of its source), how to bind inputs."""

    __slots__ = ("fn", "name", "_name_json", "postprocess_inputs", "postprocess_output", "_version", "_names", "_skip", "_defaults", "_sig", "kind")

    def __init__(
        self, fn: Callable[..., Any], name: str | None = None,
        postprocess_inputs: Callable[[dict[str, Any]], Any] | None = None,
        postprocess_output: Callable[[Any], Any] | None = None,
    ) -> None:
        self.fn = fn
        # "Model.predict", not "make.<locals>.Model.predict": what the function's own code calls it
        self.name = name or (getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)).rpartition("<locals>.")[2]
        self._name_json = encode(self.name)
        self.postprocess_inputs, self.postprocess_output = postprocess_inputs, postprocess_output
        self._version: str | None = None
        self._names: tuple[str, ...] | None = None  # None until the first call (inspect costs ~10 ms to import)
        self._skip = 0
        self._defaults: tuple[tuple[str, Any], ...] = ()
        self._sig: Any = None  # set when the signature has *args, **kwargs or keyword-only parameters
        self.kind: str | None = None  # "evaluation": the call of an Evaluation (api.evaluations lists them)

    def __repr__(self) -> str:
        return f"<tracklet.Op {self.name} version={self.version}>"

    @property
    def version(self) -> str:
        """A digest of the function's source: editing the function makes a new version."""
        if self._version is None:
            import hashlib
            import inspect

            try:
                source = inspect.getsource(self.fn).encode()
            except (OSError, TypeError):  # no source file (a REPL, a builtin): the compiled code stands in
                code = getattr(self.fn, "__code__", None)
                source = repr((code.co_code, code.co_consts)).encode() if code is not None else self.name.encode()
            self._version = hashlib.sha256(source).hexdigest()[:16]
        return self._version

    def _prepare(self) -> None:
        import inspect

        try:
            sig = inspect.signature(self.fn)
        except (TypeError, ValueError):
            self._names = ()
            return
        params = list(sig.parameters.values())
        if params and params[0].name in ("self", "cls") and params[0].kind is not inspect.Parameter.KEYWORD_ONLY:
            self._skip = 1  # a method's receiver is not an input
            params = params[1:]
        plain = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        if all(p.kind in plain for p in params):
            self._defaults = tuple((p.name, p.default) for p in params if p.default is not inspect.Parameter.empty)
        else:
            self._sig = sig
        self._names = tuple(p.name for p in params)

    def bind(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        """The call's arguments by parameter name, defaults included."""
        if self._names is None:
            self._prepare()
        if self._sig is not None:
            try:
                bound = self._sig.bind(*args, **kwargs)
            except TypeError:  # the call itself will raise; record what was passed
                return {"args": list(args[self._skip:]), **kwargs}
            bound.apply_defaults()
            values = dict(bound.arguments)
            if self._skip:
                values.pop(next(iter(values)), None)
            return values
        values = dict(zip(self._names, args[self._skip:] if self._skip else args))
        if kwargs:
            values.update(kwargs)
        for name, default in self._defaults:
            if name not in values:
                values[name] = default
        return values


def _random() -> float:
    import random

    return random.random()


def _start(o: Op, args: tuple[Any, ...], kwargs: dict[str, Any], task: str | None = None, inputs: dict[str, Any] | None = None) -> tuple[Call | None, Any]:
    """Record a call's start; (the call or None when untraced, the context token to reset or None).

    ``inputs`` given: stored as they are (a manual call), instead of ``args``/``kwargs`` bound to the op's parameters.
    """
    try:
        parent = CURRENT.get()
        if parent is None:
            log = _setup.TRACER or (_setup.active_tracer() if _run_state._current is not None else None)
            if log is None:
                return None, None
            if log.sample_rate < 1.0 and _random() >= log.sample_rate:
                return None, CURRENT.set(_UNSAMPLED)
            run = _run_state._current
            run_id = None if run is None or run.disabled else run.id
            cid = log.new_id()
            call = Call(cid, cid, None, o.name, run_id, log)
            head = f'{{"id":"{cid}","trace":"{cid}","parent":null,'
        else:
            log = parent.log
            if log is None:
                return None, None
            cid = log.new_id()
            call = Call(cid, parent.trace_id, parent, o.name, parent.run_id, log)
            head = f'{{"id":"{cid}","trace":"{parent.trace_id}","parent":"{parent.id}",'
        if inputs is None:
            inputs = o.bind(args, kwargs)
        if o.postprocess_inputs is not None:
            inputs = o.postprocess_inputs(inputs)
        attrs = ATTRIBUTES.get()
        extra = "" if attrs is None else ',"attrs":' + encode(attrs)
        where = f',"task":{encode(task)}' if task else ""
        if o.kind is not None:
            where += f',"kind":"{o.kind}"'
        log.write(_START, (
            f'{head}"op":{o._name_json},"v":"{o._version or o.version}","t":{_now()!r},'
            f'"run":{encode(call.run_id) if call.run_id else "null"},"th":{_get_ident()}{where},'
            f'"in":{encode_fields(inputs) if isinstance(inputs, dict) else encode(inputs)}'
            f'{extra}}}'
        ))
        return call, CURRENT.set(call)
    except Exception as e:
        warn_once(f"op-start:{type(e).__name__}", f"tracklet: a call of {o.name} could not be traced ({type(e).__name__}: {e}); it ran untraced")
        return None, None


def _end(call: Call, o: Op, output: Any, error: BaseException | None) -> None:
    """Record a call's end: its output or exception, and its usage (added to its parent's)."""
    try:
        t = _now()
        tail = ""
        if error is None or output is not None:  # a stream cut short or failing keeps what it gave
            if o.postprocess_output is not None:
                output = o.postprocess_output(output)
            tail = f'"out":{encode(output)},'
        if error is None:
            tail += '"status":"ok"'
        else:
            import traceback

            kind = type(error)
            status = "cancelled" if kind.__name__ in ("GeneratorExit", "CancelledError") else "error"
            exc = {
                "type": kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}",
                "message": str(error), "traceback": "".join(traceback.format_exception(kind, error, error.__traceback__)),
            }
            tail += f'"status":"{status}","exc":{encode(exc)}'
        usage, parent = call.usage, call.parent
        if parent is not None and parent.id is None:
            parent = None
        if usage:
            cost = cost_of(usage)
            tail += f',"usage":{encode(usage)},"cost":{"null" if cost is None else repr(cost)}'
            if parent is not None:
                with LIVE:
                    merge_usage(parent.usage, usage)
        if call.summary:
            tail += f',"summary":{encode(call.summary)}'
            if parent is not None and call.summary.get("prompts"):
                with LIVE:
                    add_prompts(parent, call.summary["prompts"])
        call.log.write(_END, f'{{"id":"{call.id}","t":{t!r},{tail}}}')
    except Exception as e:
        warn_once(f"op-end:{type(e).__name__}", f"tracklet: the end of a call of {o.name} could not be recorded ({type(e).__name__}: {e})")


def _reset(token: Any) -> None:
    try:
        CURRENT.reset(token)
    except ValueError:  # made in another context (a generator resumed elsewhere): that context keeps its own value
        pass


def _task_name() -> str | None:
    asyncio = sys.modules.get("asyncio")
    try:
        task = asyncio.current_task() if asyncio is not None else None
    except RuntimeError:
        return None
    return task.get_name() if task is not None else None


def _sync(o: Op) -> Callable[..., Any]:
    fn = o.fn

    def call_op(*args: Any, **kwargs: Any) -> Any:
        call, token = _start(o, args, kwargs)
        if token is None:
            return fn(*args, **kwargs)
        try:
            out = fn(*args, **kwargs)
        except BaseException as e:
            _reset(token)
            if call is not None:
                _end(call, o, None, e)
            raise
        _reset(token)
        if call is not None:
            _end(call, o, out, None)
        return out

    return call_op


def _async(o: Op) -> Callable[..., Any]:
    fn = o.fn

    async def call_op(*args: Any, **kwargs: Any) -> Any:
        call, token = _start(o, args, kwargs, _task_name())
        if token is None:
            return await fn(*args, **kwargs)
        try:
            out = await fn(*args, **kwargs)
        except BaseException as e:
            _reset(token)
            if call is not None:
                _end(call, o, None, e)
            raise
        _reset(token)
        if call is not None:
            _end(call, o, out, None)
        return out

    return call_op


def _gathered(items: list[Any]) -> Any:
    """A stream's output: its text when every item is a string, else the list of items."""
    return "".join(items) if items and all(isinstance(i, str) for i in items) else items


def _generator(o: Op) -> Callable[..., Any]:
    fn = o.fn

    def call_op(*args: Any, **kwargs: Any) -> Any:
        call, token = _start(o, args, kwargs)
        if token is not None:
            _reset(token)
        gen = fn(*args, **kwargs)
        if token is None:  # untraced
            return (yield from gen)
        current = call or _UNSAMPLED  # a trace sampling dropped: the generator's own calls are dropped with it
        items: list[Any] = []
        sent: Any = None
        error: BaseException | None = None
        try:
            while True:
                token = CURRENT.set(current)
                try:
                    item = gen.send(sent)
                except StopIteration as stop:
                    return stop.value
                finally:
                    _reset(token)
                items.append(item)
                try:
                    sent = yield item
                except GeneratorExit:
                    gen.close()
                    raise
                except BaseException:
                    token = CURRENT.set(current)
                    try:
                        item = gen.throw(*sys.exc_info()[:2])
                    except StopIteration as stop:
                        return stop.value
                    finally:
                        _reset(token)
                    items.append(item)
                    sent = yield item
        except BaseException as e:
            error = e
            raise
        finally:
            if call is not None:
                _end(call, o, _gathered(items) if items or error is None else None, error)

    return call_op


def _async_generator(o: Op) -> Callable[..., Any]:
    fn = o.fn

    async def call_op(*args: Any, **kwargs: Any) -> Any:
        call, token = _start(o, args, kwargs, _task_name())
        if token is not None:
            _reset(token)
        agen = fn(*args, **kwargs)
        current = call or (None if token is None else _UNSAMPLED)  # sampled out: its calls are dropped with it
        items: list[Any] = []
        error: BaseException | None = None
        sent: Any = None
        try:
            while True:
                token = CURRENT.set(current) if current is not None else None
                try:
                    item = await agen.asend(sent)
                except StopAsyncIteration:
                    return
                finally:
                    if token is not None:
                        _reset(token)
                items.append(item)
                sent = yield item
        except GeneratorExit as e:  # the consumer closed the stream: cancelled, as a sync generator's
            error = e
            await agen.aclose()
            raise
        except BaseException as e:
            error = e
            raise
        finally:
            if call is not None:
                _end(call, o, _gathered(items) if items or error is None else None, error)

    return call_op


def start_call(op_name: str, inputs: dict[str, Any], postprocess_inputs: Callable[[dict[str, Any]], Any] | None = None) -> Call | None:
    """Start a call by hand, a child of the current call, without making it current (a stream's call: it ends when the
    stream does); end it with ``finish_call``. None when tracing is off or sampled out. For integrations.
    """
    if not isinstance(op_name, str) or not op_name:
        raise TypeError(f"start_call() needs an op name, got {op_name!r}")
    o = _MANUAL.get(op_name)
    if o is None:
        o = _MANUAL[op_name] = Op(_manual, op_name, postprocess_inputs)
        o._version = "manual"
    call, token = _start(o, (), {}, inputs=dict(inputs))
    if token is not None:
        _reset(token)
    if call is not None:
        call.op = o
    return call


def finish_call(call: Call | None, output: Any = None, error: BaseException | None = None) -> None:
    """End a call made by ``start_call`` with its output or the exception it raised (a None call is ignored)."""
    if call is None or call.op is None:
        return
    o, call.op = call.op, None  # ended once, however often this is called
    _end(call, o, output, error)


_MANUAL: dict[str, Op] = {}


def _manual() -> None:
    """Stands for the code of a call started by hand."""


def op(
    fn: Callable[..., Any] | None = None, *, name: str | None = None,
    postprocess_inputs: Callable[[dict[str, Any]], Any] | None = None,
    postprocess_output: Callable[[Any], Any] | None = None,
) -> Any:
    """Trace every call of ``fn``: inputs, output or exception, latency, token usage, its parent call.

    Works with and without parentheses, on functions, methods, ``async`` functions, generators and
    async generators. ``postprocess_inputs``/``postprocess_output`` change what is stored (redact a
    secret), never what the function gets or returns.

    >>> @tracklet.op
    ... def retrieve(question: str, k: int = 3) -> list[str]: ...
    >>> @tracklet.op(name="answer", postprocess_inputs=lambda i: {**i, "api_key": "***"})
    ... async def answer(question: str, api_key: str) -> str: ...
    """
    if fn is None:
        return lambda f: op(f, name=name, postprocess_inputs=postprocess_inputs, postprocess_output=postprocess_output)
    if not callable(fn):
        raise TypeError(f"@tracklet.op decorates a function or method, got {type(fn).__name__}: {fn!r}")
    if name is not None and (not isinstance(name, str) or not name):
        raise TypeError(f"op(name=...) must be a non-empty string, got {name!r}")
    for what, f in (("postprocess_inputs", postprocess_inputs), ("postprocess_output", postprocess_output)):
        if f is not None and not callable(f):
            raise TypeError(f"op({what}=...) must be a function, got {f!r}")
    if isinstance(getattr(fn, "op", None), Op):
        return fn  # already traced
    return wrap(Op(fn, name, postprocess_inputs, postprocess_output))


def wrap(o: Op) -> Callable[..., Any]:
    """The traced stand-in of ``o.fn``: the adapter its kind of function needs (plain, async, generator, async generator)."""
    fn = o.fn
    code = getattr(fn, "__code__", None)
    flags = code.co_flags if code is not None else 0
    if flags & 0x200:  # CO_ASYNC_GENERATOR
        wrapper = _async_generator(o)
    elif flags & 0x80:  # CO_COROUTINE
        wrapper = _async(o)
    elif flags & 0x20:  # CO_GENERATOR
        wrapper = _generator(o)
    else:
        wrapper = _sync(o)
    try:
        functools.update_wrapper(wrapper, fn)
    except (AttributeError, TypeError):
        pass
    wrapper.op = o  # type: ignore[attr-defined]
    return wrapper
