"""wandb's sweep configuration language: checking a config, and the search space it describes.

A config is checked whole before anything is stored or run (``check_config``): an unknown key,
an impossible range or a missing field raises one ``UsageError`` naming the parameter, the value
and what to write instead. Nested parameter groups (``{"optimizer": {"parameters": {...}}}``)
become paths (``("optimizer", "lr")``); ``nest`` turns a point back into the nested config a run sees.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping

from .._errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import random
    from typing import Any

__all__ = ["DISTRIBUTIONS", "METHODS", "Param", "SweepConfig", "check_config", "envvar_name", "nest", "point_key"]

METHODS = ("grid", "random", "bayes")
_TOP_KEYS = (
    "apiVersion", "command", "controller", "description", "early_terminate", "entity", "kind", "method", "metric",
    "name", "parameters", "program", "project", "run_cap",
)
# wandb keys for what tracklet does not have: the reason, said when a config holds one
_NOT_HERE = {
    "job": "a W&B Launch job; tracklet agents run `program` or `command` (or a function given to agent())",
    "image_uri": "a W&B Launch image; tracklet agents run `program` or `command` where they are started",
    "scheduler": "a W&B Launch scheduler; tracklet's agents search with method grid, random or bayes themselves",
    "metrics": "several metrics (method custom); give one metric: {name: ..., goal: ...}",
}
_PARAM_KEYS = ("a", "b", "distribution", "max", "min", "mu", "parameters", "probabilities", "q", "sigma", "value", "values")
# distribution -> the fields it needs (beyond "distribution") and the ones it may have
DISTRIBUTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "constant": (("value",), ()),
    "categorical": (("values",), ("probabilities",)),
    "int_uniform": (("min", "max"), ()),
    "uniform": (("min", "max"), ()),
    "q_uniform": (("min", "max"), ("q",)),
    "log_uniform": (("min", "max"), ()),  # min and max are exponents: e**min .. e**max (wandb's older form)
    "q_log_uniform": (("min", "max"), ("q",)),  # round(e**u / q) * q, u uniform in [min, max]
    "log_uniform_values": (("min", "max"), ()),
    "q_log_uniform_values": (("min", "max"), ("q",)),
    "inv_log_uniform": (("min", "max"), ()),
    "inv_log_uniform_values": (("min", "max"), ()),
    "normal": ((), ("mu", "sigma")),
    "q_normal": ((), ("mu", "sigma", "q")),
    "log_normal": ((), ("mu", "sigma")),
    "q_log_normal": ((), ("mu", "sigma", "q")),
    "beta": ((), ("a", "b")),  # in [0, 1]; a and b default to 1 (uniform)
    "q_beta": ((), ("a", "b", "q")),
}
_COMMAND_MACROS = (
    "${args}", "${args_json}", "${args_json_file}", "${args_no_boolean_flags}", "${args_no_hyphens}", "${env}",
    "${envvar:NAME}", "${interpreter}", "${program}",
)


class Param:
    """One searched (or fixed) parameter at ``path``: its distribution and that distribution's fields."""

    __slots__ = ("a", "b", "distribution", "max", "min", "mu", "path", "probabilities", "q", "sigma", "value", "values")

    def __init__(self, path: tuple[str, ...], distribution: str, **fields: Any) -> None:
        self.path, self.distribution = path, distribution
        for name in ("a", "b", "max", "min", "mu", "probabilities", "q", "sigma", "value", "values"):
            setattr(self, name, fields.get(name))

    @property
    def name(self) -> str:
        """The dotted name, as in ``--optimizer.lr=...`` and in messages."""
        return ".".join(self.path)

    @property
    def discrete(self) -> bool:
        return self.distribution in ("constant", "categorical", "int_uniform")

    def grid_values(self) -> list[Any]:
        """Every value a grid takes for this parameter."""
        if self.distribution == "constant":
            return [self.value]
        if self.distribution == "categorical":
            return list(self.values)
        if self.distribution == "int_uniform":
            return list(range(int(self.min), int(self.max) + 1))
        raise UsageError(
            f"method 'grid' needs every parameter to be discrete: {self.name!r} has distribution {self.distribution!r}; "
            "give it values: [...] (or use method random or bayes)"
        )

    def sample(self, rng: random.Random) -> Any:
        """One value drawn as wandb's random search draws it."""
        d = self.distribution
        if d == "constant":
            return self.value
        if d == "categorical":
            if self.probabilities is None:
                return self.values[rng.randrange(len(self.values))]
            return rng.choices(self.values, weights=self.probabilities)[0]
        if d == "int_uniform":
            return rng.randint(int(self.min), int(self.max))
        if d in ("uniform", "q_uniform"):
            return self.quantize(rng.uniform(self.min, self.max))
        if d in ("log_uniform_values", "q_log_uniform_values", "inv_log_uniform_values"):
            return self.quantize(math.exp(rng.uniform(math.log(self.min), math.log(self.max))))
        if d in ("log_uniform", "q_log_uniform"):
            return self.quantize(math.exp(rng.uniform(self.min, self.max)))
        if d in ("beta", "q_beta"):
            return self.quantize(rng.betavariate(self.a, self.b))
        if d == "inv_log_uniform":
            return math.exp(-rng.uniform(self.min, self.max))
        x = rng.gauss(self.mu, self.sigma)
        return self.quantize(math.exp(x) if d.endswith("log_normal") else x)

    def quantize(self, x: float) -> float:
        """``round(x / q) * q`` for the ``q_`` distributions; ``x`` for the rest."""
        if not self.distribution.startswith("q_"):
            return x
        q = self.q
        value = round(x / q) * q
        return int(value) if isinstance(q, int) and not isinstance(q, bool) else value

    def bounds(self) -> tuple[float, float, bool]:
        """``(low, high, log)`` of a continuous parameter, for an optimiser (normals: mu ± 4 sigma)."""
        d = self.distribution
        if d in ("uniform", "q_uniform"):
            return float(self.min), float(self.max), False
        if d in ("log_uniform_values", "q_log_uniform_values", "inv_log_uniform_values"):
            return float(self.min), float(self.max), True
        if d in ("log_uniform", "q_log_uniform"):
            return math.exp(self.min), math.exp(self.max), True
        if d in ("beta", "q_beta"):
            return 0.0, 1.0, False
        if d == "inv_log_uniform":
            return math.exp(-self.max), math.exp(-self.min), True
        lo, hi = self.mu - 4 * self.sigma, self.mu + 4 * self.sigma
        if d.endswith("log_normal"):
            return math.exp(lo), math.exp(hi), True
        return lo, hi, False


