"""The run's log: the write-ahead log's records, and its files in the store folder."""
