"""What the API takes as keys, steps and numbers: one set of rules, checked before anything is written.

``log()``, ``config``, ``summary``, ``define_metric`` and ``init()`` share them, so one bad input
gets one kind of answer everywhere: a ``UsageError`` naming the key and the type, raised at the
call, with nothing registered, written or consumed. The rules:

- a key is a non-empty ``str`` of at most ``MAX_KEY_CHARS`` characters that UTF-8 can encode
  (no lone surrogates such as ``"\\ud800"``);
- a step is an int (``int``, ``numpy.int64``, anything with ``__index__``; not bool) from 0 to
  ``MAX_STEP``, the largest step the write-ahead log's signed 64-bit field holds;
- a number is a float, an int or bool within float64's range (``10**400`` is refused, never
  rounded to inf), or a numpy/torch scalar whose ``item()`` gives one;
- text is a ``str`` that UTF-8 can encode;
- nesting (``log`` dicts, config values) is at most ``MAX_DEPTH`` levels and never circular;
- in ``log()``, a key is not ``_step``, ``_timestamp`` or ``_runtime`` (every row's own columns) and
  is given once per call (not both nested and as ``"a/b"``); one call, like one config or summary
  change, fits in one write-ahead log record (64 MiB).
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing is not imported at run time: it costs ~4 ms of `import tracklet`
if TYPE_CHECKING:
    from typing import Any

from collections.abc import Mapping

from .._errors import UsageError

__all__ = [
    "FAST_INT",
    "MAX_DEPTH",
    "MAX_KEY_CHARS",
    "MAX_STEP",
    "NEG_FAST_INT",
    "RESERVED_LOG_KEYS",
    "as_number",
    "check_key",
    "check_step",
    "check_text",
    "describe",
    "explain",
    "flatten",
    "read_items",
    "type_name",
]

MAX_STEP = 2**63 - 1  # HISTORY records store the step as a signed 64-bit integer
MAX_KEY_CHARS = 4096
MAX_DEPTH = 100  # deeper nesting is a bug (or a cycle), and JSON readers stop near 1,000 levels
FAST_INT = 2**1023  # every int below this in magnitude is a finite float64; beyond, float() decides
NEG_FAST_INT = -FAST_INT
_NUMBERS = "numbers (int, float, bool, numpy and torch scalars)"


def type_name(value: Any) -> str:
    try:
        return str(type(value).__qualname__)
    except Exception:  # a metaclass may do anything
        return "object"


def describe(value: Any, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters, and its type, for an error message; never raises."""
    if type(value) is int and value.bit_length() > 200:  # repr() of a huge int is long, or raises
        return f"an int of {value.bit_length()} bits"
    try:
        text = repr(value)
    except Exception as e:
        text = f"<a {type_name(value)} whose repr() raised {type_name(e)}>"
    if not isinstance(text, str):  # a broken __repr__ that returns something else
        text = f"<a {type_name(value)}>"
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"{text} of type {type_name(value)}"


def check_text(value: Any, what: str) -> str:
    """``value`` as a plain ``str`` that UTF-8 can encode; ``what`` names it in the error."""
    if type(value) is not str:
        if not isinstance(value, str):
            raise UsageError(f"{what} must be a string; got {describe(value)}")
        value = str.__str__(value)  # a str subclass: its characters, whatever its __str__ does
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as e:
            raise UsageError(
                f"{what} {value[:60]!r} cannot be stored: {e.reason} at position {e.start} "
                "(a lone surrogate, often from a byte string decoded with errors='surrogateescape'); "
                "fix the text, e.g. text.encode('utf-8', 'replace').decode()"
            ) from None
    return value


def check_key(key: Any, owner: str, noun: str = "key") -> str:
    """A key as a plain ``str``, or a ``UsageError`` that says which key and what is wrong with it.

    ``owner`` and ``noun`` name it in messages: ``check_key(k, "config")`` says "config keys must ...".
    """
    if type(key) is not str and not isinstance(key, str):
        raise UsageError(f"{owner} {noun}s must be strings; got {describe(key)}")
    key = check_text(key, f"{owner} {noun}")
    if not key:
        raise UsageError(f"{owner} {noun}s must not be empty")
    if len(key) > MAX_KEY_CHARS:
        raise UsageError(
            f"{owner} {noun} {key[:40]!r}... is {len(key):,} characters long; at most {MAX_KEY_CHARS:,} are allowed"
        )
    return key


def check_step(step: Any) -> int:
    """A step as an int from 0 to ``MAX_STEP`` (numpy ints too); bools, floats and the rest are refused."""
    if type(step) is int:
        s = step
    else:
        if isinstance(step, bool):
            raise UsageError(f"step must be an int; got {step!r} of type {type_name(step)}")
        if isinstance(step, int):  # IntEnum and other subclasses: the value they hold
            step = int.__index__(step)
        try:
            import operator

            s = operator.index(step)
        except Exception:
            raise UsageError(f"step must be an int; got {describe(step)}") from None
    if not 0 <= s <= MAX_STEP:
        raise UsageError(f"step must be an int from 0 to 2**63-1; got {describe(s)}")
    return s


