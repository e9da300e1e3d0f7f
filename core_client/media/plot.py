"""``tracklet.plot``: wandb's chart helpers. Each returns a chart, stored as its table plus a chart spec.

Example:
    >>> table = tracklet.Table(columns=["step", "loss"], data=[[0, 1.0], [1, 0.5]])
    >>> run.log({"loss_curve": tracklet.plot.line(table, "step", "loss", title="Loss")})
"""

from __future__ import annotations

from .._errors import UsageError
from ._base import Media
from ._table import Table

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Sequence

__all__ = ["Chart", "bar", "confusion_matrix", "histogram", "line", "line_series", "pr_curve", "roc_curve", "scatter"]


class Chart(Media):
    """A chart of a table: ``spec`` names its type (``line``, ``scatter``, ``bar``, ``histogram``, ``confusion_matrix``),
    its columns and title (and ``xname``, the x-axis name, where it is not the x column's)."""

    kind = "plot"

    def __init__(self, table: Table, spec: dict[str, Any]) -> None:
        if not isinstance(table, Table):
            raise UsageError(f"a chart is drawn from a tracklet.Table; got {type(table).__name__}")
        for field in ("x", "y", "label", "value", "stroke", "actual", "predicted"):
            column = spec.get(field)
            if column is not None and column not in table.columns:
                raise UsageError(f"plot.{spec['type']}: the table has no column {column!r}; its columns: {', '.join(table.columns)}")
        self.table = table
        self.spec = spec

    def _freeze(self) -> Chart:
        return Chart(self.table._freeze(), dict(self.spec))

    def _encode(self, put: Callable[[bytes], tuple[str, int]]) -> tuple[bytes, dict[str, Any]]:
        data, meta = self.table._encode(put)
        return data, {**meta, "spec": self.spec}

    @classmethod
    def _decode(cls, data: bytes, meta: dict[str, Any], get: Callable[[str], bytes]) -> Chart:
        return cls(Table._decode(data, meta, get), dict(meta.get("spec") or {}))

    def __repr__(self) -> str:
        return f"<tracklet.plot.{self.spec.get('type')} {self.spec.get('title') or ''!r}>"


def _title(title: Any) -> str:
    return "" if title is None else str(title)


def line(table: Table, x: str, y: str, stroke: str | None = None, title: str = "", split_table: bool = False) -> Chart:
    """A line of ``y`` against ``x`` (one line per value of ``stroke`` when given)."""
    return Chart(table, {"type": "line", "x": x, "y": y, "stroke": stroke, "title": _title(title)})


def scatter(table: Table, x: str, y: str, title: str = "", split_table: bool = False) -> Chart:
    """Points of ``y`` against ``x``."""
    return Chart(table, {"type": "scatter", "x": x, "y": y, "title": _title(title)})


def bar(table: Table, label: str, value: str, title: str = "", split_table: bool = False) -> Chart:
    """One bar per row: ``value`` labelled by ``label``."""
    return Chart(table, {"type": "bar", "label": label, "value": value, "title": _title(title)})


def histogram(table: Table, value: str, title: str = "", split_table: bool = False) -> Chart:
    """The distribution of column ``value``."""
    return Chart(table, {"type": "histogram", "value": value, "title": _title(title)})


def line_series(
    xs: Sequence[float] | Sequence[Sequence[float]], ys: Sequence[Sequence[float]], keys: Sequence[str] | None = None,
    title: str | None = "", xname: str | None = None, split_table: bool = False,
) -> Chart:
    """Several lines in one chart: ``ys[i]`` against ``xs`` (shared) or ``xs[i]``, named ``keys[i]`` (``line_i`` by default).

    Stored as wandb stores it: a table of ``lineKey``, ``lineVal`` and ``step`` drawn as one line per ``lineKey``.
    """
    where = "plot.line_series"
    if isinstance(ys, (str, bytes)) or not _is_seq(ys) or not all(_is_seq(y) for y in ys):
        raise UsageError(f"{where}: ys is a list of lines, each a list of numbers; got {type(ys).__name__}")
    shared = _is_seq(xs) and not any(_is_seq(x) for x in xs)
    if not _is_seq(xs) or (not shared and len(xs) != len(ys)):
        raise UsageError(f"{where}: xs is one list of x values for every line or one list per line ({len(ys)} lines)")
    if keys is None:
        keys = [f"line_{i}" for i in range(len(ys))]
    elif isinstance(keys, str) or not _is_seq(keys) or len(keys) != len(ys):
        raise UsageError(f"{where}: keys names each of the {len(ys)} lines; got {keys!r}")
    data = []
    for i, (key, line_ys) in enumerate(zip(keys, ys)):
        line_xs = xs if shared else xs[i]
        if len(line_xs) != len(line_ys):
            raise UsageError(f"{where}: line {i} ({key!r}) has {len(line_ys)} y values for {len(line_xs)} x values")
        for j, (x, y) in enumerate(zip(line_xs, line_ys)):
            for name, v in (("x", x), ("y", y)):
                if isinstance(v, bool) or not (isinstance(v, (int, float)) or hasattr(v, "__float__")):
                    raise UsageError(f"{where}: line {i} ({key!r}), point {j}: {name} is a {type(v).__name__}, not a number")
            data.append([str(key), float(y), float(x)])
    table = Table(columns=["lineKey", "lineVal", "step"], data=data)
    return Chart(table, {"type": "line", "x": "step", "y": "lineVal", "stroke": "lineKey", "title": _title(title),
                         "xname": "x" if xname is None else str(xname)})


