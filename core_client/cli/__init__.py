"""The ``tracklet`` command: ``runs``, ``show``, ``sync``, ``export``, ``table``, ``doctor``, ``artifact``, ``login``, ``server``,
``calls``, ``trace``, ``sweep``, ``agent``."""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from .._errors import TrackletError

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    from . import _artifact, _calls, _doctor, _export, _login, _runs, _server, _sweep, _sync, _table

    p = argparse.ArgumentParser(prog="tracklet", description="Local-first experiment tracking.")
    p.add_argument("--version", action="store_true", help="print the version and exit")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    _runs.add_parsers(sub)
    _sync.add_parser(sub)
    _export.add_parser(sub)
    _table.add_parser(sub)
    _doctor.add_parser(sub)
    _artifact.add_parser(sub)
    _login.add_parser(sub)
    _server.add_parser(sub)
    _calls.add_parsers(sub)
    _sweep.add_parsers(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 ok, 1 error, 2 bad usage)."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.version:
        from .. import __version__

        print(f"tracklet {__version__}")
        return 0
    if not args.command:
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except TrackletError as e:
        print(f"tracklet {args.command}: {e}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # before Exception, which it is: `tracklet table ... | head` ends quietly
        return 0
    except Exception as e:
        from ..store.sql import damaged, is_damage

        if not is_damage(e):
            raise
        from .._settings import resolve_settings

        print(f"tracklet {args.command}: {damaged(resolve_settings({'dir': getattr(args, 'dir', None)}).dir, e)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"tracklet {args.command}: interrupted", file=sys.stderr)
        return 130
