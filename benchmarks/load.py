#!/usr/bin/env python3
"""Load: concurrent simulated users mixing search and extractive answers against a local server.

    make bench-load               # python benchmarks/load.py [--chunks 12000 --users 50 --duration 120]

The store is the synthetic one of benchmarks/latency.py (real statute sentences, clustered vectors), kept
in .bench/load-<N> and reused. The benchmark starts `kreiswissen serve` on a free local port with its own
data directory (the API rate limit raised out of the way), gives every simulated user an account and API
token of its own (groups alternate: bauamt, ordnungsamt, none), warms the server up (two rounds at full
concurrency, not counted) and measures one user alone (service time without queueing). Then each user
loops for --duration seconds: with probability --ask-share an extractive `POST /api/v1/ask`, else
`GET /api/v1/search?top_k=10` (a question or a short keyword query; half of all queries are made unique
with a number so repeated questions, which the server's query-vector cache answers faster, are only half
the traffic), then a random think time between --think-min-ms and --think-ms milliseconds (default 1–5 s,
the time a clerk takes to read an answer or a hit list; Locust's customary `between(1, 5)`; with
`--think-min-ms 0 --think-ms 200` the users hammer the server and the run measures its capacity).
Latency is measured from sending the request to receiving the whole response, by
the client, which runs on the same machine (its CPU use competes with the server's). Errors: any non-2xx
status, timeout (--timeout) or connection error.

--env NAME=VALUE passes a setting to the server only (e.g. KREISWISSEN_THREADS=1 to compare). The header
shows the 1-minute load average before the run: other work on the machine inflates the figures.
It prints p50/p95/p99/max latency, errors and throughput for search, ask and both, and last a line
`p95_ms=… target<=500 errors=… target=0 PASS|FAIL`. Exit status: 0 on PASS, 1 on FAIL, 2 when the
benchmark itself could not run. The server and the embedded PostgreSQL are stopped at the end, also on
Ctrl-C and errors.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import httpx
from latency import QUESTIONS, ROOT, ensure_store, percentile

from kreiswissen.config import Settings
from kreiswissen.db.embedded import embedded_pid, stop_embedded
from kreiswissen.errors import InputError
from kreiswissen.runtime import Runtime

TARGET_P95_MS = 500.0
SCOPES = ["search", "ask", "documents:read"]
USER_GROUPS = [["bauamt"], ["ordnungsamt"], []]
KEYWORD_QUERIES = [
    "Hundesteuer zweiter Hund", "Gebühren Kindergarten", "Ruhezeit Erdbestattung", "Streupflicht Gehweg",
    "Sondernutzung Gehweg Erlaubnis", "Wasserversorgung Anschlusszwang", "Abwassergebühr", "Grundsteuer Hebesatz",
    "Feuerwehr Kostenersatz", "Marktordnung Standgeld", "Freibad Eintritt", "Entschädigung ehrenamtlich",
    "Polizeiverordnung Lärm", "Bücherei Ausleihe Gebühr", "Erschließungsbeitrag", "Katzen Kastration",
]


@dataclass(frozen=True)
class Sample:
    kind: str  # "search" or "ask"
    ms: float
    error: str | None  # None: 2xx; else "HTTP 503", "ReadTimeout", …


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(home: Path, n_chunks: int, users: int) -> tuple[int, list[str]]:
    """Build or reuse the store; one account per simulated user and a fresh one-day token each."""
    rt = Runtime.open(Settings(home=home, database_url=None))
    try:
        have = ensure_store(rt, n_chunks)
        identity = rt.identity
        for group in {g for groups in USER_GROUPS for g in groups}:
            with contextlib.suppress(InputError):  # exists from an earlier run
                identity.add_group("bench", group)
        existing = {u.name for u in identity.list_users()}
        tokens = []
        for i in range(users):
            name = f"bench-load-{i:03d}"
            if name not in existing:
                identity.add_user("bench", name, USER_GROUPS[i % len(USER_GROUPS)],
                                  password=secrets.token_urlsafe(24))
            tokens.append(identity.create_token("bench", name, SCOPES, days=1, label="bench-load")[0])
        with rt.db.admin_connection() as admin:  # earlier runs' tokens would only pile up
            admin.execute("DELETE FROM api_tokens WHERE label = 'bench-load' AND expires_at < now()")
        return have, tokens
    finally:
        rt.close()


def start_server(home: Path, port: int, workers: int, extra: list[str]) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("KREISWISSEN_CONFIG", "KREISWISSEN_DATABASE_URL", "KREISWISSEN_DATABASE_ADMIN_URL")}
    env.update({"KREISWISSEN_HOME": str(home), "HF_HUB_OFFLINE": "1",
                # Measure latency, not the limiter (a setting that does not exist is ignored).
                "KREISWISSEN_API_RATE_LIMIT_PER_MINUTE": "1000000"})
    env.update(item.split("=", 1) for item in extra)
    kw = Path(sys.executable).parent / "kreiswissen"
    with (home / "server.log").open("wb") as log:  # the server keeps its own handle
        return subprocess.Popen([str(kw), "serve", "--host", "127.0.0.1", "--port", str(port),
                                 "--workers", str(workers)],
                                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)  # its own session: the supervisor and its workers
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


async def wait_healthy(client: httpx.AsyncClient, proc: subprocess.Popen[bytes], timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with status {proc.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if (await client.get("/api/v1/health", timeout=2)).status_code == 200:
                return
        await asyncio.sleep(0.5)
    raise RuntimeError(f"server not healthy within {timeout_s:.0f} s")


async def one(client: httpx.AsyncClient, token: str, kind: str, text: str, timeout_s: float) -> Sample:
    headers = {"Authorization": f"Bearer {token}"}
    started = time.perf_counter()
    try:
        if kind == "search":
            r = await client.get("/api/v1/search", params={"q": text, "top_k": 10}, headers=headers,
                                 timeout=timeout_s)
        else:
            r = await client.post("/api/v1/ask", json={"question": text, "extractive": True}, headers=headers,
                                  timeout=timeout_s)
        error = None if r.is_success else f"HTTP {r.status_code}"
    except httpx.HTTPError as exc:
        error = type(exc).__name__
    return Sample(kind, (time.perf_counter() - started) * 1000, error)


def cpu_seconds(server_pgid: int, postmaster: int | None) -> tuple[float, float]:
    """CPU time (user + system) so far of the server's processes and of the PostgreSQL ones (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    server = database = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        pid, ppid, pgrp = int(stat.parent.name), int(fields[1]), int(fields[2])
        used = (int(fields[11]) + int(fields[12])) / tick
        if pgrp == server_pgid:
            server += used
        elif postmaster is not None and postmaster in (pid, ppid):
            database += used
    return server, database