class SweepConfig:
    """A checked sweep config: ``raw`` is what the user gave (stored as is), the rest is parsed."""

    def __init__(self, raw: dict[str, Any], params: list[Param]) -> None:
        self.raw = raw
        self.params = params
        self.method: str = raw["method"]
        metric = raw.get("metric") or {}
        self.metric: str | None = metric.get("name")
        self.goal: str = metric.get("goal", "minimize")
        self.target: float | None = metric.get("target")
        self.run_cap: int | None = raw.get("run_cap")
        self.early_terminate: dict[str, Any] | None = raw.get("early_terminate")

    def better(self, a: float, b: float) -> bool:
        """Whether metric value ``a`` beats ``b`` for this sweep's goal."""
        return a > b if self.goal == "maximize" else a < b

    def grid(self) -> list[dict[tuple[str, ...], Any]]:
        """Every grid point (flat: path -> value), in the order wandb walks them (the last parameter fastest)."""
        import itertools

        columns = [p.grid_values() for p in self.params]
        return [dict(zip((p.path for p in self.params), combo)) for combo in itertools.product(*columns)]


def check_config(config: Any) -> SweepConfig:
    """Check a sweep config (a dict as wandb takes it) and parse it; ``UsageError`` says what is wrong."""
    if not isinstance(config, Mapping):
        raise UsageError(f"a sweep config is a dict (or a YAML file for `tracklet sweep`); got {type(config).__name__}")
    raw = _plain(dict(config), "config")
    unknown = sorted(set(raw) - set(_TOP_KEYS))
    for key in unknown:
        if key in _NOT_HERE:
            raise UsageError(f"sweep config: {key!r} is {_NOT_HERE[key]}; remove it")
    if unknown:
        raise UsageError(f"sweep config: unknown key {unknown[0]!r}; the keys are {', '.join(_TOP_KEYS)}")
    _check_wandb_only(raw)
    method = raw.get("method")
    if method == "custom":
        raise UsageError("sweep config: method 'custom' is for W&B Launch schedulers; tracklet's methods are grid, random and bayes")
    if method not in METHODS:
        raise UsageError(f"sweep config: method must be one of {', '.join(METHODS)}; got {method!r}")
    _check_metric(raw)
    if not isinstance(raw.get("parameters"), Mapping) or not raw["parameters"]:
        raise UsageError('sweep config: "parameters" must be a non-empty dict of name -> {values: [...]} or {min:, max:}')
    params: list[Param] = []
    _parse_params(raw["parameters"], (), params)
    cap = raw.get("run_cap")
    if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 1):
        raise UsageError(f"sweep config: run_cap must be a whole number of runs >= 1; got {cap!r}")
    if method == "bayes" and not raw.get("metric"):
        raise UsageError('sweep config: method "bayes" needs a metric: {"name": "val/loss", "goal": "minimize"}')
    if raw.get("early_terminate") is not None:
        from ._hyperband import check_early_terminate

        check_early_terminate(raw)
    _check_command(raw)
    parsed = SweepConfig(raw, params)
    if method == "grid":
        for p in params:
            p.grid_values()  # raises for a continuous parameter
    return parsed