def _is_seq(v: Any) -> bool:
    return hasattr(v, "__len__") and hasattr(v, "__iter__") and not isinstance(v, (str, bytes, dict))


# -- classifier charts: wandb.plot.confusion_matrix, roc_curve, pr_curve (numpy; no scikit-learn needed) -----------


def confusion_matrix(
    probs: Any = None, y_true: Any = None, preds: Any = None, class_names: Sequence[str] | None = None,
    title: str = "Confusion Matrix Curve", split_table: bool = False,
) -> Chart:
    """How often each true class (``y_true``: class indices) was predicted as each class (``preds``, or the argmax
    of ``probs``, one row of class probabilities per example), drawn as a grid; a table of ``Actual``,
    ``Predicted`` and ``nPredictions`` with a row for every pair of classes, as wandb stores it."""
    where = "plot.confusion_matrix"
    np = _numpy(where)
    if (probs is None) == (preds is None):
        raise UsageError(f"{where}: give preds (a class index per example) or probs (class probabilities per example), one of them")
    truth = _class_indices(np, y_true, "y_true", where)
    if probs is not None:
        p = np.asarray(probs, dtype=float)
        if p.ndim != 2 or len(p) != len(truth):
            raise UsageError(f"{where}: probs is one row of class probabilities per example ({len(truth)} rows); got shape {p.shape}")
        guessed = p.argmax(axis=1)
    else:
        guessed = _class_indices(np, preds, "preds", where)
        if len(guessed) != len(truth):
            raise UsageError(f"{where}: y_true has {len(truth)} examples and preds {len(guessed)}; give one prediction per example")
    n = int(max(truth.max(initial=-1), guessed.max(initial=-1), (p.shape[1] - 1) if probs is not None else -1)) + 1
    names = _class_names(class_names, n, where)
    counts = np.zeros((len(names), len(names)), dtype=np.int64)
    np.add.at(counts, (truth, guessed), 1)
    data = [[names[a], names[b], int(counts[a, b])] for a in range(len(names)) for b in range(len(names))]
    table = Table(columns=["Actual", "Predicted", "nPredictions"], data=data)
    return Chart(table, {"type": "confusion_matrix", "actual": "Actual", "predicted": "Predicted", "value": "nPredictions",
                         "title": _title(title)})


def roc_curve(
    y_true: Any, y_probas: Any, labels: Sequence[str] | None = None, classes_to_plot: Sequence[Any] | None = None,
    title: str = "ROC", split_table: bool = False,
) -> Chart:
    """The ROC curve of each class, one against the rest: true positive rate (``tpr``) against false positive rate
    (``fpr``) as the score threshold goes down; a line per ``class``, as wandb stores it."""
    return _class_curves("plot.roc_curve", y_true, y_probas, labels, classes_to_plot, title, ("fpr", "tpr"), _roc)


def pr_curve(
    y_true: Any, y_probas: Any, labels: Sequence[str] | None = None, classes_to_plot: Sequence[Any] | None = None,
    interp_size: int = 21, title: str = "Precision v. Recall", split_table: bool = False,
) -> Chart:
    """The precision-recall curve of each class, one against the rest, at ``interp_size`` recall levels (the best
    precision at that recall or above, as wandb interpolates it); a line per ``class``."""
    if isinstance(interp_size, bool) or not isinstance(interp_size, int) or interp_size < 2:
        raise UsageError(f"plot.pr_curve: interp_size is a whole number >= 2 (recall levels); got {interp_size!r}")
    return _class_curves("plot.pr_curve", y_true, y_probas, labels, classes_to_plot, title, ("recall", "precision"),
                         lambda np, truth, score: _pr(np, truth, score, interp_size))


