"""Sweeps: wandb's sweep configuration language, the controller (grid, random, bayes; hyperband), agents.

``tracklet.sweep(config)`` stores a checked config as a sweep; ``tracklet.agent(sweep_id, function)``
claims trials from the store one at a time and runs them. Sweep state lives in the store (the
store interface's sweep methods), so agents in several processes, or on several machines through
a tracklet server, share one sweep.
"""

from ._agent import agent as agent
from ._sweep import sweep as sweep

__all__ = ["agent", "sweep"]
