"""Remote mode: the HTTP client of a tracklet server.

``_credentials`` (the credentials file ``tracklet login`` writes; stdlib only, the settings resolver
reads it), ``_http`` (one ``requests`` session per server, errors sorted into transient and final),
``_uploader`` (tails a run's log and posts it), ``_sync`` (``tracklet sync --to``), ``_login``, and
``_store`` (``RemoteStore``, the store interface over HTTP). Every module but ``_credentials``
imports ``requests``: only the uploader thread, ``Api`` and the CLI load them, never ``import tracklet``.
"""
