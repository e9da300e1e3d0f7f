"""Artifacts: ``tracklet.Artifact``, what happens to one once logged, and the storage engine beneath."""