FRESH_SHARE = 0.5  # queries made unique, so the server's query-vector cache cannot answer them


def pick(rng: random.Random, ask_share: float, questions: list[str]) -> tuple[str, str]:
    if rng.random() < ask_share:
        kind, text = "ask", rng.choice(questions)
    else:
        kind, text = "search", rng.choice(questions) if rng.random() < 0.5 else rng.choice(KEYWORD_QUERIES)
    if rng.random() < FRESH_SHARE:  # half the traffic is new wording (a number the index does not know)
        text = f"{text} ({rng.randrange(10**9)})"
    return kind, text


async def user(client: httpx.AsyncClient, token: str, seed: int, deadline: float, args: argparse.Namespace,
               questions: list[str], out: list[Sample]) -> None:
    rng = random.Random(seed)
    await asyncio.sleep(rng.uniform(0, 0.5))  # users log on over half a second, not in lockstep
    while time.monotonic() < deadline:
        kind, text = pick(rng, args.ask_share, questions)
        out.append(await one(client, token, kind, text, args.timeout))
        if args.think_ms > 0:  # (not past the end: the measured time would include idle users)
            pause = rng.uniform(args.think_min_ms, args.think_ms) / 1000
            await asyncio.sleep(min(pause, max(0.0, deadline - time.monotonic())))


def report(label: str, samples: list[Sample], seconds: float) -> None:
    if not samples:
        print(f"{label:<7} n=0")
        return
    ms = [s.ms for s in samples]
    errors = sum(1 for s in samples if s.error)
    print(f"{label:<7} n={len(samples):<6} p50_ms={percentile(ms, 50):7.1f} p95_ms={percentile(ms, 95):7.1f} "
          f"p99_ms={percentile(ms, 99):7.1f} max_ms={max(ms):7.1f} errors={errors} "
          f"({errors / len(samples):.2%}) throughput={len(samples) / seconds:.1f}/s", flush=True)


