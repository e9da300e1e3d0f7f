"""Starlette against FastAPI for the tracklet server: requests/s, import time and memory.

Each framework serves the same two routes under uvicorn in its own process: a small JSON answer
(``GET /api/v1/health``-like) and an ingest-like ``POST`` that reads a 64 KiB body and answers JSON.
A client process keeps ``CONNS`` keep-alive connections busy for ``SECONDS`` and counts answers.

    .venv/bin/python benchmarks/server_framework.py
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time

SECONDS = 3.0
CONNS = 8
BODY = os.urandom(64 << 10)

APPS = {
    "starlette": """
        from starlette.applications import Starlette
        from starlette.responses import JSONResponse
        from starlette.routing import Route

        async def health(request):
            return JSONResponse({"ok": True})

        async def ingest(request):
            body = await request.body()
            return JSONResponse({"ok": True, "offset": len(body)})

        app = Starlette(routes=[Route("/health", health), Route("/log", ingest, methods=["POST"])])
    """,
    "fastapi": """
        from fastapi import FastAPI, Request

        app = FastAPI()

        @app.get("/health")
        async def health():
            return {"ok": True}

        @app.post("/log")
        async def ingest(request: Request):
            body = await request.body()
            return {"ok": True, "offset": len(body)}
    """,
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _import_cost(name: str) -> tuple[float, float]:
    """(ms to import the framework and uvicorn in a fresh process, RSS in MiB after building the app)."""
    code = textwrap.dedent(
        """
        import time, resource
        t = time.perf_counter()
        import uvicorn
        """
    ) + textwrap.dedent(APPS[name]) + textwrap.dedent(
        """
        ms = (time.perf_counter() - t) * 1000
        print(ms, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        """
    )
    best = None
    for _ in range(5):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
        ms, rss = float(out[0]), float(out[1])
        best = (ms, rss) if best is None or ms < best[0] else best
    return best


def _load(port: int, method: str, path: str, body: bytes | None) -> float:
    count = [0] * CONNS
    stop = time.monotonic() + SECONDS

    def worker(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port)
        while time.monotonic() < stop:
            conn.request(method, path, body=body)
            r = conn.getresponse()
            r.read()
            count[i] += 1
        conn.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(CONNS)]
    t = time.monotonic()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return sum(count) / (time.monotonic() - t)


def main() -> None:
    results = {}
    for name, source in APPS.items():
        ms, rss = _import_cost(name)
        port = _free_port()
        code = textwrap.dedent(source) + textwrap.dedent(
            f"""
            import uvicorn
            uvicorn.run(app, host="127.0.0.1", port={port}, log_level="warning", access_log=False)
            """
        )
        proc = subprocess.Popen([sys.executable, "-c", code])
        try:
            for _ in range(200):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                    break
                except OSError:
                    time.sleep(0.05)
            _load(port, "GET", "/health", None)  # warm up
            small = _load(port, "GET", "/health", None)
            ingest = _load(port, "POST", "/log", BODY)
            with open(f"/proc/{proc.pid}/status") as f:
                served_rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024
        finally:
            proc.terminate()
            proc.wait()
        results[name] = {
            "import_ms": round(ms, 1),
            "rss_after_import_mib": round(rss, 1),
            "rss_serving_mib": round(served_rss, 1),
            "json_rps": round(small),
            "ingest_64k_rps": round(ingest),
        }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