def _check_wandb_only(raw: dict[str, Any]) -> None:
    """Keys of wandb's sweep schema that change nothing here, checked as wandb checks them: ``controller``
    (tracklet's agents are the controller, wherever they run), ``kind`` and ``apiVersion``."""
    controller = raw.get("controller")
    if controller is not None and (not isinstance(controller, Mapping) or controller.get("type") not in ("local", "cloud")):
        raise UsageError(f"sweep config: controller is {{type: local}} or {{type: cloud}} (tracklet's agents are the controller "
                         f"either way); got {controller!r}")
    if raw.get("kind") not in (None, "sweep"):
        raise UsageError(f"sweep config: kind must be 'sweep'; got {raw['kind']!r}")
    if raw.get("apiVersion") is not None and not isinstance(raw["apiVersion"], str):
        raise UsageError(f"sweep config: apiVersion is a string; got {raw['apiVersion']!r}")


def _plain(value: Any, where: str) -> Any:
    """The config as JSON would carry it (it is stored and sent as JSON): refuses what JSON cannot hold."""
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as e:
        raise UsageError(f"sweep config: {where} must hold only JSON values (numbers, strings, lists, dicts): {e}") from None


def _check_metric(raw: dict[str, Any]) -> None:
    metric = raw.get("metric")
    if metric is None:
        return
    if not isinstance(metric, Mapping):
        raise UsageError(f'sweep config: metric is {{"name": ..., "goal": "minimize"|"maximize"}}; got {metric!r}')
    unknown = sorted(set(metric) - {"name", "goal", "target", "impute", "impute_while_running"})
    if unknown:
        raise UsageError(f"sweep config: metric has unknown key {unknown[0]!r}; its keys are name, goal, target, impute, "
                         "impute_while_running")
    for key, allowed in (("impute", ("latest", "best", "worst")), ("impute_while_running", ("latest", "best", "worst", "false"))):
        if metric.get(key) is not None and metric[key] not in allowed:
            raise UsageError(f"sweep config: metric.{key} is one of {', '.join(allowed)}; got {metric[key]!r}")
    if not isinstance(metric.get("name"), str) or not metric["name"]:
        raise UsageError(f"sweep config: metric.name must name a logged metric, such as 'val/loss'; got {metric.get('name')!r}")
    if metric.get("goal", "minimize") not in ("minimize", "maximize"):
        raise UsageError(f"sweep config: metric.goal must be 'minimize' or 'maximize'; got {metric['goal']!r}")
    target = metric.get("target")
    if target is not None and (isinstance(target, bool) or not isinstance(target, (int, float))):
        raise UsageError(f"sweep config: metric.target must be a number; got {target!r}")


