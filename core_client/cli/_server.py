"""``tracklet server``: serve a store over HTTP; ``tracklet server key create|list|revoke``; ``tracklet ui``.

A folder store by default (``--dir``: SQLite, run logs and blobs in the folder). A team's server:
``--db postgresql://...`` (the store, which holds every run, key and artifact record) with
``--blobs s3://bucket/prefix`` (artifact files and media); such a process keeps nothing on its own
disk, so any number of them on one database and one bucket serve as one. ``--migrate`` creates or
upgrades the database's schema and exits: a server never migrates PostgreSQL by itself.

The server is an optional extra: its modules (``tracklet.server``, Starlette, uvicorn) are imported
inside the command, the one place ``core_client`` reaches the server package.
"""

from __future__ import annotations

import argparse
import ipaddress
import sys
from typing import Any

from .._errors import UsageError

__all__ = ["add_parser"]

_INSTALL = 'pip install "tracklet[server]"'


def add_parser(sub: Any) -> None:
    p = sub.add_parser("server", help="serve a store over HTTP (the API under /api/v1); `server key ...` manages API keys")
    p.add_argument("--dir", help="the store folder (default: TRACKLET_DIR, else ./tracklet-runs)")
    p.add_argument("--db", metavar="URL",
                   help="serve the store in this database instead of a folder: postgresql://user@host/db (a team server; "
                        "several processes on one database and one --blobs act as one)")
    p.add_argument("--blobs", metavar="URL",
                   help="where artifact files and media go: s3://bucket/prefix or any fsspec URL or folder (default: the "
                        "store folder's blobs; none with --db). Storage options as JSON in TRACKLET_BLOB_OPTIONS, "
                        "e.g. {\"endpoint_url\": \"http://minio:9000\"}")
    p.add_argument("--migrate", action="store_true",
                   help="create or upgrade the store's schema (--db) and exit; a server never migrates PostgreSQL by itself")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    p.add_argument("--insecure", action="store_true",
                   help="serve without API keys on a non-loopback address: anyone who reaches it may read and write")
    p.add_argument("--max-body", type=_size, default=64 << 20, metavar="BYTES",
                   help="largest request body accepted, e.g. 64MiB (default); larger ones get 413")
    p.set_defaults(func=cmd_server, browser=False)
    u = sub.add_parser("ui", help="the web dashboard over the local store, on 127.0.0.1 (opens the browser)")
    u.add_argument("--dir", help="the store folder (default: TRACKLET_DIR, else ./tracklet-runs)")
    u.add_argument("--port", type=int, default=None, help="port (default 8080, or a free one when 8080 is taken)")
    u.add_argument("--no-browser", dest="browser", action="store_false", help="print the URL, do not open a browser")
    u.set_defaults(func=cmd_server, browser=True, db=None, blobs=None, migrate=False, host="127.0.0.1", insecure=False,
                   max_body=64 << 20)
    keys = p.add_subparsers(dest="server_command", metavar="key")
    k = keys.add_parser("key", help="API keys: create, list, revoke")
    ks = k.add_subparsers(dest="key_command", metavar="ACTION", required=True)
    c = ks.add_parser("create", help="make a key (shown once) for a user, with read or write access to projects")
    c.add_argument("--user", required=True, help="who the key belongs to (created if new)")
    c.add_argument("--project", action="append", default=[],
                   help="a project the key may use ('project', 'entity/project'; '*' for every one); repeat for more. Default: '*'")
    c.add_argument("--access", action="append", default=[], choices=("read", "write"),
                   help="read or write (which includes read), one per --project or one for all (default read)")
    c.add_argument("--dir", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    c.add_argument("--db", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    c.set_defaults(func=cmd_key_create)
    ls = ks.add_parser("list", help="the live keys: id, user, access (never the keys themselves)")
    ls.add_argument("--dir", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    ls.add_argument("--db", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    ls.set_defaults(func=cmd_key_list)
    r = ks.add_parser("revoke", help="revoke a key by its id (see list)")
    r.add_argument("key_id")
    r.add_argument("--dir", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    r.add_argument("--db", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    r.set_defaults(func=cmd_key_revoke)


def _size(text: str) -> int:
    units = {"": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10, "m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20,
             "g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30}
    t = text.strip().lower()
    num = t.rstrip("abgikm")
    try:
        n = int(float(num) * units[t[len(num):]])
    except (ValueError, KeyError):
        raise argparse.ArgumentTypeError(f"{text!r} is not a size (e.g. 1048576, 64MiB, 1G)") from None
    if n <= 0:
        raise argparse.ArgumentTypeError("the size must be positive")
    return n


def _root(args: argparse.Namespace) -> str:
    from .._settings import resolve_settings

    return resolve_settings({"dir": args.dir}).dir


def _keys(args: argparse.Namespace, engine: Any = None) -> Any:
    """The keys of the store served: in the database of ``--db`` (every replica reads them there), else in the folder's."""
    from ..store.sql import KeyStore, make_engine, make_store_dir, open_local

    if engine is not None:
        return KeyStore(engine)
    if getattr(args, "db", None):
        return KeyStore(make_engine(args.db))
    root = _root(args)
    make_store_dir(root)
    return KeyStore(open_local(root))


def _blob_store(url: str | None, root: str | None) -> Any:
    """The blob store ``--blobs`` names (storage options from ``TRACKLET_BLOB_OPTIONS``), else the folder's own.

    A store on a database with no ``--blobs`` has none (None). Caches of a remote blob store go to a
    temporary folder removed at exit: a replica keeps nothing on its disk.
    """
    import json
    import os

    from ..artifacts.storage import open_blob_store

    if url is None and root is None:
        return None
    options = os.environ.get("TRACKLET_BLOB_OPTIONS")
    try:
        kwargs = json.loads(options) if options else {}
    except ValueError:
        raise UsageError(f"TRACKLET_BLOB_OPTIONS must be a JSON object of storage options; got {options!r}") from None
    if not isinstance(kwargs, dict):
        raise UsageError(f"TRACKLET_BLOB_OPTIONS must be a JSON object of storage options; got {options!r}")
    if root is None:
        import atexit
        import shutil
        import tempfile

        root = tempfile.mkdtemp(prefix="tracklet-server-")
        atexit.register(shutil.rmtree, root, True)
    return open_blob_store(url, root=root, **kwargs)


def _migrate(args: argparse.Namespace) -> int:
    from ..store.sql import migrate, migration_summary

    if not args.db:
        raise UsageError("--migrate upgrades a database named by --db; a folder store (--dir) is upgraded when it is opened")
    print(migration_summary(args.db, migrate(args.db)), flush=True)
    return 0


def cmd_key_create(args: argparse.Namespace) -> int:
    projects = args.project or ["*"]
    access = args.access or ["read"]
    if len(access) == 1:
        access = access * len(projects)
    if len(access) != len(projects):
        raise UsageError("give one --access for all projects, or one per --project")
    made = _keys(args).create(args.user, list(zip(projects, access)))
    grants = ", ".join(f"{p}: {a}" for p, a in made["grants"].items())
    print(f"API key {made['key_id']} for {made['user']} ({grants}):")
    print(f"  {made['key']}")
    print("It is shown this once (the server keeps only its hash). On a client: tracklet login URL --key <key>, "
          "or TRACKLET_API_KEY=<key>.")
    return 0


def cmd_key_list(args: argparse.Namespace) -> int:
    import time

    found = _keys(args).list()
    if not found:
        print("no API keys: the server is open on loopback and refuses other addresses (see --insecure)")
    for k in found:
        made = time.strftime("%Y-%m-%d %H:%M", time.localtime(k["created_at"]))
        grants = ", ".join(f"{p}: {a}" for p, a in k["grants"].items())
        print(f"{k['key_id']}  {k['user']:<16} {made}  {grants}")
    return 0


def cmd_key_revoke(args: argparse.Namespace) -> int:
    _keys(args).revoke(args.key_id)
    print(f"revoked key {args.key_id.split('_')[1] if args.key_id.startswith('tkl_') else args.key_id}")
    return 0


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def cmd_server(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from tracklet.server import create_app
        from tracklet.server.auth import KeyAuth
    except ImportError as e:
        raise UsageError(f"the server needs its extra ({e.name} is missing): {_INSTALL}") from None
    from ..store.sql import SqlStore, make_store_dir

    if args.migrate:
        return _migrate(args)
    if args.db:
        if args.dir:
            raise UsageError("serve a folder (--dir) or a database (--db), not both")
        blobs = _blob_store(args.blobs, None)
        store = SqlStore(url=args.db, blobs=blobs)
        served = store.location
        keys = _keys(args, store.engine())  # refuses a database without this tracklet's schema (--migrate)
        if blobs is None:
            print("WARNING: no --blobs: this server stores no artifact files or media (give it s3://bucket/prefix)",
                  file=sys.stderr, flush=True)
    else:
        root = _root(args)
        make_store_dir(root)
        blobs = _blob_store(args.blobs, root)
        store = SqlStore(root, blobs=blobs if args.blobs else None)
        served = root
        keys = _keys(args)
    host = args.host
    if args.insecure:
        auth = None
        if not _is_loopback(host):
            print(f"WARNING: tracklet server is listening on {host} WITHOUT AUTHENTICATION (--insecure): anyone who "
                  "can reach this port can read and change every run. Create keys (tracklet server key create) and "
                  "drop --insecure.", file=sys.stderr, flush=True)
    elif keys.count():
        auth = KeyAuth(keys)
    elif _is_loopback(host):
        auth = None
    else:
        raise UsageError(
            f"refusing to listen on {host} without API keys. Create one: tracklet server key create --user NAME "
            "--project '*' --access write (then clients send it), or listen on 127.0.0.1, or pass --insecure"
        )
    app = create_app(store, auth=auth, blobs=blobs, max_body=args.max_body)
    port = args.port if args.port is not None else _free_port(host, 8080)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else shown}:{port}/"
    print(f"tracklet server: serving {served} at http://{shown}:{port} "
          f"({'API keys required' if auth else 'open: no API keys'}); Ctrl-C stops it", flush=True)
    print(f"dashboard: {url}", flush=True)
    if args.browser:
        _open_when_up(host, port, url)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, server_header=False)
    return 0


def _free_port(host: str, preferred: int) -> int:
    """``preferred`` when nothing listens there, else a free port the system picks."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for port in (preferred, 0):
        with socket.socket(family) as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
            return s.getsockname()[1]
    return preferred


def _open_when_up(host: str, port: int, url: str) -> None:
    """Open ``url`` in the user's browser once the server accepts connections (a thread: serving starts at once)."""
    import socket
    import threading
    import time
    import webbrowser

    def wait_and_open() -> None:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1" if host in ("0.0.0.0", "::") else host, port), timeout=0.2).close()
            except OSError:
                time.sleep(0.05)
                continue
            webbrowser.open(url)
            return

    threading.Thread(target=wait_and_open, name="tracklet-open-browser", daemon=True).start()
