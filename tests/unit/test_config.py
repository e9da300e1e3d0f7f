"""run.config: access styles, sources, JSON safety, and protected values."""

import argparse
import dataclasses
import enum
import pathlib
import types

import pytest

import tracklet
from tracklet import Config


class Color(enum.Enum):
    RED = "red"


@dataclasses.dataclass
class Args:
    lr: float = 0.1
    layers: tuple = (1, 2)


class HasToDict:
    def to_dict(self):
        return {"r": 16, "targets": {"q_proj", "k_proj"}}


def test_attribute_and_item_access_and_update():
    c = Config()
    c.update({"lr": 0.1, "opt": {"name": "adam", "betas": [0.9, 0.99]}})
    c.batch = 8
    c["epochs"] = 3
    assert c.lr == 0.1 and c["batch"] == 8 and c.opt["name"] == "adam" and "epochs" in c
    assert dict(c.items()) == c.as_dict() and len(c) == 4
    with pytest.raises(AttributeError, match="no key 'missing'"):
        _ = c.missing


@pytest.mark.parametrize(
    "source, expected",
    [
        (Args(), {"lr": 0.1, "layers": [1, 2]}),
        (argparse.Namespace(lr=0.2, name="x"), {"lr": 0.2, "name": "x"}),
        (HasToDict(), {"r": 16, "targets": ["k_proj", "q_proj"]}),
    ],
)
def test_sources(source, expected):
    c = Config()
    c.update(source)
    assert c.as_dict() == expected


def test_values_become_json():
    c = Config()
    c.update({"color": Color.RED, "path": pathlib.Path("/tmp/x"), "set": {3, 1, 2}, "nested": {1: Args()}})
    assert c.as_dict() == {"color": "red", "path": "/tmp/x", "set": [1, 2, 3], "nested": {"1": {"lr": 0.1, "layers": [1, 2]}}}


def test_a_value_with_no_json_form_is_stored_as_text_with_one_warning():
    class Opaque:
        def __str__(self):
            return "<opaque>"

    c = Config()
    with pytest.warns(tracklet.TrackletWarning, match="no JSON form"):
        c.update({"thing": Opaque()})
    assert c.thing == "<opaque>"


def test_changing_a_value_needs_allow_val_change():
    c = Config()
    c.update({"lr": 0.1})
    c.update({"lr": 0.1})  # same value: fine
    with pytest.raises(tracklet.UsageError, match="allow_val_change=True"):
        c.lr = 0.2
    c.update({"lr": 0.2}, allow_val_change=True)
    assert c.lr == 0.2


def test_bad_keys():
    c = Config()
    with pytest.raises(tracklet.UsageError, match="strings"):
        c.update({1: 2})
    with pytest.raises(tracklet.UsageError, match="reserves"):
        c.update({"_x": 1})
    with pytest.raises(tracklet.UsageError, match="dict, dataclass"):
        c.update(42)


def test_config_changes_reach_the_store():
    run = tracklet.init(project="p", config=Args(), config_exclude_keys=["layers"])
    run.config.update({"extra": 1})
    run.config.update({"lr": 0.5}, allow_val_change=True)
    run.finish()
    assert tracklet.Api().run(run.id).config == {"lr": 0.5, "extra": 1}


def test_nested_keys_become_text_and_odd_values_are_read_safely():
    class OddFloat(float):
        def __float__(self):
            raise RuntimeError("never called")

    c = Config()
    c.update({"id2label": {0: "neg", 1: "pos"}, "f": OddFloat(0.5), "b": b"\xffab", "nan": float("nan"),
              "nested_nan": [float("nan")], "map": types.MappingProxyType({"k": 1})})  # a Mapping, not a dict
    assert c.as_dict()["id2label"] == {"0": "neg", "1": "pos"} and c.f == 0.5 and c.b == "\\xffab"
    assert c.map == {"k": 1}
    c.update({"nan": float("nan"), "nested_nan": [float("nan")]})  # NaN again, at any depth, is no change


def test_a_refused_update_changes_nothing_and_init_with_bad_config_starts_no_run():
    run = tracklet.init(project="p", config={"a": 1})
    with pytest.raises(tracklet.UsageError, match=r"config\['c'\]\['x'\].*circular"):
        d = {}
        d["x"] = d
        run.config.update({"b": 2, "c": d})
    assert run.config.as_dict() == {"a": 1}
    with pytest.raises(tracklet.UsageError, match=r"config\['big'\]"):
        tracklet.init(project="p", config={"big": 10**400})
    assert tracklet.run is run and not run.finished  # the current run goes on
    run.finish()
    assert len(tracklet.Api().runs("p")) == 1
    assert tracklet.Api().run(run.id).config == {"a": 1}
