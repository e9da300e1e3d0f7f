#!/usr/bin/env python3
"""Rich values in ``log()`` against issue 14's targets: a 100,000-row table, and an image per step.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/media_tables.py     # tracklet
    OMP_NUM_THREADS=1 benchmarks/.venv-compare/bin/python benchmarks/media_tables.py --tool wandb    # wandb's Table and Image, offline
    OMP_NUM_THREADS=1 benchmarks/.venv-compare/bin/python benchmarks/media_tables.py --tool trackio  # Trackio's Table and Image

Table: 100,000 rows x 6 columns (3 of strings, 3 of floats) from a DataFrame. Timed, best of
``--repeats`` (each repeat a new run and slightly different data, so nothing is deduplicated):
``log()`` until it returns; stored, from the ``log()`` call until the value is in the store (for
tracklet: its blob written and its MEDIA record in the run's log); the table read back as a
DataFrame from the store (``Api().run(..).table(..).get_dataframe()``, after the store has caught
up); and the stored size against the same DataFrame written as Parquet by pyarrow
(``pq.write_table(pa.Table.from_pandas(df, preserve_index=False))``, its defaults).

Images (each tool): a loop of ``--steps`` steps, each doing a fixed amount of numpy work
(``--work`` matrix products of 128x128, about 0.09 ms each here) and making a new 64x64 RGB
array; one loop logs nothing, one logs the array as the tool's ``Image`` every step (tracklet
also a third: ``in_process``, the PNGs made on its uploads thread instead of by the store). Wall
time of the loop, of ``finish()`` after it, and (tracklet) until every image is readable from
the store (``Api().run(..).media(..)``: the worker, or this reader, has made every PNG). The
loops rotate over the repeats (which goes first rotates too); best of each. CPU: the process's
(every thread, up to the end of ``finish()``), its children's that ended meanwhile, and the
store's ingest worker's (read from ``/proc``, up to every image readable).

tracklet's ``sibling`` mode is a control: the loop logging nothing while a plain process spins
(no memory, no disk) for as much CPU, over the loop's time, as the ingest worker used in the last
``images`` loop. On a machine whose cores are not independent (this 2-vCPU VM) it shows what
that much work beside the loop costs the loop, whoever does it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import warnings

ROWS = 100_000


def frame(seed: int):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    words = np.array(["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"])
    return pd.DataFrame({
        "prompt": [f"question {i}: what is {w}?" for i, w in enumerate(rng.choice(words, ROWS))],
        "completion": [f"the answer is {w} {i % 97}" for i, w in enumerate(rng.choice(words, ROWS))],
        "label": rng.choice(words, ROWS),
        "score": rng.random(ROWS),
        "loss": rng.normal(size=ROWS),
        "latency": rng.exponential(0.2, ROWS),
    })


def parquet_size(df) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), sink)
    return len(sink.getvalue())


def bench_tracklet_table(repeats: int) -> dict:
    import tracklet

    out = {"construct_s": [], "log_s": [], "stored_s": [], "read_s": [], "size": None, "parquet_size": None}
    for r in range(repeats):
        df = frame(r)
        root = tempfile.mkdtemp(prefix="media-bench-")
        try:
            run = tracklet.init(project="bench", dir=root, silent=True, console="off")
            run.log({"loss": 0.0})  # as a training script has: the uploads thread and the worker are not what is timed
            t0 = time.perf_counter()
            table = tracklet.Table(dataframe=df)
            t1 = time.perf_counter()
            run.log({"eval/predictions": table})
            t2 = time.perf_counter()
            run._uploads.drain()  # the blob is stored and the MEDIA record written
            t3 = time.perf_counter()
            run.finish()
            api = tracklet.Api(dir=root)
            stored = api.run(run.id)
            (entry,) = stored.media("eval/predictions")  # the store has caught up
            t4 = time.perf_counter()
            back = stored.table("eval/predictions").get_dataframe()
            t5 = time.perf_counter()
            assert len(back) == ROWS and list(back.columns) == list(df.columns)
            out["construct_s"].append(t1 - t0)
            out["log_s"].append(t2 - t1)
            out["stored_s"].append(t3 - t1)
            out["read_s"].append(t5 - t4)
            out["size"], out["parquet_size"] = entry["size"], parquet_size(df)
        finally:
            shutil.rmtree(root, ignore_errors=True)
    return out


def bench_wandb_table(repeats: int) -> dict:
    import wandb

    out = {"construct_s": [], "log_s": [], "stored_s": [], "read_s": [], "size": None, "parquet_size": None}
    for r in range(repeats):
        df = frame(r)
        root = tempfile.mkdtemp(prefix="media-bench-wandb-")
        try:
            run = wandb.init(project="bench", dir=root, mode="offline", settings=wandb.Settings(silent=True, console="off"))
            t0 = time.perf_counter()
            table = wandb.Table(dataframe=df)
            t1 = time.perf_counter()
            run.log({"eval/predictions": table})
            t2 = time.perf_counter()
            run.finish()  # offline: the table file is written by log(); finish() waits for the run's records
            t3 = time.perf_counter()
            files = [os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs if f.endswith(".table.json")]
            t4 = time.perf_counter()
            with open(files[0]) as f:
                doc = json.load(f)
            import pandas as pd

            back = pd.DataFrame(doc["data"], columns=doc["columns"])  # wandb's offline read back: no Api without a server
            t5 = time.perf_counter()
            out["rows_stored"] = len(back)  # wandb keeps at most 10,000 rows of a table logged to the history
            out["construct_s"].append(t1 - t0)
            out["log_s"].append(t2 - t1)
            out["stored_s"].append(t3 - t1)
            out["read_s"].append(t5 - t4)
            out["size"], out["parquet_size"] = os.path.getsize(files[0]), parquet_size(df)
        finally:
            shutil.rmtree(root, ignore_errors=True)
    return out


def bench_trackio_table(repeats: int) -> dict:
    out = {"construct_s": [], "log_s": [], "stored_s": [], "read_s": [], "size": None, "parquet_size": None}
    for r in range(repeats):
        df = frame(r)
        root = tempfile.mkdtemp(prefix="media-bench-trackio-")
        os.environ["TRACKIO_DIR"] = root
        try:
            import trackio

            trackio.init(project=f"bench-{r}")
            t0 = time.perf_counter()
            table = trackio.Table(dataframe=df)
            t1 = time.perf_counter()
            trackio.log({"eval/predictions": table})
            t2 = time.perf_counter()
            trackio.finish()
            t3 = time.perf_counter()
            out["construct_s"].append(t1 - t0)
            out["log_s"].append(t2 - t1)
            out["stored_s"].append(t3 - t1)
            out["size"] = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(root) for f in fs)
            out["parquet_size"] = parquet_size(df)
        finally:
            shutil.rmtree(root, ignore_errors=True)
    return out


def _image_loop(steps: int, work: int, log_image) -> float:
    """The image loop's wall time: ``work`` products of 128x128 and a new 64x64 RGB array a step, ``log_image(step, pixels)``."""
    import numpy as np

    a = np.random.default_rng(0).random((128, 128))
    base = np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    t0 = time.perf_counter()
    for step in range(steps):
        for _ in range(work):
            a = a @ a
            a /= np.abs(a).max()
        pixels = base ^ np.uint8(step & 255)
        pixels[0, 0, 0] = step >> 8  # a new image every step: nothing deduplicated
        if log_image is not None:
            log_image(step, pixels)
    return time.perf_counter() - t0


