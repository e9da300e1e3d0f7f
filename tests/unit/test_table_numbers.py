"""A Table column of ints and floats reads back with each cell equal to what was logged, the same with pyarrow
(Parquet) and without it (the gzip-JSON fallback): a float column, as pandas and pyarrow make it, unless an int
is beyond 2**53 (float64 would round it), then each cell exactly as logged."""

import sys

import pytest

import tracklet

pytestmark = pytest.mark.unit

BIG = 2**60 + 1  # float64 would make it 2**60
ROWS = [[1, 0.5, 1, "a"], [2, 3, BIG, "b"], [3, None, 0.25, "c"], [4, -7, None, "d"]]


def _logged(monkeypatch, pyarrow: bool):
    if not pyarrow:
        monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow now fails
    run = tracklet.init(project="numbers")
    run.log({"t": tracklet.Table(columns=["id", "mixed", "big", "s"], data=ROWS)})
    run.finish()
    return tracklet.Api().run(run.id)


@pytest.mark.parametrize("pyarrow", [True, False], ids=["parquet", "json"])
def test_ints_and_floats_in_one_column_keep_every_value(monkeypatch, pyarrow):
    stored = _logged(monkeypatch, pyarrow)
    (entry,) = stored.media("t")
    assert entry["meta"]["format"] == ("parquet" if pyarrow else "json")
    assert entry["meta"]["types"] == ["int", "float", "json", "str"]
    back = stored.table("t")
    mixed = back.get_column("mixed")
    assert mixed == [0.5, 3.0, None, -7.0] and all(v is None or type(v) is float for v in mixed)  # 3 reads back as 3.0
    big = back.get_column("big")
    assert big == [1, BIG, 0.25, None] and [type(v) for v in big] == [int, int, float, type(None)]  # exact, not rounded
    assert back.data == [[1, 0.5, 1, "a"], [2, 3.0, BIG, "b"], [3, None, 0.25, "c"], [4, -7.0, None, "d"]]
    assert back.get_column("id") == [1, 2, 3, 4] and type(back.get_column("id")[0]) is int


@pytest.mark.parametrize("pyarrow", [True, False], ids=["parquet", "json"])
def test_the_dataframe_has_a_float_column_and_keeps_large_ints_whole(monkeypatch, pyarrow):
    stored = _logged(monkeypatch, pyarrow)
    for table in (stored.table("t"), tracklet.Table(columns=["id", "mixed", "big", "s"], data=ROWS)):
        df = table.get_dataframe()
        assert df["mixed"].dtype.kind == "f" and df["mixed"].tolist()[:2] == [0.5, 3.0]
        assert df["big"].dtype == object and df["big"][1] == BIG  # pandas alone would round it to 2**60
        assert df["id"].dtype.kind == "i"


def test_the_table_viewer_sorts_a_mixed_column_by_value():
    run = tracklet.init(project="numbers")
    run.log({"t": tracklet.Table(columns=["id", "mixed", "big", "s"], data=ROWS)})
    run.finish()
    store = tracklet.Api().store
    assert store.table_rows(run.id, "t", sort="mixed")["index"] == [3, 0, 1, 2]  # -7, 0.5, 3, then the empty cell
    page = store.table_rows(run.id, "t", sort="-big")
    assert page["index"][0] == 1 and page["rows"][0][2] == BIG
