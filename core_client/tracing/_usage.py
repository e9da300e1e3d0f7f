"""Token usage per model and its cost, from a price table users extend with ``set_price``.

Usage is ``{model: {"prompt_tokens", "completion_tokens", "total_tokens", "requests"}}``; a call's
usage is its own requests plus every child's, so a trace's root holds the whole trace's usage.
Prices are US dollars per million tokens (input, output), as the providers published them; a model
that is not in the table costs nothing (cost ``None`` when no model of a call has a price).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["PRICES", "add_usage", "cost_of", "merge_usage", "set_price"]

#: model -> (input $/1M tokens, output $/1M tokens). A model's dated name (``gpt-4o-mini-2024-07-18``)
#: is priced as its longest listed prefix.
PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4-turbo": (10.00, 30.00),
    "gpt-3.5-turbo": (0.50, 1.50),
    "o1": (15.00, 60.00),
    "o1-mini": (1.10, 4.40),
    "o3": (2.00, 8.00),
    "o3-mini": (1.10, 4.40),
    "o4-mini": (1.10, 4.40),
    "text-embedding-3-small": (0.02, 0.0),
    "text-embedding-3-large": (0.13, 0.0),
    "claude-3-5-sonnet": (3.00, 15.00),
    "claude-3-5-haiku": (0.80, 4.00),
    "claude-3-7-sonnet": (3.00, 15.00),
    "claude-3-haiku": (0.25, 1.25),
    "claude-3-opus": (15.00, 75.00),
    "claude-sonnet-4": (3.00, 15.00),
    "claude-opus-4": (15.00, 75.00),
}
_FIELDS = ("prompt_tokens", "completion_tokens", "total_tokens", "requests")


def set_price(model: str, input: float, output: float) -> None:
    """Price ``model`` at ``input`` and ``output`` US dollars per million tokens (adds or replaces).

    >>> tracklet.set_price("my-finetune", input=0.3, output=1.2)
    """
    if not isinstance(model, str) or not model:
        raise TypeError(f"set_price() needs a model name, got {model!r}")
    for name, value in (("input", input), ("output", output)):
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
            raise ValueError(f"set_price({model!r}): {name} must be dollars per million tokens (a number >= 0), got {value!r}")
    PRICES[model] = (float(input), float(output))


def _price(model: str) -> tuple[float, float] | None:
    best = None
    for name, price in PRICES.items():
        if model == name:
            return price
        if model.startswith(name + "-") and (best is None or len(name) > len(best[0])):
            best = (name, price)
    return best[1] if best else None


def add_usage(usage: dict[str, dict[str, int]], model: str, prompt: int, completion: int, total: int | None = None, requests: int = 1) -> None:
    """Count one response's tokens in ``usage``."""
    u = usage.get(model)
    if u is None:
        u = usage[model] = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0, "requests": 0}
    u["prompt_tokens"] += int(prompt or 0)
    u["completion_tokens"] += int(completion or 0)
    u["total_tokens"] += int(total if total is not None else (prompt or 0) + (completion or 0))
    u["requests"] += requests


def merge_usage(into: dict[str, dict[str, int]], usage: dict[str, dict[str, int]]) -> None:
    """Add a child's usage to its parent's."""
    for model, u in usage.items():
        add_usage(into, model, u.get("prompt_tokens", 0), u.get("completion_tokens", 0), u.get("total_tokens", 0), u.get("requests", 0))


def cost_of(usage: dict[str, Any]) -> float | None:
    """US dollars of ``usage`` by the price table; None when none of its models has a price."""
    total, priced = 0.0, False
    for model, u in usage.items():
        p = _price(model)
        if p is not None:
            priced = True
            total += (u.get("prompt_tokens", 0) * p[0] + u.get("completion_tokens", 0) * p[1]) / 1e6
    return total if priced else None