def _children_cpu() -> float:
    import resource

    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _worker_cpu() -> dict[int, float]:
    """CPU seconds of each ingest worker this process started and has not reaped, by pid (``/proc``; none elsewhere).
    A worker reaped meanwhile is counted in ``_children_cpu``."""
    try:
        from tracklet.store.sql._spawn import _spawned
    except ImportError:
        return {}
    out = {}
    for pid in list(_spawned):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            out[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
        except (OSError, ValueError, IndexError):
            pass
    return out


def _worker_cpu_since(before: dict[int, float]) -> float:
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in _worker_cpu().items())


_BURN = """
import sys, time
duty = float(sys.argv[1])
while True:
    end = time.perf_counter() + duty * 1e-3
    while time.perf_counter() < end:
        pass
    time.sleep((1 - duty) * 1e-3)
"""


def _burner(duty: float):
    """A process that spins ``duty`` of each millisecond, touching no memory or disk, until killed."""
    import subprocess

    return subprocess.Popen([sys.executable, "-c", _BURN, repr(duty)])


def bench_images(tool: str, steps: int, work: int, repeats: int) -> dict:
    """The image loop logging nothing, then an image a step, alternating over the repeats (which goes first too).

    tracklet's modes: ``images`` (as shipped: pixels in the run's log, PNGs made by the store's worker),
    ``in_process`` (``media._log.RAW_IMAGES = False``: encoded on the run's uploads thread), and ``sibling``.
    """
    modes = ["nothing", "images"] + (["in_process", "sibling"] if tool == "tracklet" else [])
    out: dict = {f"{m}_{k}": [] for m in modes for k in ("s", "finish_s", "cpu_s", "child_cpu_s", "worker_cpu_s")}
    side_duty = None  # the last images loop's child + worker CPU over its time: what the sibling spins
    for r in range(repeats):
        order = modes[r % len(modes):] + modes[: r % len(modes)]
        for mode in order:
            if mode == "sibling" and side_duty is None:
                order.append(mode)  # after this repeat's images loop
                continue
            root = tempfile.mkdtemp(prefix=f"media-bench-img-{tool}-")
            try:
                run, log_image, finish = _image_run(tool, root, mode)
                burner = _burner(side_duty) if mode == "sibling" else None
                c0, k0, w0 = time.process_time(), _children_cpu(), _worker_cpu()
                loop = _image_loop(steps, work, None if mode in ("nothing", "sibling") else log_image)
                if burner is not None:
                    burner.kill()
                    burner.wait()
                t1 = time.perf_counter()
                finish()  # waits for every image to be stored (tracklet: and ends its child)
                fin = time.perf_counter() - t1
                cpu = time.process_time() - c0
                if mode in ("images", "in_process") and tool == "tracklet":
                    import tracklet

                    assert len(tracklet.Api(dir=root).run(run.id).media("sample")) == steps  # every image stored
                    out.setdefault(f"{mode}_stored_s", []).append(time.perf_counter() - t1)
                out[f"{mode}_s"].append(loop)
                out[f"{mode}_finish_s"].append(fin)
                out[f"{mode}_cpu_s"].append(cpu)
                out[f"{mode}_child_cpu_s"].append(_children_cpu() - k0)
                out[f"{mode}_worker_cpu_s"].append(_worker_cpu_since(w0))
                if mode == "images" and tool == "tracklet":
                    side = out["images_child_cpu_s"][-1] + out["images_worker_cpu_s"][-1]
                    side_duty = min(1.0, side / (loop + out["images_stored_s"][-1]))
            finally:
                shutil.rmtree(root, ignore_errors=True)
    return out


