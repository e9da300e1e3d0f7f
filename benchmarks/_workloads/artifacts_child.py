"""One artifact measurement in a fresh process, started by benchmarks/artifact_compare.py:

    python artifacts_child.py TOOL log      RESULT.json dir=STORE src=SRC
    python artifacts_child.py TOOL download RESULT.json dir=STORE root=ROOT [run_id=...]
    python artifacts_child.py tracklet hash RESULT.json list=FILE_LIST

The environment (store location, offline mode, telemetry off) is set by the caller.
The tool is imported first, untimed; the operation (see artifacts_tools.py) times
itself. Writes {"ok": true, ...} or {"ok": false, "error": ...} to RESULT.json and
nothing to stdout, so whatever a tool prints cannot be mistaken for a result.
"""

import json
import os
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
# Run as a script, sys.path[0] is _workloads/; replace it by benchmarks/ so that
# `import _workloads` works and nothing in _workloads/ can shadow a tool's module.
if sys.path and os.path.abspath(sys.path[0] or ".") == HERE:
    sys.path[0] = os.path.dirname(HERE)
else:
    sys.path.insert(0, os.path.dirname(HERE))


def _opts(argv):
    out = {}
    for a in argv:
        k, _, v = a.partition("=")
        out[k] = v
    return out


def _tree(root):
    files = size = 0
    for parent, _dirs, names in os.walk(root):
        for n in names:
            files += 1
            size += os.path.getsize(os.path.join(parent, n))
    return files, size


def main():
    tool, op, result_path = sys.argv[1:4]
    o = _opts(sys.argv[4:])
    try:
        from _workloads import artifacts_tools as at

        t = time.perf_counter()
        __import__(tool)  # untimed by the operation: import cost is measured by core_compare.py
        res = {"import_s": time.perf_counter() - t}
        if op == "log":
            res.update(at.OPS[tool][0](o["src"], o["dir"], o))
        elif op == "download":
            res.update(at.OPS[tool][1](o["dir"], o["root"], o))
            res["files"], res["bytes"] = _tree(o["root"])  # untimed check of what arrived
        elif op == "hash":
            with open(o["list"]) as f:
                paths = f.read().split("\n")
            res.update(at.hash_tracklet([p for p in paths if p]))
        else:
            raise ValueError(f"unknown operation {op!r}")
        res["ok"] = True
    except BaseException as e:  # report everything, including SystemExit from a tool
        res = {"ok": False, "error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()[-4000:]}
    with open(result_path, "w") as f:
        json.dump(res, f)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