def _class_curves(where: str, y_true: Any, y_probas: Any, labels: Any, classes_to_plot: Any, title: str,
                  axes: tuple[str, str], curve: Callable[..., tuple[Any, Any]]) -> Chart:
    np = _numpy(where)
    truth = _class_indices(np, y_true, "y_true", where)
    scores = np.asarray(y_probas, dtype=float)
    if scores.ndim != 2 or len(scores) != len(truth):
        raise UsageError(f"{where}: y_probas is one row of class probabilities per example ({len(truth)} rows); got shape {scores.shape}")
    if not np.isfinite(scores).all():
        raise UsageError(f"{where}: y_probas holds NaN or infinite values")
    names = _class_names(labels, scores.shape[1], where)
    if int(truth.max(initial=-1)) >= len(names):
        raise UsageError(f"{where}: y_true holds class {int(truth.max())}, but y_probas has {len(names)} columns (classes)")
    chosen = range(len(names)) if classes_to_plot is None else [_class_index(c, names, where) for c in classes_to_plot]
    data, left_out = [], []
    for c in chosen:
        positive = truth == c
        if not positive.any() or positive.all():  # no curve: its rate has nothing to count
            left_out.append(names[c])
            continue
        xs, ys = curve(np, positive, scores[:, c])
        data += [[names[c], float(x), float(y)] for x, y in zip(xs, ys)]
    if not data:
        raise UsageError(f"{where}: no class has both examples of it and of other classes in y_true: nothing to draw")
    if left_out:
        from .._errors import warn_once

        warn_once(f"{where}:{left_out}", f"tracklet: {where} leaves out class {', '.join(map(repr, left_out))}: y_true "
                  "needs examples of a class and of the others to draw its curve")
    table = Table(columns=["class", *axes], data=data)
    return Chart(table, {"type": "line", "x": axes[0], "y": axes[1], "stroke": "class", "title": _title(title)})


def _at_thresholds(np: Any, positive: Any, score: Any) -> tuple[Any, Any]:
    """At each distinct score, highest first: how many examples score at least that (``kept``), and how many of
    them are positive (``tp``)."""
    order = np.argsort(-score, kind="mergesort")
    score, positive = score[order], positive[order]
    last = np.r_[np.flatnonzero(np.diff(score)), len(score) - 1]  # the last example at each distinct threshold
    return last + 1, np.cumsum(positive)[last]


def _roc(np: Any, positive: Any, score: Any) -> tuple[Any, Any]:
    kept, tp = _at_thresholds(np, positive, score)
    fp = kept - tp
    return np.r_[0.0, fp / fp[-1]], np.r_[0.0, tp / tp[-1]]


def _pr(np: Any, positive: Any, score: Any, levels: int) -> tuple[Any, Any]:
    kept, tp = _at_thresholds(np, positive, score)
    precision, recall = tp / kept, tp / tp[-1]
    best = np.maximum.accumulate(precision[::-1])[::-1]  # the best precision at this recall or above
    grid = np.linspace(0.0, 1.0, levels)
    at = np.searchsorted(recall, grid, side="left")
    return grid, np.where(at < len(best), best[np.minimum(at, len(best) - 1)], 0.0)


def _numpy(where: str) -> Any:
    from ._base import need

    return need("numpy", where)


def _class_indices(np: Any, values: Any, name: str, where: str) -> Any:
    if values is None:
        raise UsageError(f"{where}: {name} is needed: a class index (0, 1, ...) per example")
    arr = np.asarray(values)
    if arr.ndim != 1 or not len(arr):
        raise UsageError(f"{where}: {name} is a non-empty list of class indices, one per example; got shape {arr.shape}")
    if arr.dtype.kind not in "iu" and not (arr.dtype.kind == "f" and np.all(arr == np.round(arr))):
        raise UsageError(f"{where}: {name} holds class indices (0, 1, ...); got values of type {arr.dtype}")
    arr = arr.astype(np.int64)
    if arr.min() < 0:
        raise UsageError(f"{where}: {name} holds a negative class index ({int(arr.min())})")
    return arr


def _class_names(names: Sequence[Any] | None, n: int, where: str) -> list[str]:
    if names is None:
        return [str(i) for i in range(n)]
    names = [str(x) for x in names]
    if len(names) < n:
        raise UsageError(f"{where}: {len(names)} class names for {n} classes; name every class (index 0 to {n - 1})")
    return names


def _class_index(c: Any, names: list[str], where: str) -> int:
    if isinstance(c, int) and not isinstance(c, bool) and 0 <= c < len(names):
        return c
    if str(c) in names:
        return names.index(str(c))
    raise UsageError(f"{where}: classes_to_plot names {c!r}, which is neither a class index nor one of {names}")
