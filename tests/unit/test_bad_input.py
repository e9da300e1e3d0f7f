"""Bad input at every entry point: a UsageError naming the key and the type, and nothing half-written.

Each case runs against a live run that has logged ``good=1.0`` at step 0 and has config
``{"base": 1}``. After the refused call the run must be as it was (same WAL bytes, same step,
same keys, config and summary), the next good ``log()`` must land at step 1, and after
``finish()`` the store (read through ``tracklet.Api``) must hold exactly the good values.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import os
from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest

import tracklet
from helpers import user_records
from tracklet import UsageError

# -- objects that misbehave -----------------------------------------------------------------------


class Boom(Exception):
    pass


class BadStr:
    """No JSON form, and neither str() nor repr() works."""

    def __str__(self):
        raise Boom("str")

    def __repr__(self):
        raise Boom("repr")


class BadItem:
    shape = (3,)

    def item(self):
        raise RuntimeError("only one element tensors can be converted to Python scalars")


class ItemTypeError:
    def item(self):
        raise TypeError("no")


class ItemGives:
    def __init__(self, result):
        self.result = result

    def item(self):
        return self.result

    def __repr__(self):
        return "ItemGives()"


class BadIndex:
    def __index__(self):
        raise Boom("index")


class IndexGivesFloat:
    def __index__(self):
        return 1.5


class BadItemsDict(dict):
    def items(self):
        raise Boom("items")


class BadGetitem(Mapping):
    def __getitem__(self, key):
        raise Boom("getitem")

    def __iter__(self):
        return iter(["k"])

    def __len__(self):
        return 1


class BadIter(Mapping):
    def __getitem__(self, key):
        return 1.0

    def __iter__(self):
        raise Boom("iter")

    def __len__(self):
        return 1


class ItemsNotPairs(Mapping):
    def __getitem__(self, key):
        return 1.0

    def __iter__(self):
        return iter(["k"])

    def __len__(self):
        return 1

    def items(self):
        return [1, 2, 3]


class BadKeys:
    """Dict-like to config_items (keys + __getitem__), but keys() raises."""

    def keys(self):
        raise Boom("keys")

    def __getitem__(self, key):
        return 1


class ToDictRaises:
    def to_dict(self):
        raise Boom("to_dict")


class ToDictGivesList:
    def to_dict(self):
        return [1, 2]


class SelfToDict:
    def to_dict(self):
        return self

    def __repr__(self):
        return "SelfToDict()"


class BadPath(os.PathLike):
    def __fspath__(self):
        raise Boom("fspath")


class BadIterList(list):
    def __iter__(self):
        raise Boom("iter")


class BadIterable:
    def __iter__(self):
        raise Boom("iter")


class StrSub(str):
    def __repr__(self):
        raise Boom("repr")

    def __str__(self):
        raise Boom("str")


@dataclasses.dataclass
class Broken:
    a: int


def broken_dataclass():
    b = Broken(1)
    del b.a  # the field is declared but reading it raises AttributeError
    return b


class Color(enum.Enum):
    RED = BadStr()


def circular_dict():
    d = {"x": 1.0}
    d["self"] = d
    return d


def circular_list():
    lst = [1]
    lst.append(lst)
    return lst


def deep(levels=200, leaf=1.0):
    d = leaf
    for _ in range(levels):
        d = {"k": d}
    return d


def deep_list(levels=200):
    d = [1]
    for _ in range(levels):
        d = [d]
    return d


SURROGATE = "\ud800"

# -- the table ------------------------------------------------------------------------------------
# (id, call, exception, substrings the message must hold: the key or argument, and the type)

LOG_VALUES = [
    ("value-10**400", lambda r: r.log({"v": 10**400}), UsageError, ["'v'", "int", "float64"]),
    ("value--10**400", lambda r: r.log({"v": -(10**400)}), UsageError, ["'v'", "int"]),
    ("value-2**1024", lambda r: r.log({"v": 2**1024}), UsageError, ["'v'", "int"]),
    ("value-nested-10**400", lambda r: r.log({"a": {"v": 10**400}}), UsageError, ["'a/v'", "int"]),
    ("value-item-10**400", lambda r: r.log({"v": ItemGives(10**400)}), UsageError, ["'v'", "int"]),
    ("value-object-int-10**400", lambda r: r.log({"v": np.array(10**400, dtype=object)}), UsageError, ["'v'", "int"]),
    ("value-ndarray", lambda r: r.log({"v": np.zeros(3)}), UsageError, ["'v'", "ndarray", "(3,)"]),
    ("value-ndarray-2d", lambda r: r.log({"v": np.zeros((2, 2))}), UsageError, ["'v'", "ndarray", "(2, 2)"]),
    ("value-ndarray-empty", lambda r: r.log({"v": np.array([])}), UsageError, ["'v'", "ndarray"]),
    ("value-item-raises", lambda r: r.log({"v": BadItem()}), UsageError, ["'v'", "BadItem", "(3,)"]),
    ("value-item-typeerror", lambda r: r.log({"v": ItemTypeError()}), UsageError, ["'v'", "ItemTypeError"]),
    ("value-item-gives-str", lambda r: r.log({"v": ItemGives("x")}), UsageError, ["'v'", "ItemGives", "str"]),
    ("value-item-gives-none", lambda r: r.log({"v": ItemGives(None)}), UsageError, ["'v'", "ItemGives", "NoneType"]),
    ("value-item-gives-list", lambda r: r.log({"v": ItemGives([1])}), UsageError, ["'v'", "ItemGives", "list"]),
    ("value-np-complex", lambda r: r.log({"v": np.complex128(1 + 2j)}), UsageError, ["'v'", "complex"]),
    ("value-complex", lambda r: r.log({"v": 1 + 2j}), UsageError, ["'v'", "complex"]),
    ("value-np-datetime", lambda r: r.log({"v": np.datetime64("2024-01-01")}), UsageError, ["'v'", "datetime64"]),
    ("value-datetime", lambda r: r.log({"v": datetime.datetime(2024, 1, 1)}), UsageError, ["'v'", "datetime"]),
    ("value-decimal", lambda r: r.log({"v": Decimal("1.5")}), UsageError, ["'v'", "Decimal"]),
    ("value-fraction", lambda r: r.log({"v": Fraction(1, 3)}), UsageError, ["'v'", "Fraction"]),
    ("value-bytes", lambda r: r.log({"v": b"abc"}), UsageError, ["'v'", "bytes"]),
    ("value-bytearray", lambda r: r.log({"v": bytearray(b"abc")}), UsageError, ["'v'", "bytearray"]),
    ("value-none", lambda r: r.log({"v": None}), UsageError, ["'v'", "NoneType"]),
    ("value-list", lambda r: r.log({"v": [1, 2]}), UsageError, ["'v'", "list"]),
    ("value-tuple", lambda r: r.log({"v": (1.0,)}), UsageError, ["'v'", "tuple"]),
    ("value-set", lambda r: r.log({"v": {1.0}}), UsageError, ["'v'", "set"]),
    ("value-object", lambda r: r.log({"v": object()}), UsageError, ["'v'", "object"]),
    ("value-bad-str", lambda r: r.log({"v": BadStr()}), UsageError, ["'v'", "BadStr"]),
    ("value-function", lambda r: r.log({"v": len}), UsageError, ["'v'", "builtin_function_or_method"]),
    ("value-surrogate", lambda r: r.log({"v": "x" + SURROGATE}), UsageError, ["'v'", "surrogate"]),
    ("value-nested-surrogate", lambda r: r.log({"a": {"v": SURROGATE}}), UsageError, ["'a/v'", "surrogate"]),
    ("value-then-good-keys", lambda r: r.log({"good": 2.0, "new": 1.0, "v": [1]}), UsageError, ["'v'", "list"]),
]

LOG_KEYS = [
    ("key-int", lambda r: r.log({1: 1.0}), UsageError, ["1", "int", "keys must be strings"]),
    ("key-float", lambda r: r.log({1.5: 1.0}), UsageError, ["1.5", "float"]),
    ("key-nan", lambda r: r.log({float("nan"): 1.0}), UsageError, ["nan", "float"]),
    ("key-none", lambda r: r.log({None: 1.0}), UsageError, ["None", "NoneType"]),
    ("key-tuple", lambda r: r.log({("a", "b"): 1.0}), UsageError, ["('a', 'b')", "tuple"]),
    ("key-bytes", lambda r: r.log({b"k": 1.0}), UsageError, ["b'k'", "bytes"]),
    ("key-bool", lambda r: r.log({True: 1.0}), UsageError, ["True", "bool"]),
    ("key-bad-repr", lambda r: r.log({BadStr(): 1.0}), UsageError, ["BadStr", "keys must be strings"]),
    ("key-empty", lambda r: r.log({"": 1.0}), UsageError, ["must not be empty"]),
    ("key-surrogate", lambda r: r.log({SURROGATE: 1.0}), UsageError, ["'\\ud800'", "surrogate"]),
    ("key-surrogate-escape", lambda r: r.log({"a\udc80b": 1.0}), UsageError, ["'a\\udc80b'", "surrogate"]),
    ("key-surrogate-with-good-keys", lambda r: r.log({"good": 3.0, "new": 1.0, SURROGATE: 1.0}), UsageError, ["'\\ud800'"]),
    ("key-surrogate-string-value", lambda r: r.log({SURROGATE: "text"}), UsageError, ["'\\ud800'"]),
    ("key-str-subclass-surrogate", lambda r: r.log({StrSub("k" + SURROGATE): 1.0}), UsageError, ["'k\\ud800'"]),
    ("key-too-long", lambda r: r.log({"x" * 5000: 1.0}), UsageError, ["5,000 characters", "'xxx"]),
    ("key-too-long-nested", lambda r: r.log({"a" * 3000: {"b" * 3000: 1.0}}), UsageError, ["6,001 characters"]),
    ("key-nested-empty", lambda r: r.log({"a": {"": 1.0}}), UsageError, ["must not be empty"]),
    ("key-nested-int", lambda r: r.log({"a": {2: 1.0}}), UsageError, ["2", "int", "inside 'a'"]),
    ("key-nested-surrogate", lambda r: r.log({"a": {SURROGATE: 1.0}}), UsageError, ["'\\ud800'"]),
    ("key-reserved-step", lambda r: r.log({"_step": 1.0}), UsageError, ["'_step'", "reserved"]),
    ("key-reserved-timestamp", lambda r: r.log({"_timestamp": 1.0}), UsageError, ["'_timestamp'", "reserved"]),
    ("key-reserved-runtime", lambda r: r.log({"_runtime": 1.0}), UsageError, ["'_runtime'", "reserved"]),
    ("key-given-twice", lambda r: r.log({"a": {"b": 1.0}, "a/b": 2.0}), UsageError, ["'a/b'", "twice"]),
    ("key-given-twice-nested-last", lambda r: r.log({"a/b": 2.0, "a": {"b": 1.0}}), UsageError, ["'a/b'", "twice"]),
]

LOG_CONTAINERS = [
    ("data-circular", lambda r: r.log(circular_dict()), UsageError, ["'self'", "dict", "circular"]),
    ("data-circular-deeper", lambda r: r.log({"a": {"b": circular_dict()}}), UsageError, ["'a/b/self'", "circular"]),
    ("data-deep", lambda r: r.log(deep()), UsageError, ["'k/k/k", "dict", "100 levels"]),
    ("data-items-raise", lambda r: r.log(BadItemsDict(a=1.0)), UsageError, ["log()", "BadItemsDict", "Boom"]),
    ("data-nested-items-raise", lambda r: r.log({"a": BadItemsDict(b=1.0)}), UsageError, ["'a'", "BadItemsDict"]),
    ("data-getitem-raises", lambda r: r.log(BadGetitem()), UsageError, ["BadGetitem", "Boom"]),
    ("data-iter-raises", lambda r: r.log(BadIter()), UsageError, ["BadIter", "Boom"]),
    ("data-items-not-pairs", lambda r: r.log(ItemsNotPairs()), UsageError, ["ItemsNotPairs", "pair"]),
    ("data-nested-getitem-raises", lambda r: r.log({"a": BadGetitem()}), UsageError, ["'a'", "BadGetitem"]),
    ("data-list", lambda r: r.log([1, 2]), UsageError, ["takes a dict", "list"]),
    ("data-str", lambda r: r.log("loss=1"), UsageError, ["takes a dict", "str"]),
    ("data-none", lambda r: r.log(None), UsageError, ["takes a dict", "NoneType"]),
    ("data-int", lambda r: r.log(5), UsageError, ["takes a dict", "int"]),
    ("data-ndarray", lambda r: r.log(np.zeros(2)), UsageError, ["takes a dict", "ndarray"]),
    ("data-pairs", lambda r: r.log([("a", 1.0)]), UsageError, ["takes a dict", "list"]),
    ("data-bad-repr", lambda r: r.log(BadStr()), UsageError, ["takes a dict", "BadStr"]),
]

LOG_STEPS = [
    ("step--1", lambda r: r.log({"good": 2.0}, step=-1), UsageError, ["step", "-1", "int"]),
    ("step-2**63", lambda r: r.log({"good": 2.0}, step=2**63), UsageError, ["step", "9223372036854775808", "int"]),
    ("step--2**63", lambda r: r.log({"good": 2.0}, step=-(2**63)), UsageError, ["step", "int"]),
    ("step-10**400", lambda r: r.log({"good": 2.0}, step=10**400), UsageError, ["step", "int of 1329 bits"]),
    ("step-np-int64--1", lambda r: r.log({"good": 2.0}, step=np.int64(-1)), UsageError, ["step", "-1"]),
    ("step-np-uint64-2**63", lambda r: r.log({"good": 2.0}, step=np.uint64(2**63)), UsageError, ["step", "9223372036854775808"]),
    ("step-float", lambda r: r.log({"good": 2.0}, step=1.5), UsageError, ["step", "1.5", "float"]),
    ("step-float-integral", lambda r: r.log({"good": 2.0}, step=1.0), UsageError, ["step", "float"]),
    ("step-nan", lambda r: r.log({"good": 2.0}, step=float("nan")), UsageError, ["step", "nan", "float"]),
    ("step-np-float", lambda r: r.log({"good": 2.0}, step=np.float64(2.0)), UsageError, ["step", "float64"]),
    ("step-str", lambda r: r.log({"good": 2.0}, step="3"), UsageError, ["step", "'3'", "str"]),
    ("step-bool", lambda r: r.log({"good": 2.0}, step=True), UsageError, ["step", "True", "bool"]),
    ("step-np-bool", lambda r: r.log({"good": 2.0}, step=np.bool_(True)), UsageError, ["step", "bool"]),
    ("step-index-raises", lambda r: r.log({"good": 2.0}, step=BadIndex()), UsageError, ["step", "BadIndex"]),
    ("step-index-gives-float", lambda r: r.log({"good": 2.0}, step=IndexGivesFloat()), UsageError, ["step", "IndexGivesFloat"]),
    ("step-list", lambda r: r.log({"good": 2.0}, step=[1]), UsageError, ["step", "list"]),
    ("step-bad-repr", lambda r: r.log({"good": 2.0}, step=BadStr()), UsageError, ["step", "BadStr"]),
    ("step-with-new-key", lambda r: r.log({"new": 2.0}, step=-5), UsageError, ["step", "-5"]),
    ("step-2**63-with-new-key", lambda r: r.log({"new": 2.0}, step=2**63), UsageError, ["step", "9223372036854775808"]),
    ("step-2**63-empty-dict", lambda r: r.log({}, step=2**63), UsageError, ["step", "9223372036854775808"]),
    ("step-with-bad-value-too", lambda r: r.log({"v": 10**400}, step=-5), UsageError, ["step", "-5"]),
    ("commit-str", lambda r: r.log({"good": 2.0}, commit="yes"), UsageError, ["commit", "'yes'", "str"]),
    ("commit-int", lambda r: r.log({"good": 2.0}, commit=1), UsageError, ["commit", "int"]),
    ("commit-np-bool", lambda r: r.log({"good": 2.0}, commit=np.bool_(False)), UsageError, ["commit", "bool"]),
    ("log-extra-positional", lambda r: r.log({"good": 2.0}, 1, True, "x"), TypeError, ["positional"]),
    ("log-unknown-keyword", lambda r: r.log({"good": 2.0}, stpe=1), TypeError, ["stpe"]),
    ("log-no-data", lambda r: r.log(), TypeError, ["data"]),
]

CONFIG = [
    ("config-update-int", lambda r: r.config.update(5), UsageError, ["config", "int"]),
    ("config-update-str", lambda r: r.config.update("lr=1"), UsageError, ["config", "str"]),
    ("config-update-list", lambda r: r.config.update([("a", 1)]), UsageError, ["config", "list"]),
    ("config-update-int-key", lambda r: r.config.update({1: 2}), UsageError, ["config keys", "1", "int"]),
    ("config-update-nan-key", lambda r: r.config.update({float("nan"): 2}), UsageError, ["config keys", "nan", "float"]),
    ("config-update-empty-key", lambda r: r.config.update({"": 2}), UsageError, ["config keys must not be empty"]),
    ("config-update-surrogate-key", lambda r: r.config.update({SURROGATE: 2}), UsageError, ["config key", "'\\ud800'"]),
    ("config-update-long-key", lambda r: r.config.update({"k" * 5000: 2}), UsageError, ["config key", "5,000"]),
    ("config-update-reserved", lambda r: r.config.update({"_x": 1}), UsageError, ["'_x'", "reserves"]),
    ("config-update-changes-base", lambda r: r.config.update({"base": 2}), UsageError, ["config['base']", "allow_val_change"]),
    ("config-update-circular", lambda r: r.config.update({"a": circular_dict()}), UsageError, ["config['a']['self']", "dict", "circular"]),
    ("config-update-circular-list", lambda r: r.config.update({"a": circular_list()}), UsageError, ["config['a'][1]", "list", "circular"]),
    ("config-update-deep", lambda r: r.config.update({"a": deep()}), UsageError, ["config['a']", "dict", "100 levels"]),
    ("config-update-deep-list", lambda r: r.config.update({"a": deep_list()}), UsageError, ["config['a']", "list", "100 levels"]),
    ("config-update-10**400", lambda r: r.config.update({"a": 10**400}), UsageError, ["config['a']", "int"]),
    ("config-update-nested-10**400", lambda r: r.config.update({"a": {"b": [10**400]}}), UsageError, ["config['a']['b'][0]", "int"]),
    ("config-update-surrogate-value", lambda r: r.config.update({"a": "x" + SURROGATE}), UsageError, ["config['a']", "surrogate"]),
    ("config-update-nested-surrogate-key", lambda r: r.config.update({"a": {SURROGATE: 1}}), UsageError, ["config['a'] key", "'\\ud800'"]),
    ("config-update-nested-bad-key", lambda r: r.config.update({"a": {BadStr(): 1}}), UsageError, ["config['a']", "BadStr"]),
    ("config-update-key-collision", lambda r: r.config.update({"a": {1: "x", "1": "y"}}), UsageError, ["config['a']", "'1'"]),
    ("config-update-nan-key-collision", lambda r: r.config.update({"a": {float("nan"): 1, "nan": 2}}), UsageError, ["config['a']", "'nan'"]),
    ("config-update-bad-str", lambda r: r.config.update({"a": BadStr()}), UsageError, ["config['a']", "BadStr", "str()"]),
    ("config-update-items-raise", lambda r: r.config.update(BadItemsDict(a=1)), UsageError, ["config", "BadItemsDict", "Boom"]),
    ("config-update-getitem-raises", lambda r: r.config.update(BadGetitem()), UsageError, ["config", "BadGetitem"]),
    ("config-update-keys-raise", lambda r: r.config.update(BadKeys()), UsageError, ["config", "BadKeys", "Boom"]),
    ("config-update-to-dict-raises", lambda r: r.config.update(ToDictRaises()), UsageError, ["config", "ToDictRaises", "Boom"]),
    ("config-update-to-dict-list", lambda r: r.config.update(ToDictGivesList()), UsageError, ["config", "ToDictGivesList", "list"]),
    ("config-update-broken-dataclass", lambda r: r.config.update(broken_dataclass()), UsageError, ["config", "Broken"]),
    ("config-update-nested-items-raise", lambda r: r.config.update({"a": BadItemsDict(b=1)}), UsageError, ["config['a']", "BadItemsDict"]),
    ("config-update-self-to-dict", lambda r: r.config.update({"a": SelfToDict()}), UsageError, ["config['a']", "SelfToDict", "circular"]),
    ("config-update-bad-path", lambda r: r.config.update({"a": BadPath()}), UsageError, ["config['a']", "BadPath", "Boom"]),
    ("config-update-bad-iter-list", lambda r: r.config.update({"a": BadIterList([1])}), UsageError, ["config['a']", "BadIterList"]),
    ("config-update-bad-enum", lambda r: r.config.update({"a": Color.RED}), UsageError, ["config['a']", "BadStr"]),
    ("config-update-broken-nested-dataclass", lambda r: r.config.update({"a": broken_dataclass()}), UsageError, ["config['a']", "Broken"]),
    ("config-update-one-bad-of-many", lambda r: r.config.update({"ok": 1, "b": 10**400}), UsageError, ["config['b']", "int"]),
    ("config-item-surrogate", lambda r: r.config.__setitem__(SURROGATE, 1), UsageError, ["config key", "'\\ud800'"]),
    ("config-item-int-key", lambda r: r.config.__setitem__(1, 1), UsageError, ["config keys", "int"]),
    ("config-item-none-key", lambda r: r.config.__setitem__(None, 1), UsageError, ["config keys", "NoneType"]),
    ("config-item-empty", lambda r: r.config.__setitem__("", 1), UsageError, ["config keys must not be empty"]),
    ("config-item-circular", lambda r: r.config.__setitem__("c", circular_list()), UsageError, ["config['c']", "circular"]),
    ("config-item-bad-str", lambda r: r.config.__setitem__("c", BadStr()), UsageError, ["config['c']", "BadStr"]),
    ("config-item-change", lambda r: r.config.__setitem__("base", 5), UsageError, ["config['base']", "allow_val_change"]),
    ("config-attr-10**400", lambda r: setattr(r.config, "big", 10**400), UsageError, ["config['big']", "int"]),
    ("config-attr-deep", lambda r: setattr(r.config, "d", deep()), UsageError, ["config['d']", "100 levels"]),
    ("config-attr-surrogate-name", lambda r: setattr(r.config, SURROGATE, 1), UsageError, ["'\\ud800'"]),
    ("config-attr-reserved", lambda r: setattr(r.config, "_x", 1), UsageError, ["'_x'", "reserves"]),
    ("config-attr-change", lambda r: setattr(r.config, "base", 3), UsageError, ["config['base']", "allow_val_change"]),
    ("config-attr-bad-str", lambda r: setattr(r.config, "c", BadStr()), UsageError, ["config['c']", "BadStr"]),
    ("config-del", lambda r: r.config.__delitem__("base"), UsageError, ["cannot be deleted"]),
    ("config-setdefaults-bad", lambda r: r.config.setdefaults({"n": circular_dict()}), UsageError, ["config['n']", "circular"]),
]

SUMMARY = [
    ("summary-update-int", lambda r: r.summary.update(5), UsageError, ["summary.update()", "int"]),
    ("summary-update-list", lambda r: r.summary.update([("a", 1)]), UsageError, ["summary.update()", "list"]),
    ("summary-update-int-key", lambda r: r.summary.update({1: 2}), UsageError, ["summary keys", "int"]),
    ("summary-update-nan-key", lambda r: r.summary.update({float("nan"): 2}), UsageError, ["summary keys", "nan", "float"]),
    ("summary-update-items-raise", lambda r: r.summary.update(BadItemsDict(a=1)), UsageError, ["summary.update()", "BadItemsDict"]),
    ("summary-update-one-bad-of-many", lambda r: r.summary.update({"ok": 1, "bad": 10**400}), UsageError, ["summary['bad']", "int"]),
    ("summary-item-surrogate", lambda r: r.summary.__setitem__(SURROGATE, 1), UsageError, ["summary key", "'\\ud800'"]),
    ("summary-item-empty", lambda r: r.summary.__setitem__("", 1), UsageError, ["summary keys must not be empty"]),
    ("summary-item-none-key", lambda r: r.summary.__setitem__(None, 1), UsageError, ["summary keys", "NoneType"]),
    ("summary-item-tuple-key", lambda r: r.summary.__setitem__(("a",), 1), UsageError, ["summary keys", "tuple"]),
    ("summary-item-long-key", lambda r: r.summary.__setitem__("s" * 5000, 1), UsageError, ["summary key", "5,000"]),
    ("summary-item-circular", lambda r: r.summary.__setitem__("best", circular_dict()), UsageError, ["summary['best']", "circular"]),
    ("summary-item-deep", lambda r: r.summary.__setitem__("best", deep()), UsageError, ["summary['best']", "100 levels"]),
    ("summary-item-10**400", lambda r: r.summary.__setitem__("best", 10**400), UsageError, ["summary['best']", "int"]),
    ("summary-item-bad-str", lambda r: r.summary.__setitem__("best", BadStr()), UsageError, ["summary['best']", "BadStr"]),
    ("summary-item-surrogate-value", lambda r: r.summary.__setitem__("best", SURROGATE), UsageError, ["summary['best']", "surrogate"]),
    ("summary-item-self-to-dict", lambda r: r.summary.__setitem__("best", SelfToDict()), UsageError, ["summary['best']", "circular"]),
    ("summary-item-bad-path", lambda r: r.summary.__setitem__("best", BadPath()), UsageError, ["summary['best']", "BadPath"]),
]

DEFINE_METRIC = [
    ("define-int-name", lambda r: r.define_metric(1), UsageError, ["define_metric()", "int"]),
    ("define-none-name", lambda r: r.define_metric(None), UsageError, ["define_metric()", "NoneType"]),
    ("define-empty-name", lambda r: r.define_metric(""), UsageError, ["define_metric()", "must not be empty"]),
    ("define-surrogate-name", lambda r: r.define_metric(SURROGATE), UsageError, ["define_metric()", "'\\ud800'"]),
    ("define-long-name", lambda r: r.define_metric("m" * 5000), UsageError, ["define_metric()", "5,000"]),
    ("define-step-metric-int", lambda r: r.define_metric("x", step_metric=5), UsageError, ["step_metric", "int"]),
    ("define-step-metric-surrogate", lambda r: r.define_metric("x", step_metric=SURROGATE), UsageError, ["step_metric", "'\\ud800'"]),
    ("define-step-metric-empty", lambda r: r.define_metric("x", step_metric=""), UsageError, ["step_metric", "empty"]),
    ("define-step-metric-pattern", lambda r: r.define_metric("x", step_metric="ep*"), UsageError, ["step_metric", "'ep*'"]),
    ("define-summary-list", lambda r: r.define_metric("x", summary=["min"]), UsageError, ["summary=", "list"]),
    ("define-summary-int", lambda r: r.define_metric("x", summary=5), UsageError, ["summary=", "int"]),
    ("define-summary-unknown", lambda r: r.define_metric("x", summary="median"), UsageError, ["'median'", "not one of"]),
    ("define-summary-best-no-goal", lambda r: r.define_metric("x", summary="best"), UsageError, ["'x'", "goal"]),
    ("define-goal-int", lambda r: r.define_metric("x", goal=5), UsageError, ["goal=", "int"]),
    ("define-goal-unknown", lambda r: r.define_metric("x", goal="up"), UsageError, ["goal='up'"]),
    ("define-hidden-str", lambda r: r.define_metric("x", hidden="yes"), UsageError, ["hidden=", "str"]),
    ("define-hidden-bad", lambda r: r.define_metric("x", hidden=BadStr()), UsageError, ["hidden=", "BadStr"]),
    ("define-no-name", lambda r: r.define_metric(), TypeError, ["name"]),
]

RUN_ATTRS = [
    ("run-name-int", lambda r: setattr(r, "name", 5), UsageError, ["run.name", "int"]),
    ("run-name-bad-str", lambda r: setattr(r, "name", BadStr()), UsageError, ["run.name", "BadStr"]),
    ("run-name-surrogate", lambda r: setattr(r, "name", SURROGATE), UsageError, ["run.name", "surrogate"]),
    ("run-notes-dict", lambda r: setattr(r, "notes", {"a": 1}), UsageError, ["run.notes", "dict"]),
    ("run-notes-bad-str", lambda r: setattr(r, "notes", BadStr()), UsageError, ["run.notes", "BadStr"]),
    ("run-tags-int", lambda r: setattr(r, "tags", 5), UsageError, ["tags", "int"]),
    ("run-tags-ints", lambda r: setattr(r, "tags", [1]), UsageError, ["tag", "int"]),
]


def _init(**kwargs):
    return lambda r: tracklet.init(**{"project": "p", **kwargs})


INIT = [
    ("init-config-int", _init(config=5), UsageError, ["config", "int"]),
    ("init-config-str", _init(config="lr=0.1"), UsageError, ["config", "str"]),
    ("init-config-list", _init(config=[("a", 1)]), UsageError, ["config", "list"]),
    ("init-config-int-key", _init(config={1: 2}), UsageError, ["config keys", "int"]),
    ("init-config-empty-key", _init(config={"": 1}), UsageError, ["config keys must not be empty"]),
    ("init-config-surrogate-key", _init(config={SURROGATE: 1}), UsageError, ["config key", "'\\ud800'"]),
    ("init-config-reserved", _init(config={"_x": 1}), UsageError, ["'_x'", "reserves"]),
    ("init-config-circular", _init(config={"a": circular_dict()}), UsageError, ["config['a']", "circular"]),
    ("init-config-deep", _init(config={"a": deep()}), UsageError, ["config['a']", "100 levels"]),
    ("init-config-10**400", _init(config={"a": 10**400}), UsageError, ["config['a']", "int"]),
    ("init-config-surrogate-value", _init(config={"a": SURROGATE}), UsageError, ["config['a']", "surrogate"]),
    ("init-config-nested-bad-key", _init(config={"a": {BadStr(): 1}}), UsageError, ["config['a']", "BadStr"]),
    ("init-config-key-collision", _init(config={"a": {1: "x", "1": "y"}}), UsageError, ["config['a']", "'1'"]),
    ("init-config-bad-str", _init(config={"a": BadStr()}), UsageError, ["config['a']", "BadStr"]),
    ("init-config-items-raise", _init(config=BadItemsDict(a=1)), UsageError, ["config", "BadItemsDict"]),
    ("init-config-keys-raise", _init(config=BadKeys()), UsageError, ["config", "BadKeys"]),
    ("init-config-to-dict-raises", _init(config=ToDictRaises()), UsageError, ["config", "ToDictRaises"]),
    ("init-config-bad-path", _init(config={"a": BadPath()}), UsageError, ["config['a']", "BadPath"]),
    ("init-config-include-int", _init(config={"a": 1}, config_include_keys=5), UsageError, ["config_include_keys", "int"]),
    ("init-config-exclude-ints", _init(config={"a": 1}, config_exclude_keys=[1]), UsageError, ["config_exclude_keys", "int"]),
    ("init-name-float", _init(name=1.5), UsageError, ["name=", "float"]),
    ("init-name-bad-str", _init(name=BadStr()), UsageError, ["name=", "BadStr"]),
    ("init-name-surrogate", _init(name=SURROGATE), UsageError, ["name=", "surrogate"]),
    ("init-name-list", _init(name=["a"]), UsageError, ["name=", "list"]),
    ("init-tags-int", _init(tags=5), UsageError, ["tags", "int"]),
    ("init-tags-ints", _init(tags=[1, 2]), UsageError, ["tag", "int"]),
    ("init-tags-none-inside", _init(tags=["ok", None]), UsageError, ["tag", "NoneType"]),
    ("init-tags-surrogate", _init(tags=[SURROGATE]), UsageError, ["tag", "surrogate"]),
    ("init-tags-bad-iter", _init(tags=BadIterable()), UsageError, ["tags", "BadIterable"]),
    ("init-notes-dict", _init(notes={"a": 1}), UsageError, ["notes=", "dict"]),
    ("init-notes-bad-str", _init(notes=BadStr()), UsageError, ["notes=", "BadStr"]),
    ("init-notes-surrogate", _init(notes="n" + SURROGATE), UsageError, ["notes=", "surrogate"]),
    ("init-group-list", _init(group=["a"]), UsageError, ["group=", "list"]),
    ("init-group-float", _init(group=0.5), UsageError, ["group=", "float"]),
    ("init-job-type-object", _init(job_type=object()), UsageError, ["job_type=", "object"]),
    ("init-project-float", _init(project=1.5), UsageError, ["project=", "float"]),
    ("init-project-three-parts", _init(project="a/b/c"), UsageError, ["project='a/b/c'"]),
    ("init-project-leading-slash", _init(project="/x"), UsageError, ["project='/x'"]),
    ("init-project-surrogate", _init(project=SURROGATE), UsageError, ["project=", "surrogate"]),
    ("init-project-bad-str", _init(project=BadStr()), UsageError, ["project=", "BadStr"]),
    ("init-entity-list", _init(entity=["e"]), UsageError, ["entity=", "list"]),
    ("init-id-float", _init(id=1.5), UsageError, ["id=", "float"]),
    ("init-id-spaces", _init(id="bad id!"), UsageError, ["'bad id!'", "not allowed"]),
    ("init-id-surrogate", _init(id=SURROGATE), UsageError, ["id=", "surrogate"]),
    ("init-id-too-long", _init(id="a" * 65), UsageError, ["not allowed"]),
    ("init-dir-int", _init(dir=5), UsageError, ["dir=", "int"]),
    ("init-dir-nul", _init(dir="a\0b"), UsageError, ["dir=", "NUL"]),
    ("init-dir-bad-path", _init(dir=BadPath()), UsageError, ["dir=", "BadPath"]),
    ("init-mode-unknown", _init(mode="fast"), UsageError, ["mode='fast'"]),
    ("init-mode-int", _init(mode=5), UsageError, ["mode=", "int"]),
    ("init-resume-unknown", _init(resume="sometimes"), UsageError, ["resume='sometimes'"]),
    ("init-resume-int", _init(resume=5), UsageError, ["resume=", "int"]),
    ("init-resume-bad-str", _init(resume=BadStr()), UsageError, ["resume=", "BadStr"]),
    ("init-resume-must-missing", _init(id="nope", resume="must"), UsageError, ["'nope'", "resume='must'"]),
    ("init-silent-maybe", _init(silent="maybe"), UsageError, ["silent='maybe'"]),
    ("init-silent-list", _init(silent=[]), UsageError, ["silent=", "list"]),
    ("init-console-loud", _init(console="loud"), UsageError, ["console='loud'"]),
    ("init-typo-keyword", _init(projet="p"), TypeError, ["projet"]),
    ("init-too-many-positional", lambda r: tracklet.init(*["p"] * 19), TypeError, ["positional"]),
]

CASES = LOG_VALUES + LOG_KEYS + LOG_CONTAINERS + LOG_STEPS + CONFIG + SUMMARY + DEFINE_METRIC + RUN_ATTRS + INIT


def test_the_table_is_as_large_as_promised():
    assert len(CASES) >= 130
    assert len({c[0] for c in CASES}) == len(CASES)  # ids are unique


def _state(run):
    runs = sorted(os.listdir(os.path.dirname(run.dir)))
    return (user_records(run), run.step, dict(run._key_ids), run.config.as_dict(), run.summary.as_dict(),
            len(run._metric_defs), run.name, run.notes, run.tags, runs)


@pytest.mark.parametrize("call, exc, names", [pytest.param(*c[1:], id=c[0]) for c in CASES])
def test_bad_input_raises_at_the_call_and_changes_nothing(call, exc, names):
    run = tracklet.init(project="p", config={"base": 1})
    run.log({"good": 1.0})
    before = _state(run)

    with pytest.raises(exc) as info:
        call(run)

    assert type(info.value) is exc or isinstance(info.value, UsageError)
    message = str(info.value)
    for name in names:
        assert name in message, f"{name!r} not in {message!r}"
    assert tracklet.run is run and not run.finished  # a refused init() leaves the current run alone
    assert _state(run) == before
    run.log({"good": 2.0})
    assert run.step == 2
    run.finish()

    stored = tracklet.Api().run(f"p/{run.id}")
    rows = list(stored.scan_history())
    assert [{k: v for k, v in r.items() if not k.startswith("_")} for r in rows] == [{"good": 1.0}, {"good": 2.0}]
    assert [r["_step"] for r in rows] == [0, 1]
    assert stored.config == {"base": 1}
    assert stored.summary == {"good": 2.0}
    assert len(tracklet.Api().runs("p")) == 1
