"""``tracklet login URL``: store an API key for a server and make it the default (remote mode)."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_parser"]


def add_parser(sub: Any) -> None:
    p = sub.add_parser("login", help="store an API key for a tracklet server and log to it by default")
    p.add_argument("url", metavar="URL", help="the server, e.g. http://server:8080")
    p.add_argument("--key", help="the API key (default: asked for without echo; a key on the command line stays in the shell's history)")
    p.add_argument("--no-verify", action="store_true", help="store the key without asking the server first")
    p.set_defaults(func=cmd_login)


def cmd_login(args: argparse.Namespace) -> int:
    from ..remote._credentials import normalize_url
    from ..remote._login import login

    url = normalize_url(args.url)
    key = args.key
    if key is None:
        import getpass

        key = getpass.getpass(f"API key for {url} (empty for a server without auth): ").strip()
    path = login(url, key, verify=not args.no_verify)
    print(f"logged in to {url}; the key is in {path}. Runs now log there by default (mode='local' keeps them here).")
    return 0
