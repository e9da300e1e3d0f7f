"""The read API: ``tracklet.Api`` and the objects it returns, over the store interface."""
