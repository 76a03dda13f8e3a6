"""Webhook receiver throughput: signed GitHub push deliveries over loopback HTTP (target >= 500 req/s).

Usage: python bench/bench_webhooks.py [--backend sqlite|postgresql] [--requests 5000] [--concurrency 32]
                                      [--client raw|httpx] [--time-limit 120]

Starts the receiver (uvicorn, one process) on 127.0.0.1 against a fresh catalog: a SQLite file, or
a new PostgreSQL database made from METADATA_PIPELINE_TEST_PG's server and dropped afterwards. This
process then sends the deliveries with bounded concurrency: half are new delivery ids, half repeat
one of them (redeliveries, some racing the original). Prints requests/second, p50/p99 latency and
how many rows were stored, which must equal the unique deliveries exactly (exit 1 otherwise).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402
import psycopg2  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from metadata_pipeline.catalog import (
    add_repository,
    ensure_default_tenant,
    make_engine,
    session_scope,
    upgrade,
)  # noqa: E402
from metadata_pipeline.catalog.models import WebhookEvent  # noqa: E402
from metadata_pipeline.webhooks import GLOBAL_SECRET_ENV, create_app, sign_github  # noqa: E402

PG_ADMIN_DSN = os.environ.get("METADATA_PIPELINE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
SECRET = "bench-secret"
REPO_URL = "https://github.com/acme/shop.git"
TARGET_RPS = 500
Request = tuple[str, bytes, str]  # delivery id, body, signature


# -- server process -------------------------------------------------------------------------------


def serve(catalog_url: str, port: int) -> None:
    import uvicorn

    app = create_app(make_engine(catalog_url))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


# -- catalog ----------------------------------------------------------------------------------------


def _pg_admin(sql: str) -> None:
    conn = psycopg2.connect(PG_ADMIN_DSN, connect_timeout=5)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(sql)
    conn.close()


def fresh_catalog(backend: str, workdir: Path) -> tuple[str, str | None]:
    """A migrated catalog with one registered repository; returns (url, PostgreSQL database to drop)."""
    if backend == "sqlite":
        url, database = f"sqlite:///{workdir / 'catalog.db'}", None
    else:
        database = f"mp_bench_{uuid.uuid4().hex[:10]}"
        _pg_admin(f'CREATE DATABASE "{database}"')
        base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg2://", 1)
        url = f"{base}/{database}"
    upgrade(url)
    engine = make_engine(url)
    with session_scope(engine) as session:
        add_repository(session, ensure_default_tenant(session), "shop", REPO_URL, provider="github")
    engine.dispose()
    return url, database


def stored_counts(url: str) -> tuple[int, int, int, int]:
    """(rows, distinct delivery ids, distinct sequences, highest sequence) in webhook_events."""
    engine = make_engine(url)
    columns = (
        func.count(),
        func.count(func.distinct(WebhookEvent.delivery_id)),
        func.count(func.distinct(WebhookEvent.sequence)),
        func.coalesce(func.max(WebhookEvent.sequence), 0),
    )
    try:
        with engine.connect() as conn:
            rows, ids, sequences, highest = conn.execute(select(*columns)).one()
    finally:
        engine.dispose()
    return rows, ids, sequences, highest


# -- client -----------------------------------------------------------------------------------------


def deliveries(total: int, seed: int = 7) -> list[Request]:
    """(delivery id, body, signature) for `total` requests: half new ids, half repeats of them."""
    unique = total - total // 2
    signed = []
    for i in range(unique):
        payload = {
            "ref": "refs/heads/main",
            "before": f"{i:040x}",
            "after": f"{i + 1:040x}",
            "commits": [
                {
                    "id": f"{i + 1:040x}",
                    "message": f"change {i}",
                    "added": [],
                    "modified": [f"models/m{i % 50}.sql"],
                    "removed": [],
                }
            ],
            "repository": {"full_name": "acme/shop", "clone_url": REPO_URL, "default_branch": "main"},
        }
        body = json.dumps(payload).encode()
        signed.append((str(uuid.uuid4()), body, sign_github(body, SECRET)))
    rng = random.Random(seed)
    requests = signed + [signed[rng.randrange(unique)] for _ in range(total // 2)]
    rng.shuffle(requests)
    return requests


def _headers(delivery_id: str, signature: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": delivery_id,
        "X-Hub-Signature-256": signature,
    }


async def send_httpx(base_url: str, requests: list[Request], concurrency: int) -> tuple[list[float], Counter]:
    """The same load through httpx.AsyncClient: simple, but its own CPU cost caps it near 800 req/s here."""
    latencies: list[float] = []
    statuses: Counter = Counter()
    gate = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as client:

        async def one(delivery_id: str, body: bytes, signature: str) -> None:
            async with gate:
                start = time.perf_counter()
                response = await client.post(
                    "/webhooks/github", content=body, headers=_headers(delivery_id, signature)
                )
                latencies.append(time.perf_counter() - start)
            statuses[response.status_code] += 1

        await asyncio.gather(*(one(*r) for r in requests))
    return latencies, statuses


async def _read_status(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = next(
        (int(v) for k, _, v in (ln.partition(":") for ln in lines[1:]) if k.lower() == "content-length"), None
    )
    if length is None:
        raise RuntimeError("response without Content-Length")
    await reader.readexactly(length)
    return int(lines[0].split(" ", 2)[1])


async def send_raw(base_url: str, requests: list[Request], concurrency: int) -> tuple[list[float], Counter]:
    """`concurrency` keep-alive HTTP/1.1 connections, each sending one request at a time.

    A minimal client, so that the client's CPU does not starve the server on two shared cores.
    """
    host, port = base_url.removeprefix("http://").split(":")
    latencies: list[float] = []
    statuses: Counter = Counter()
    queue: asyncio.Queue[Request] = asyncio.Queue()
    for request in requests:
        queue.put_nowait(request)

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while not queue.empty():
                delivery_id, body, signature = queue.get_nowait()
                headers = {
                    **_headers(delivery_id, signature),
                    "Host": f"{host}:{port}",
                    "Content-Length": str(len(body)),
                }
                head = "POST /webhooks/github HTTP/1.1\r\n" + "".join(
                    f"{k}: {v}\r\n" for k, v in headers.items()
                )
                start = time.perf_counter()
                writer.write(head.encode() + b"\r\n" + body)
                status = await _read_status(reader)
                latencies.append(time.perf_counter() - start)
                statuses[status] += 1
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, statuses


def wait_healthy(base_url: str, server: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"receiver exited with code {server.returncode}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit("receiver did not become healthy")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def load(url: str, requests: list[Request], args: argparse.Namespace) -> tuple[list[float], Counter, float]:
    """Serve the catalog at `url` from a receiver process and send it `requests`."""
    port = free_port()
    env = {**os.environ, GLOBAL_SECRET_ENV: SECRET}
    command = [sys.executable, __file__, "--serve", "--catalog-url", url, "--port", str(port)]
    server = subprocess.Popen(command, env=env)
    try:
        base_url = f"http://127.0.0.1:{port}"
        wait_healthy(base_url, server)
        send = send_raw if args.client == "raw" else send_httpx
        started = time.perf_counter()
        sending = asyncio.wait_for(send(base_url, requests, args.concurrency), timeout=args.time_limit)
        latencies, statuses = asyncio.run(sending)
        return latencies, statuses, time.perf_counter() - started
    finally:
        server.terminate()  # lets uvicorn shut down, which commits anything still queued
        server.wait(timeout=30)


def run(args: argparse.Namespace) -> int:
    requests = deliveries(args.requests)  # signed before the clock starts
    with tempfile.TemporaryDirectory() as workdir:
        url, database = fresh_catalog(args.backend, Path(workdir))
        try:
            latencies, statuses, elapsed = load(url, requests, args)
            counts = stored_counts(url)
        finally:
            if database:
                _pg_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    return report(args, requests, latencies, statuses, elapsed, counts)


def report(
    args: argparse.Namespace,
    requests: list[Request],
    latencies: list[float],
    statuses: Counter,
    elapsed: float,
    counts: tuple[int, int, int, int],
) -> int:
    """Print the figures; 0 when exactly the unique deliveries were stored, numbered 1..n."""
    rows, distinct_ids, distinct_sequences, highest = counts
    unique = len({r[0] for r in requests})
    latencies = sorted(latencies)
    rps = len(requests) / elapsed
    verdict = "met" if rps >= TARGET_RPS else "MISSED"
    p50, p99 = percentile(latencies, 0.50) * 1000, percentile(latencies, 0.99) * 1000
    print(
        f"backend {args.backend}: {len(requests)} requests ({unique} unique), {args.client} client, concurrency {args.concurrency}"
    )
    print(f"  {rps:,.0f} requests/second over {elapsed:.2f}s (target >= {TARGET_RPS}: {verdict})")
    print(f"  latency p50 {p50:.1f} ms, p99 {p99:.1f} ms; responses {dict(sorted(statuses.items()))}")
    print(
        f"  stored {rows} rows: {distinct_ids} distinct delivery ids, {distinct_sequences} distinct sequences up to {highest}"
    )
    ok = rows == distinct_ids == distinct_sequences == highest == unique
    ok = ok and statuses[202] == unique and statuses[200] == len(requests) - unique
    print(
        "  OK: stored count equals unique deliveries"
        if ok
        else "  MISMATCH: stored count differs from unique deliveries"
    )
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument(
        "--client", choices=["raw", "httpx"], default="raw", help="load generator (see send_raw)"
    )
    parser.add_argument("--time-limit", type=float, default=120.0, help="seconds before the run is abandoned")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--catalog-url", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.catalog_url, args.port)
        return 0
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
