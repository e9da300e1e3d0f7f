"""The store: the interface every reader and writer goes through, and its implementations."""