async def run(args: argparse.Namespace, base_url: str, proc: subprocess.Popen[bytes], tokens: list[str],
              questions: list[str]) -> tuple[list[Sample], float]:
    limits = httpx.Limits(max_connections=args.users + 8, max_keepalive_connections=args.users + 8)
    async with httpx.AsyncClient(base_url=base_url, limits=limits) as client:
        await wait_healthy(client, proc)
        rng = random.Random(3)
        # Warm-up at full concurrency, not counted: every worker loads its models, and every thread of its pool
        # opens its database connections (the first requests would otherwise measure start-up).
        for _ in range(2):
            await asyncio.gather(*(one(client, token, *pick(rng, 0.5, questions), 120) for token in tokens))
        # One user alone: the service time without queueing.
        alone = [await one(client, tokens[0], kind, text, args.timeout)
                 for kind, text in [pick(rng, args.ask_share, questions) for _ in range(30)]]
        for kind in ("search", "ask"):
            ms = [s.ms for s in alone if s.kind == kind and not s.error]
            if ms:
                print(f"# one user alone: {kind} n={len(ms)} p50_ms={percentile(ms, 50):.1f} "
                      f"max_ms={max(ms):.1f}", flush=True)
        out: list[Sample] = []
        postmaster = embedded_pid(args.home / "db")
        cpu_before, client_before = cpu_seconds(proc.pid, postmaster), time.process_time()
        started = time.monotonic()
        await asyncio.gather(*(user(client, tokens[i], 100 + i, started + args.duration, args, questions, out)
                               for i in range(args.users)))
        seconds = time.monotonic() - started
        cpu_after, client_after = cpu_seconds(proc.pid, postmaster), time.process_time()
        if out:
            per = [(after - before) * 1000 / len(out) for before, after in
                   zip((*cpu_before, client_before), (*cpu_after, client_after), strict=True)]
            budget = 1000 * (os.cpu_count() or 1) * seconds / len(out)
            print(f"# cpu per request: server {per[0]:.1f} ms, postgresql {per[1]:.1f} ms, client {per[2]:.1f} ms "
                  f"(the machine had {budget:.1f} ms per request); loadavg_1m={os.getloadavg()[0]:.2f}", flush=True)
        return out, seconds


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=12_000)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=float, default=120.0, help="seconds of measured load")
    parser.add_argument("--workers", type=int, default=max(2, os.cpu_count() or 2), help="server processes")
    parser.add_argument("--ask-share", type=float, default=0.3, help="share of extractive answers (rest: search)")
    parser.add_argument("--think-ms", type=float, default=5000.0, help="think time: at most this, per request")
    parser.add_argument("--think-min-ms", type=float, default=1000.0, help="think time: at least this")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds before a request counts as failed")
    parser.add_argument("--home", type=Path, default=None, help="data directory (default .bench/load-<chunks>)")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="extra environment variable for the server (repeatable), e.g. KREISWISSEN_THREADS=1")
    args = parser.parse_args()
    if any("=" not in item for item in args.env):
        parser.error("--env expects NAME=VALUE")
    home: Path = (args.home or ROOT / ".bench" / f"load-{args.chunks}").resolve()
    args.home = home
    signal.signal(signal.SIGTERM, _interrupt)
    questions = [json.loads(line)["question"] for line in QUESTIONS.read_text().splitlines() if line]

    proc = None
    try:
        have, tokens = prepare(home, args.chunks, args.users)
        port = free_port()
        print(f"# load: chunks={have} users={args.users} duration_s={args.duration:.0f} workers={args.workers} "
              f"mix=search {1 - args.ask_share:.0%} / ask (extractive) {args.ask_share:.0%} "
              f"think_ms=uniform({args.think_min_ms:.0f},{args.think_ms:.0f}) unique_queries={FRESH_SHARE:.0%} "
              f"timeout_s={args.timeout:.0f} cores={os.cpu_count()} "
              f"(client on the same machine) loadavg_1m={os.getloadavg()[0]:.2f} home={home}"
              + "".join(f" {item}" for item in args.env), flush=True)
        proc = start_server(home, port, args.workers, args.env)
        samples, seconds = asyncio.run(run(args, f"http://127.0.0.1:{port}", proc, tokens, questions))
    except KeyboardInterrupt:
        print("# interrupted", file=sys.stderr)
        return 2
    except Exception as exc:  # the benchmark itself broke: say why, with the server's last words
        print(f"# benchmark failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        log = home / "server.log"
        if proc is not None and log.is_file():
            print(log.read_text(errors="replace")[-3000:], file=sys.stderr)
        return 2
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # finish cleaning up
        if proc is not None:
            stop_server(proc)
        stop_embedded(home / "db")

    print(f"# measured {seconds:.1f} s (until the last request started in time was answered)")
    for label, kinds in (("search", {"search"}), ("ask", {"ask"}), ("all", {"search", "ask"})):
        report(label, [s for s in samples if s.kind in kinds], seconds)
    reasons = Counter(s.error for s in samples if s.error)
    if reasons:
        print("# errors: " + ", ".join(f"{reason} ×{n}" for reason, n in reasons.most_common(5)))
    p95 = percentile([s.ms for s in samples], 95) if samples else float("inf")
    errors = sum(reasons.values())
    ok = bool(samples) and p95 <= TARGET_P95_MS and errors == 0
    print(f"p95_ms={p95:.1f} target<={TARGET_P95_MS:.0f} errors={errors} target=0 {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
