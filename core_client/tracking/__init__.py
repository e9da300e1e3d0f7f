"""The tracking room: ``init``, ``Run``, config, summary, console, system metrics, and the sink that writes the run's log."""