def _parse_params(spec: Mapping[str, Any], prefix: tuple[str, ...], out: list[Param]) -> None:
    for name, body in spec.items():
        path = (*prefix, name)
        where = ".".join(path)
        if not name or "." in name or name.startswith("-"):
            raise UsageError(f"sweep config: parameter name {name!r} must be non-empty, without '.' or a leading '-'")
        if not isinstance(body, Mapping):
            raise UsageError(f"sweep config: parameter {where!r} must be a dict such as {{'values': [1, 2]}}; got {body!r}")
        unknown = sorted(set(body) - set(_PARAM_KEYS))
        if unknown:
            raise UsageError(f"sweep config: parameter {where!r} has unknown key {unknown[0]!r}; the keys are {', '.join(_PARAM_KEYS)}")
        if "parameters" in body:
            if set(body) != {"parameters"} or not isinstance(body["parameters"], Mapping) or not body["parameters"]:
                raise UsageError(f"sweep config: the group {where!r} holds only 'parameters': a non-empty dict of parameters")
            _parse_params(body["parameters"], path, out)
            continue
        out.append(_parse_param(path, dict(body)))


def _parse_param(path: tuple[str, ...], body: dict[str, Any]) -> Param:
    where = ".".join(path)
    dist = body.pop("distribution", None) or _infer(where, body)
    if dist == "categorical_w_probabilities":  # wandb's schema name for values with probabilities
        if "probabilities" not in body:
            raise UsageError(f"sweep config: parameter {where!r} (distribution {dist}) needs probabilities")
        dist = "categorical"
    if dist not in DISTRIBUTIONS:
        raise UsageError(f"sweep config: parameter {where!r}: unknown distribution {dist!r}; one of {', '.join(DISTRIBUTIONS)}")
    needs, may = DISTRIBUTIONS[dist]
    missing = [k for k in needs if k not in body]
    if missing:
        raise UsageError(f"sweep config: parameter {where!r} (distribution {dist}) needs {' and '.join(missing)}")
    extra = sorted(set(body) - set(needs) - set(may))
    if extra:
        raise UsageError(f"sweep config: parameter {where!r} (distribution {dist}) does not take {extra[0]!r}")
    for k in ("a", "b", "min", "max", "mu", "sigma", "q"):
        v = body.get(k)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
            raise UsageError(f"sweep config: parameter {where!r}: {k} must be a number; got {v!r}")
    if dist == "categorical":
        _check_values(where, body)
    if "min" in body:
        lo, hi = body["min"], body["max"]
        if dist == "int_uniform":
            if not (isinstance(lo, int) and isinstance(hi, int)):
                raise UsageError(f"sweep config: parameter {where!r} (int_uniform) needs whole-number min and max; got {lo!r}, {hi!r}")
            if lo > hi:
                raise UsageError(f"sweep config: parameter {where!r}: min {lo} is above max {hi}")
        elif not lo < hi:
            raise UsageError(f"sweep config: parameter {where!r}: min ({lo}) must be below max ({hi})")
        if dist.endswith("_values") and lo <= 0:
            raise UsageError(
                f"sweep config: parameter {where!r} ({dist}) needs min > 0 (a log scale); got min={lo}. "
                "Use distribution uniform for a range through 0"
            )
    if body.get("sigma") is not None and body["sigma"] <= 0:
        raise UsageError(f"sweep config: parameter {where!r}: sigma must be > 0; got {body['sigma']}")
    if body.get("q") is not None and body["q"] <= 0:
        raise UsageError(f"sweep config: parameter {where!r}: q must be > 0; got {body['q']}")
    for k in ("a", "b"):
        if body.get(k) is not None and body[k] <= 0:
            raise UsageError(f"sweep config: parameter {where!r}: {k} (of the beta distribution) must be > 0; got {body[k]}")
    if dist.endswith("beta"):
        body.setdefault("a", 1.0)
        body.setdefault("b", 1.0)
    if dist.startswith("q_"):
        body.setdefault("q", 1)
    if dist.endswith("normal"):
        body.setdefault("mu", 0.0)
        body.setdefault("sigma", 1.0)
    return Param(path, dist, **body)


