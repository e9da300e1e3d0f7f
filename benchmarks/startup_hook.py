"""What tracklet's start-up hook (``tracklet-autoload.pth``) costs every Python process in its environment.

Bare venvs of the same interpreter are made in a temp folder, identical but for the hook's
one-line .pth file in the second one's site-packages (and, for scale, a third with a .pth file
whose one line is ``import sys``: what Python spends on any .pth file) (tracklet itself need not be installed: at
start-up the line imports nothing; it only puts a finder on ``sys.meta_path``). The two are run
alternately, A B A B..., so that a busy machine slows both alike, and each figure is the median:

- **line**: running the .pth line alone (``exec`` of it, timed inside ``python -S`` processes).
- **site import**: the cumulative time of the ``site`` import in ``python -X importtime -c pass``,
  which is where Python reads the .pth files; with minus without.
- **start-up wall**: wall time of ``python -c pass`` (spawn to exit, measured by the parent); with
  minus without, as the median of the paired differences and as the difference of the medians.
- **per import**: what the finder adds to each later import (it is first on ``sys.meta_path``, so every
  import asks it first): the time of one ``find_spec`` call for a name it does not hook.

Run from the repository root (any Python with tracklet importable, e.g. the test venv)::

    .venv/bin/python benchmarks/startup_hook.py            # prints the table
    .venv/bin/python benchmarks/startup_hook.py --write    # and replaces its section of benchmarks/RESULTS.md
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT))
START, END = "<!-- startup-hook:start -->", "<!-- startup-hook:end -->"


def pth_line() -> str:
    try:
        from tracklet.integrations._startup import pth_line as line
    except ImportError:  # run from a checkout without an install: load the source file itself
        import importlib.util

        spec = importlib.util.spec_from_file_location("_startup", os.path.join(ROOT, "integrations", "_startup.py"))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        line = module.pth_line
    return line()


def make_venvs(folder: str) -> tuple[str, str, str]:
    """Three bare venvs: none has a .pth of its own; the second has the hook's; the third a .pth whose
    one line is ``import sys`` (what any .pth file costs, for scale). Returns their pythons."""
    pythons = []
    for name, line in (("without", None), ("with", pth_line()), ("plain-pth", "import sys\n")):
        path = os.path.join(folder, name)
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", path], check=True)
        pythons.append(os.path.join(path, "bin", "python"))
        if line is not None:
            purelib = subprocess.run(
                [pythons[-1], "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                capture_output=True, text=True, check=True,
            ).stdout.strip()
            with open(os.path.join(purelib, "tracklet-autoload.pth" if name == "with" else "plain.pth"), "w", encoding="utf-8") as f:
                f.write(line)
    check = subprocess.run(
        [pythons[1], "-c", "import sys; print(sum(getattr(f, '__name__', '') == 'TrackletAutoload' for f in sys.meta_path))"],
        capture_output=True, text=True, check=True,
    )
    assert check.stdout.strip() == "1", "the hook did not install its finder in the 'with' venv"
    return pythons[0], pythons[1], pythons[2]


CLEAN_ENV = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}


def line_ms(runs: int) -> list[float]:
    probe = f"import time\nline = {pth_line()!r}\nt = time.perf_counter()\nexec(line)\nprint((time.perf_counter() - t) * 1e3)"
    return [float(subprocess.run([sys.executable, "-S", "-c", probe], capture_output=True, text=True, check=True, env=CLEAN_ENV).stdout) for _ in range(runs)]


SITE = re.compile(r"import time:\s+\d+ \|\s+(\d+) \|\s*site$", re.M)


def site_us(python: str) -> float:
    err = subprocess.run([python, "-X", "importtime", "-c", "pass"], capture_output=True, text=True, check=True, env=CLEAN_ENV).stderr
    return float(SITE.search(err).group(1))


def wall_ms(python: str) -> float:
    t = time.perf_counter()
    subprocess.run([python, "-c", "pass"], check=True, env=CLEAN_ENV)
    return (time.perf_counter() - t) * 1e3


def paired(fn: Any, a: str, b: str, runs: int) -> dict[str, float]:
    """fn(a) and fn(b) alternately (which goes first alternates too); medians and the median paired difference."""
    xs, ys = [], []
    for i in range(runs):
        if i % 2:
            ys.append(fn(b))
            xs.append(fn(a))
        else:
            xs.append(fn(a))
            ys.append(fn(b))
    med = statistics.median
    return {"without": med(xs), "with": med(ys), "diff_of_medians": med(ys) - med(xs), "median_diff": med(y - x for x, y in zip(xs, ys))}


def per_import_ns(python: str) -> float:
    code = (
        "import sys, timeit\n"
        "f = next(f for f in sys.meta_path if getattr(f, '__name__', '') == 'TrackletAutoload')\n"
        "n = 200000\n"
        "print(min(timeit.repeat(lambda: f.find_spec('json.decoder', None, None), number=n, repeat=7)) / n * 1e9)"
    )
    return float(subprocess.run([python, "-c", code], capture_output=True, text=True, check=True, env=CLEAN_ENV).stdout)


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or "unknown CPU"


def report(results: dict[str, Any], args: argparse.Namespace, took: float) -> str:
    site, wall, line = results["site"], results["wall"], results["line"]
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return "\n".join(
        [
            START,
            "# Start-up hook (`tracklet-autoload.pth`)",
            "",
            "Command (run from the repository root):",
            "",
            "```",
            f"{os.path.relpath(sys.executable, ROOT) if sys.executable.startswith(ROOT) else 'python'} benchmarks/startup_hook.py"
            f" --runs {args.runs} --write",
            "```",
            "",
            f"Run {when} on `{cpu_name()}, {os.cpu_count()} cores`, Python {platform.python_version()}; took {took:.0f} s; "
            f"load average at start {load:.2f}. Bare venvs of this interpreter, identical but for the hook's .pth; "
            f"run alternately; medians of {args.runs} runs each ({args.line_runs} for the line alone).",
            "",
            "| what is measured | without the hook | with the hook | the hook's cost |",
            "|---|---|---|---|",
            f"| the .pth line alone (`exec`, inside `python -S`) | – | – | {statistics.median(line) * 1e3:.0f} µs (best {min(line) * 1e3:.0f} µs) |",
            f"| `site` import, cumulative (`python -X importtime -c pass`) | {site['without']:.0f} µs | {site['with']:.0f} µs "
            f"| {site['median_diff']:.0f} µs (paired; medians differ by {site['diff_of_medians']:.0f} µs) |",
            f"| start-up wall time (`python -c pass`, spawn to exit) | {wall['without']:.2f} ms | {wall['with']:.2f} ms "
            f"| {wall['median_diff']:.2f} ms (paired; medians differ by {wall['diff_of_medians']:.2f} ms) |",
            f"| for scale: a .pth file whose one line is `import sys`, `site` import | {results['site_plain']['without']:.0f} µs "
            f"| {results['site_plain']['with']:.0f} µs | {results['site_plain']['median_diff']:.0f} µs (paired) |",
            f"| each later import (the finder is asked first; one `find_spec` for a name it does not hook) | – | – "
            f"| {results['per_import_ns']:.0f} ns |",
            "",
            "The site import is the figure to quote: it holds what Python does with every .pth file (read, compile, run) "
            "at a real start; the line alone is timed in an interpreter that has already compiled code, so it is less "
            "than the site figure minus a plain .pth's. The wall time adds "
            "the rest of an interpreter's start and exit, and is the noisier figure on a shared machine. The per-import "
            "figure times the number of modules a script imports is the hook's share of its imports: `from transformers "
            "import Trainer` imports about 2,900 modules, so about 0.2 ms; the two hooked imports themselves then load tracklet's integration (that is the feature, "
            "not overhead).",
            END,
        ]
    ) + "\n"


def write(section: str) -> None:
    path = os.path.join(HERE, "RESULTS.md")
    text = open(path, encoding="utf-8").read() if os.path.exists(path) else ""
    if START in text and END in text:
        text = text[: text.index(START)] + section.rstrip("\n") + text[text.index(END) + len(END) :]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=400, help="interpreter starts per venv for each paired figure")
    parser.add_argument("--line-runs", type=int, default=50)
    parser.add_argument("--write", action="store_true", help="replace this benchmark's section of benchmarks/RESULTS.md")
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="tracklet-hook-") as folder:
        without, with_hook, plain = make_venvs(folder)
        for python in (without, with_hook, plain):  # first starts fill the page cache; not measured
            for _ in range(5):
                wall_ms(python)
        results = {
            "line": line_ms(args.line_runs),
            "site": paired(site_us, without, with_hook, args.runs),
            "wall": paired(wall_ms, without, with_hook, args.runs),
            "site_plain": paired(site_us, without, plain, args.runs),
            "per_import_ns": per_import_ns(with_hook),
        }
    section = report(results, args, time.perf_counter() - started)
    print(section)
    if args.write:
        write(section)


if __name__ == "__main__":
    main()