def _image_run(tool: str, root: str, mode: str):
    """A new run of ``tool`` in ``root``: (run, log_image(step, pixels), finish())."""
    if tool == "tracklet":
        import tracklet
        from tracklet.media import _log

        _log.RAW_IMAGES = mode != "in_process"
        run = tracklet.init(project="bench", dir=root, silent=True, console="off")
        run.log({"loss": 0.0})  # as a training script has: the worker is not what is timed
        return run, lambda step, pixels: run.log({"sample": tracklet.Image(pixels)}), run.finish
    if tool == "wandb":
        import wandb

        run = wandb.init(project="bench", dir=root, mode="offline", settings=wandb.Settings(silent=True, console="off"))
        run.log({"loss": 0.0})
        return run, lambda step, pixels: run.log({"sample": wandb.Image(pixels)}), run.finish
    os.environ["TRACKIO_DIR"] = root
    import trackio

    trackio.init(project=f"bench-{os.path.basename(root)}")
    trackio.log({"loss": 0.0})
    return None, lambda step, pixels: trackio.log({"sample": trackio.Image(pixels)}), trackio.finish


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tool", choices=["tracklet", "wandb", "trackio"], default="tracklet")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--steps", type=int, default=10_000)
    p.add_argument("--work", type=int, default=3, help="128x128 matrix products per step of the image loop")
    p.add_argument("--no-images", action="store_true")
    p.add_argument("--no-table", action="store_true")
    args = p.parse_args()
    warnings.simplefilter("ignore")
    result = {"tool": args.tool, "python": sys.version.split()[0]}
    if not args.no_table:
        result["table"] = {"tracklet": bench_tracklet_table, "wandb": bench_wandb_table, "trackio": bench_trackio_table}[args.tool](args.repeats)
        _print_table(args, result["table"])
    if not args.no_images:
        result["images"] = bench_images(args.tool, args.steps, args.work, args.repeats)
        _print_images(args, result["images"])
    print(json.dumps(result))
    return 0


def _print_table(args: argparse.Namespace, t: dict) -> None:
    best = {k: min(v) for k, v in t.items() if isinstance(v, list) and v}
    print(f"{args.tool}: table of {ROWS:,} rows x 6 columns (best of {args.repeats})")
    for k, v in best.items():
        print(f"  {k:<12} {v * 1000:9.1f} ms")
    if "rows_stored" in t:
        print(f"  rows stored  {t['rows_stored']:,} of {ROWS:,}")
    if t["size"]:
        print(f"  size         {t['size']:,} bytes = {t['size'] / t['parquet_size']:.2f}x pyarrow's Parquet ({t['parquet_size']:,})")


def _print_images(args: argparse.Namespace, im: dict) -> None:
    nothing, cn = min(im["nothing_s"]), min(im["nothing_cpu_s"])
    print(f"{args.tool}: {args.steps:,} steps of {args.work} products, a new 64x64 RGB image each (best of {args.repeats})")
    print(f"  loop, logging nothing          {nothing:8.2f} s   CPU {cn:.2f} s")
    labels = {"images": "an Image a step", "in_process": "an Image a step, in process", "sibling": "nothing, a spinner beside"}
    for mode, label in labels.items():
        if not im.get(f"{mode}_s"):
            continue
        loop, fin = min(im[f"{mode}_s"]), min(im[f"{mode}_finish_s"])
        cpu, child, worker = min(im[f"{mode}_cpu_s"]), min(im[f"{mode}_child_cpu_s"]), min(im[f"{mode}_worker_cpu_s"])
        stored = f"   every image readable {min(im[f'{mode}_stored_s']):.2f} s after the loop" if im.get(f"{mode}_stored_s") else ""
        print(f"  loop, {label:<24} {loop:8.2f} s  (+{(loop / nothing - 1) * 100:.1f}%)   finish() {fin:.2f} s{stored}"
              f"   CPU {cpu:.2f} s + children {child:.2f} s + worker {worker:.2f} s")


if __name__ == "__main__":
    sys.exit(main())
