"""PEFT facts for the config: each adapter's config as JSON, and trainable / total parameter counts.

Works for ``peft.PeftModel`` wrappers and for transformers models with native adapters; neither
needs peft imported here (a model without adapters gives empty results).

Example:
    >>> from tracklet.integrations.peft import adapter_configs, parameter_counts
    >>> run.config.update({"peft_config": adapter_configs(model)})
"""

from __future__ import annotations

from typing import Any

from ._common import jsonable, parameter_counts

__all__ = ["adapter_configs", "is_peft_model", "parameter_counts"]


def is_peft_model(model: Any) -> bool:
    """True for a ``PeftModel`` and for a transformers model with an adapter loaded."""
    return bool(getattr(model, "peft_config", None))


def adapter_configs(model: Any) -> dict[str, dict[str, Any]]:
    """``{adapter_name: config}`` with sets as sorted lists and enums as their values (JSON-safe)."""
    configs = getattr(model, "peft_config", None)
    if not configs or not isinstance(configs, dict):
        return {}
    out: dict[str, dict[str, Any]] = {}
    for name, config in configs.items():
        to_dict = getattr(config, "to_dict", None)
        out[str(name)] = jsonable(to_dict() if callable(to_dict) else config)
    return out