def _checked_int(key: str, value: int) -> int:
    if NEG_FAST_INT < value < FAST_INT:
        return value
    try:
        float(value)
    except OverflowError:
        raise UsageError(
            f"log() value for {key!r} is {describe(value)}, too large for a float64 "
            "(the largest is about 1.8e308); log float(value) if inf is what you mean"
        ) from None
    return value


def as_number(key: str, value: Any) -> Any:
    """``value`` as a plain int/float, None when it is not a number (a string, say); raises when it is a bad one."""
    tv = type(value)
    if tv is float:
        return value
    if tv is int:
        return _checked_int(key, value)
    if tv is bool:
        return value  # the record holds 0.0/1.0; the summary keeps the bool
    if isinstance(value, float):  # numpy.float64 and other subclasses: the value they hold
        return float.__float__(value)
    if isinstance(value, int):  # IntEnum and other subclasses
        return _checked_int(key, int.__index__(value))
    if isinstance(value, (str, bytes, bytearray)):
        return None
    try:
        item = getattr(value, "item", None)
    except Exception:
        item = None
    if not callable(item):
        return None
    try:
        number = item()
    except Exception as e:
        shape = _shape(value)
        raise UsageError(
            f"log() value for {key!r} is a {type_name(value)}"
            + (f" of shape {shape}" if shape is not None else "")
            + f", not a scalar ({type_name(e)}: {_text_of(e)}). Log a number, e.g. tensor.mean().item()"
        ) from None
    if isinstance(number, (float, int)):
        return as_number(key, number)
    if type_name(number) in ("longdouble", "float128", "float96"):  # numpy's long double: as a float64
        f = float(number)
        if f in (float("inf"), float("-inf")) and number != f:
            raise UsageError(f"log() value for {key!r} is {describe(number)}, too large for a float64")
        return f
    raise UsageError(
        f"log() value for {key!r}: {type_name(value)}.item() gave {describe(number)}, not one of the {_NUMBERS}"
    )


def _shape(value: Any) -> tuple | None:
    try:
        shape = getattr(value, "shape", None)
        return None if shape is None else tuple(shape)
    except Exception:
        return None


def _text_of(e: BaseException) -> str:
    try:
        return str(e)[:200]
    except Exception:
        return "?"


def explain(e: BaseException) -> str:
    """``"TypeError: what it says"`` for an exception user code raised; never raises."""
    return f"{type_name(e)}: {_text_of(e)}"


def read_items(mapping: Any, what: str) -> list:
    """The ``(key, value)`` pairs of a mapping, read once; a mapping that cannot be read is a ``UsageError``."""
    try:
        items = list(mapping.items())
        for pair in items:
            if type(pair) is not tuple or len(pair) != 2:
                raise TypeError(f"items() gave {describe(pair)}, not a (key, value) pair")
    except UsageError:
        raise
    except Exception as e:
        raise UsageError(
            f"{what} is a {type_name(mapping)} whose items could not be read ({explain(e)}); "
            "pass a plain dict"
        ) from None
    return items


RESERVED_LOG_KEYS = frozenset(("_step", "_timestamp", "_runtime"))  # the columns every history row has


def flatten(data: Any) -> dict[str, Any]:
    """``log()``'s dict with nested mappings joined into ``a/b`` keys, every key checked."""
    out: dict[str, Any] = {}
    _flatten(data, "", out, [])
    return out


def _flatten(data: Any, prefix: str, out: dict[str, Any], path: list[int]) -> None:
    # The slow path of every log() with a new key, text or nesting: the common case is checked inline.
    if len(path) >= MAX_DEPTH:
        raise UsageError(
            f"{_where(prefix)} (a {type_name(data)}) is nested more than {MAX_DEPTH} levels deep; "
            "flatten it before logging"
        )
    path.append(id(data))
    for key, value in data.items() if type(data) is dict else read_items(data, _where(prefix)):
        if type(key) is not str or not key or not key.isascii():
            if type(key) is not str and not isinstance(key, str):
                raise UsageError(
                    f"log() keys must be strings; got {describe(key)}" + (f" inside {prefix[:-1]!r}" if prefix else "")
                )
            key = check_key(key, "log()")
        full = prefix + key
        tv = type(value)
        if tv is not float and tv is not int and tv is not str and isinstance(value, Mapping):
            if id(value) in path:
                raise UsageError(
                    f"log() value for {full!r} (a {type_name(value)}) contains itself (a circular reference)"
                )
            _flatten(value, full + "/", out, path)
            continue
        if full in out or full in RESERVED_LOG_KEYS or len(full) > MAX_KEY_CHARS:
            _refuse_key(full, out)
        out[full] = value
    path.pop()


def _where(prefix: str) -> str:
    return f"log() value for {prefix[:-1]!r}" if prefix else "the dict passed to log()"


def _refuse_key(full: str, out: dict[str, Any]) -> None:
    if full in out:
        raise UsageError(f"log() key {full!r} is given twice in one call (once nested, once as {full!r})")
    if full in RESERVED_LOG_KEYS:
        raise UsageError(
            f"log() key {full!r} is reserved for every row's own column; pass the step as log(..., step=n)"
        )
    check_key(full, "log()")
