"""Framework integrations: each module adapts one framework's own contract to a tracklet run.

| module | use |
|---|---|
| ``tracklet.integrations.transformers`` | ``TrainingArguments(report_to="tracklet")`` or ``callbacks=[TrackletCallback()]`` |
| ``tracklet.integrations.lightning`` | ``lightning.pytorch.Trainer(logger=TrackletLogger())`` |
| ``tracklet.integrations.pytorch_lightning`` | ``pytorch_lightning.Trainer(logger=TrackletLogger())`` |
| ``tracklet.integrations.accelerate`` | ``Accelerator(log_with="tracklet")`` or ``log_with=TrackletTracker()`` |
| ``tracklet.integrations.peft`` | adapter config and parameter counts of a PEFT model |
| ``tracklet.integrations.torch`` | ``watch(model)`` / ``unwatch(model)``: gradient and parameter statistics |

Each module imports its framework; this package imports none of them.
"""

__all__: list[str] = []