def _infer(where: str, body: dict[str, Any]) -> str:
    """The distribution wandb infers when none is named."""
    if "value" in body:
        return "constant"
    if "values" in body:
        return "categorical"
    if "min" in body and "max" in body:
        ints = all(isinstance(body[k], int) and not isinstance(body[k], bool) for k in ("min", "max"))
        return "int_uniform" if ints else "uniform"
    if "mu" in body or "sigma" in body:
        return "normal"
    raise UsageError(
        f"sweep config: parameter {where!r} needs value, values, min and max, or a distribution; got {sorted(body) or 'nothing'}"
    )


def _check_values(where: str, body: dict[str, Any]) -> None:
    values, probs = body["values"], body.get("probabilities")
    if not isinstance(values, list) or not values:
        raise UsageError(f"sweep config: parameter {where!r}: values must be a non-empty list; got {values!r}")
    keys = [json.dumps(v, sort_keys=True) for v in values]
    if len(set(keys)) != len(keys):
        raise UsageError(f"sweep config: parameter {where!r} lists a value twice: {values!r}")
    if probs is None:
        return
    if (
        not isinstance(probs, list) or len(probs) != len(values)
        or any(isinstance(p, bool) or not isinstance(p, (int, float)) or p < 0 for p in probs)
        or abs(sum(probs) - 1.0) > 1e-6
    ):
        raise UsageError(
            f"sweep config: parameter {where!r}: probabilities must be {len(values)} numbers >= 0 that sum to 1; got {probs!r}"
        )


def _check_command(raw: dict[str, Any]) -> None:
    program, command = raw.get("program"), raw.get("command")
    if program is not None and (not isinstance(program, str) or not program):
        raise UsageError(f"sweep config: program must be a script path such as train.py; got {program!r}")
    if command is None:
        return
    if not isinstance(command, list) or not command or not all(isinstance(c, str) for c in command):
        raise UsageError(f"sweep config: command must be a list of strings such as ['${{env}}', 'python', '${{program}}', '${{args}}']; got {command!r}")
    for part in command:
        if part.startswith("${") and part not in _COMMAND_MACROS and not envvar_name(part):
            raise UsageError(f"sweep config: command has unknown macro {part!r}; the macros are {', '.join(_COMMAND_MACROS)}")
    if "${program}" in command and program is None:
        raise UsageError("sweep config: command uses ${program} but the config has no program: add program: train.py")


def envvar_name(part: str) -> str | None:
    """``NAME`` of a ``${envvar:NAME}`` command part (the agent's environment variable NAME), else None."""
    if part.startswith("${envvar:") and part.endswith("}") and len(part) > len("${envvar:}"):
        return part[len("${envvar:") : -1]
    return None


def nest(flat: Mapping[tuple[str, ...], Any]) -> dict[str, Any]:
    """A point (path -> value) as the nested config a run sees."""
    out: dict[str, Any] = {}
    for path, value in flat.items():
        node = out
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return out


def flatten(config: Mapping[str, Any], params: list[Param]) -> dict[tuple[str, ...], Any]:
    """The values of ``params`` in a nested config (the inverse of ``nest``); absent ones are left out."""
    out = {}
    for p in params:
        node: Any = config
        for part in p.path:
            if not isinstance(node, Mapping) or part not in node:
                break
            node = node[part]
        else:
            out[p.path] = node
    return out


def point_key(flat: Mapping[tuple[str, ...], Any]) -> str:
    """One string per point, the same in every process: how a grid point is recognised as taken."""
    return json.dumps(sorted((list(k), v) for k, v in flat.items()), sort_keys=True, separators=(",", ":"))
