"""``tracklet artifact put|get|ls|lineage|cache``."""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

from .._errors import UsageError

__all__ = ["add_parser"]


def add_parser(sub: Any) -> None:
    p = sub.add_parser("artifact", help="store, fetch, list and trace artifacts")
    asub = p.add_subparsers(dest="artifact_command", metavar="ACTION", required=True)

    put = asub.add_parser("put", help="log a file or folder as a new artifact version")
    put.add_argument("path")
    put.add_argument("--name", "-n", help="artifact name (default: the file or folder name)")
    put.add_argument("--type", "-t", default="dataset", help="artifact type (default: dataset)")
    put.add_argument("--alias", "-a", action="append", default=[], help="alias for this version (repeatable)")
    put.add_argument("--outside-links", choices=["refuse", "follow", "skip"], default="refuse",
                     help="symbolic links in the folder that lead outside it: refuse (default), follow, or skip them")
    put.add_argument("--project", "-p", help="project (default: TRACKLET_PROJECT or 'uncategorized')")
    put.add_argument("--description", "-d")
    put.add_argument("--metadata", help="JSON object of metadata")
    put.add_argument("--dir", help="the store folder (default: TRACKLET_DIR or ./tracklet-runs)")
    put.set_defaults(func=cmd_put)

    get = asub.add_parser("get", help="download an artifact version")
    get.add_argument("artifact", help="project/name:alias, project/name:v3, or registry/model:alias")
    get.add_argument("--root", help="where to put the files (default ./artifacts/NAME-vN)")
    get.add_argument("--references", nargs="?", const="all", metavar="SCHEMES",
                     help="also fetch references (recorded, not copied): all, or schemes such as s3,https,file")
    get.add_argument("--allow-root", action="append", default=None, metavar="DIR",
                     help="a folder file:// references may be read from (repeatable; default TRACKLET_REFERENCE_ROOTS)")
    get.add_argument("--overwrite", action="store_true", help="replace files in ROOT that differ from the artifact's")
    get.add_argument("--dir", help="the store folder (default: TRACKLET_DIR or ./tracklet-runs)")
    get.set_defaults(func=cmd_get)

    ls = asub.add_parser("ls", help="list artifacts, or the versions of one")
    ls.add_argument("name", nargs="?", help="project/name to list its versions")
    ls.add_argument("--project", "-p")
    ls.add_argument("--type", "-t")
    ls.add_argument("--dir", help="the store folder (default: TRACKLET_DIR or ./tracklet-runs)")
    ls.set_defaults(func=cmd_ls)

    lin = asub.add_parser("lineage", help="which runs, data and config made a version, and what it fed")
    lin.add_argument("artifact", help="project/name:vN or :alias")
    lin.add_argument("--dir", help="the store folder (default: TRACKLET_DIR or ./tracklet-runs)")
    lin.set_defaults(func=cmd_lineage)

    cache = asub.add_parser("cache", help="the local download cache: its size, or prune it")
    cache.add_argument("action", choices=["size", "prune"])
    cache.add_argument("--max-size", help="prune down to this size, e.g. 5GB (default: the cache limit)")
    cache.add_argument("--dir", help="the store folder (default: TRACKLET_DIR or ./tracklet-runs)")
    cache.set_defaults(func=cmd_cache)


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def cmd_put(args: argparse.Namespace) -> int:
    import tracklet

    if not os.path.exists(args.path):
        raise UsageError(f"no such file or folder: {args.path}")
    metadata = json.loads(args.metadata) if args.metadata else None
    name = args.name or os.path.basename(os.path.abspath(args.path))
    art = tracklet.Artifact(name, args.type, description=args.description, metadata=metadata)
    art.add_dir(args.path, outside_links=args.outside_links) if os.path.isdir(args.path) else art.add_file(args.path)
    run = tracklet.init(project=args.project, dir=args.dir, job_type="artifact-put", console="off", silent=True)
    try:
        run.log_artifact(art, aliases=args.alias)
        art.wait()
    finally:
        run.finish(quiet=True)
    print(f"{art.qualified_name}  ({len(art.files())} files, {_size(art.size)}; aliases: {', '.join(art.aliases)})")
    return 0


def cmd_get(args: argparse.Namespace) -> int:
    import tracklet

    art = tracklet.Api(dir=args.dir).artifact(args.artifact)
    start = time.monotonic()
    references = True if args.references == "all" else args.references.split(",") if args.references else False
    root = art.download(args.root, overwrite=args.overwrite, references=references, allow_roots=args.allow_root)
    print(f"{art.qualified_name} -> {root} ({len(art.files())} files, {_size(art.size)}, {time.monotonic() - start:.2f}s)")
    return 0


def cmd_ls(args: argparse.Namespace) -> int:
    import tracklet

    from ._runs import format_table

    api = tracklet.Api(dir=args.dir)
    if args.name:
        name = args.name if "/" in args.name or not args.project else f"{args.project}/{args.name}"
        versions = api.artifact_versions(name, type=args.type)
        rows = [[a.version or "", ", ".join(a.aliases), a.type, str(len(a.files())), _size(a.size), (a.digest or "")[:12],
                 time.strftime("%Y-%m-%d %H:%M", time.localtime(a.created_at or 0))] for a in versions]
        print(format_table(["VERSION", "ALIASES", "TYPE", "FILES", "SIZE", "DIGEST", "CREATED"], rows) if rows else "no versions")
        return 0
    cols = api.artifact_collections(args.project, args.type)
    rows = [[c["project"], c["name"], c["type"], str(c["versions"]), _size(c["size"] or 0)] for c in cols]
    print(format_table(["PROJECT", "NAME", "TYPE", "VERSIONS", "SIZE"], rows) if rows else "no artifacts")
    return 0


def _describe_run(run: Any) -> str:
    config = ", ".join(f"{k}={v}" for k, v in list(run.config.items())[:6])
    return f"run {run.name} ({run.id}, {run.state})" + (f" config: {config}" if config else "")


def cmd_lineage(args: argparse.Namespace) -> int:
    import tracklet

    art = tracklet.Api(dir=args.dir).artifact(args.artifact)
    print(f"{art.qualified_name}  type {art.type}, {len(art.files())} files, {_size(art.size)}")
    maker = art.logged_by()
    if maker is None:
        print("  made by: no recorded run")
    else:
        print(f"  made by: {_describe_run(maker)}")
        for inp in maker.used_artifacts():
            print(f"    from: {inp.qualified_name} ({inp.type})")
    users = art.used_by()
    print(f"  used by {len(users)} run(s)" + (":" if users else ""))
    for run in users:
        print(f"    {_describe_run(run)}")
        for out in run.logged_artifacts():
            print(f"      made: {out.qualified_name} ({out.type})")
    return 0


def cmd_cache(args: argparse.Namespace) -> int:
    from ..artifacts.storage import BlobCache
    from .._settings import resolve_settings

    cache = BlobCache(os.path.join(resolve_settings({"dir": args.dir}).dir, "cache", "blobs"))
    if args.action == "size":
        print(f"{cache.directory}: {_size(cache.size())} (limit {_size(cache.max_bytes)}, TRACKLET_CACHE_SIZE)")
        return 0
    from ..artifacts.storage import parse_size

    target = parse_size(args.max_size) if args.max_size else cache.max_bytes
    freed = cache.prune(target)
    print(f"pruned {_size(freed)}; {cache.directory} now holds {_size(cache.size())}")
    return 0
