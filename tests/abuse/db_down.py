#!/usr/bin/env python3
"""Database unavailable: stop PostgreSQL under a running contacts-server, then start it again.

A throwaway cluster; the server runs with DB_ACQUIRE_TIMEOUT_SECS=2 (how long a request waits
for a pooled connection). Client threads keep sending a mix of operations the whole time (an
agent's `contacts` query, a visitor's `createRequest` and `viewer`, an anonymous
`signInAnonymously`), and two probes poll `/health` and `/ready`.

  1. up: everything succeeds, /ready 200.
  2. `pg_ctl stop -m fast`: every request gets an answer within --fail-fast-secs (no hang, no
     dropped connection, no 5xx): a GraphQL error with `extensions.code` INTERNAL and the
     message `internal error`, with no SQL, driver, pool or address text in the body;
     `/ready` answers 503 and `/health` 200, each within the same bound.
  3. `pg_ctl start`: without a restart of the server, requests succeed again and `/ready` is
     200 within --recover-secs of PostgreSQL accepting connections, and stay successful.
  4. every write acknowledged during the run (before, and after the outage) is in the
     database, which passes the integrity checks.

    python3 tests/abuse/db_down.py [--down-secs 8] [--fail-fast-secs 5] [--recover-secs 15]
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402
from common import CREATE_REQUEST, NO_RATE_LIMITS, PgCluster, Server, gql, http, log, sign_in_anon, sign_up  # noqa: E402

CONTACTS = "{ contacts(first: 5) { totalCount nodes { id email } } }"
VIEWER = "{ viewer { role user { id } contact { id } } }"

# Text that must never reach a client: SQL, driver, pool and network details.
LEAK = re.compile(r"sql|postgres|select |insert |relation|connection|refused|pool|timed out|timeout|tcp|"
                  r"127\.0\.0\.1|database|driver|io error|broken pipe|DbErr|Query Error", re.I)


READY_NAME = re.compile(r"primary|replica-[0-9]+")


def ready_body_problem(raw: bytes):
    """What is wrong with a /ready body while the database is down, or None.

    The body is `{"status": "unavailable", "databases": [{"name", "up", "lagMs"?}]}`
    (src/http/router.rs): only those keys, names `primary` or `replica-N`, the primary down.
    Any other text (a driver's message, an address) is a leak."""
    try:
        body = json.loads(raw)
    except ValueError:
        return "is not JSON"
    if not isinstance(body, dict) or set(body) != {"status", "databases"}:
        return "has other keys than status and databases"
    if body["status"] != "unavailable":
        return f"says {body['status']!r}, not 'unavailable'"
    dbs = body["databases"]
    if not isinstance(dbs, list) or not dbs:
        return "lists no database"
    for db in dbs:
        if not isinstance(db, dict) or not set(db) <= {"name", "up", "lagMs"} or \
                not isinstance(db.get("name"), str) or not READY_NAME.fullmatch(db["name"]) or \
                not isinstance(db.get("up"), bool):
            return f"has an unexpected database entry {db!r}"
    if dbs[0] != {"name": "primary", "up": False}:
        return "does not say the primary is down"
    return None


class Probe:
    def __init__(self, kind: str, sent: float, done: float, result):
        self.kind, self.sent, self.done, self.r = kind, sent, done, result

    @property
    def elapsed(self) -> float:
        return self.done - self.sent

    def ok(self) -> bool:
        if self.kind == "/health":
            return self.r.status == 200
        if self.kind == "/ready":
            return self.r.status == 200
        return self.r.acknowledged()


def worker(base: str, callers: dict, project: str, stop: threading.Event, out: list, lock: threading.Lock,
           acked: dict, timeout: float, n: int) -> None:
    kinds = ["contacts", "createRequest", "viewer", "signInAnonymously"]
    i = n
    while not stop.is_set():
        kind = kinds[i % len(kinds)]
        i += 1
        t0 = time.monotonic()
        if kind == "contacts":
            r = gql(base, CONTACTS, None, callers["agent"], timeout=timeout)
        elif kind == "createRequest":
            r = gql(base, CREATE_REQUEST, {"t": f"db-down {uuid.uuid4().hex[:8]}"}, callers["visitor"], timeout=timeout)
            if r.acknowledged():
                with lock:
                    acked["requests"].add(r.data["createRequest"]["request"]["id"])
        elif kind == "viewer":
            r = gql(base, VIEWER, None, callers["visitor"], timeout=timeout)
        else:
            r = sign_in_anon(base, project, timeout=timeout)
            if r.acknowledged():
                with lock:
                    acked["users"].add(r.data["signInAnonymously"]["user"]["id"])
        with lock:
            out.append(Probe(kind, t0, time.monotonic(), r))
        time.sleep(0.05)


def prober(base: str, path: str, stop: threading.Event, out: list, lock: threading.Lock, timeout: float) -> None:
    while not stop.is_set():
        t0 = time.monotonic()
        r = http("GET", base + path, timeout=timeout)
        with lock:
            out.append(Probe(path, t0, time.monotonic(), r))
        time.sleep(0.2)


def fmt(xs: list[float]) -> str:
    if not xs:
        return "n/a"
    return f"median {statistics.median(xs):.2f}s, max {max(xs):.2f}s"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=6)
    ap.add_argument("--up-secs", type=float, default=2, help="load before the stop")
    ap.add_argument("--down-secs", type=float, default=8, help="how long PostgreSQL stays down")
    ap.add_argument("--after-secs", type=float, default=4, help="load kept after recovery (all must succeed)")
    ap.add_argument("--acquire-timeout", type=int, default=2, help="DB_ACQUIRE_TIMEOUT_SECS of the server")
    ap.add_argument("--fail-fast-secs", type=float, default=5, help="most time any one request may take")
    ap.add_argument("--recover-secs", type=float, default=15, help="most time to recover after PostgreSQL is back")
    ap.add_argument("--out", default=None)
    ap.add_argument("--timeline", action="store_true", help="print every call (time relative to the stop)")
    args = ap.parse_args()
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="contacts-dbdown."))
    out.mkdir(parents=True, exist_ok=True)
    with PgCluster() as cluster:
        name = "db_down"
        url = cluster.create_db(name)
        env = dict(NO_RATE_LIMITS, DB_ACQUIRE_TIMEOUT_SECS=str(args.acquire_timeout))
        server = Server(url, out / "server-db_down.log", env)
        server.start()
        try:
            return run(args, cluster, name, server)
        finally:
            server.stop()


def run(args, cluster: PgCluster, name: str, server: Server) -> int:
    base = server.base
    log(f"== db_down on postgres: server {base}, DB_ACQUIRE_TIMEOUT_SECS={args.acquire_timeout}, "
        f"{args.clients} clients, PostgreSQL down {args.down_secs:.0f}s")
    agent = sign_up(base, "dbdown")
    r = sign_in_anon(base, agent["project"])
    callers = {"agent": agent["token"], "visitor": r.data["signInAnonymously"]["token"]}
    acked = {"requests": set(), "users": {r.data["signInAnonymously"]["user"]["id"]}}
    probes: list[Probe] = []
    lock = threading.Lock()
    stop = threading.Event()
    client_timeout = max(30.0, args.fail_fast_secs * 4)  # far above the bound: a hang shows as a long elapsed
    threads = [threading.Thread(target=worker, args=(base, callers, agent["project"], stop, probes, lock, acked,
                                                     client_timeout, i), daemon=True) for i in range(args.clients)]
    threads += [threading.Thread(target=prober, args=(base, path, stop, probes, lock, client_timeout), daemon=True)
                for path in ("/health", "/ready")]
    for t in threads:
        t.start()

    time.sleep(args.up_secs)
    t_stop0 = time.monotonic()
    cluster.stop("fast")
    t_down = time.monotonic()
    log(f"   PostgreSQL stopped (pg_ctl stop -m fast took {t_down - t_stop0:.1f}s)")
    time.sleep(args.down_secs)
    t_start0 = time.monotonic()
    cluster.start()
    t_up = time.monotonic()
    log(f"   PostgreSQL started again (pg_ctl start took {t_up - t_start0:.1f}s)")

    # Wait for recovery: a write and a read succeed and /ready is 200.
    recovered_at = None
    deadline = t_up + args.recover_secs
    while time.monotonic() < deadline:
        w = gql(base, CREATE_REQUEST, {"t": "recovery probe"}, callers["visitor"], timeout=client_timeout)
        q = gql(base, CONTACTS, None, callers["agent"], timeout=client_timeout)
        rd = http("GET", base + "/ready", timeout=client_timeout)
        if w.acknowledged() and q.acknowledged() and rd.status == 200:
            recovered_at = time.monotonic()
            acked["requests"].add(w.data["createRequest"]["request"]["id"])
            break
        time.sleep(0.25)
    if recovered_at is not None:
        log(f"   recovered {recovered_at - t_up:.1f}s after PostgreSQL was back (write, read and /ready ok)")
    time.sleep(args.after_secs)
    stop.set()
    for t in threads:
        t.join(timeout=client_timeout + 5)
    alive = server.alive()

    problems: list[str] = []
    with lock:
        all_probes = list(probes)
    before = [p for p in all_probes if p.done < t_stop0]
    # Sent after the stop completed and answered before the start began: PostgreSQL was down throughout.
    down = [p for p in all_probes if p.sent >= t_down and p.done <= t_start0]
    after = [p for p in all_probes if recovered_at is not None and p.sent >= recovered_at]

    # Nothing, at any time, may hang or lose its connection, nor answer 5xx other than /ready's 503.
    for p in all_probes:
        if p.r.status == 0:
            problems.append(f"{p.kind}: no HTTP response ({p.r.error}) after {p.elapsed:.1f}s")
        elif p.elapsed > args.fail_fast_secs:
            problems.append(f"{p.kind}: took {p.elapsed:.1f}s (> {args.fail_fast_secs}s)")
        elif p.r.status >= 500 and not (p.kind == "/ready" and p.r.status == 503):
            problems.append(f"{p.kind}: HTTP {p.r.status} {p.r.raw[:200]!r}")

    bad_before = [p for p in before if not p.ok()]
    if bad_before:
        problems.append(f"{len(bad_before)} failures before the stop, e.g. {bad_before[0].kind}: {bad_before[0].r!r}")

    gql_down = [p for p in down if not p.kind.startswith("/")]
    if not gql_down:
        problems.append("no GraphQL request was answered while PostgreSQL was down")
    down_codes = collections.Counter()
    for p in gql_down:
        errs = p.r.errors
        codes = p.r.codes()
        down_codes.update(codes)
        if p.r.status != 200 or not errs:
            problems.append(f"down: {p.kind}: expected a GraphQL error, got {p.r!r}")
        elif set(codes) != {"INTERNAL"} or any(e.get("message") != "internal error" for e in errs):
            problems.append(f"down: {p.kind}: expected INTERNAL / 'internal error', got {p.r!r}")
        if LEAK.search(p.r.raw.decode("utf-8", "replace")):
            problems.append(f"down: {p.kind}: the response leaks internals: {p.r.raw[:400]!r}")
    ready_down = [p for p in down if p.kind == "/ready"]
    health_down = [p for p in down if p.kind == "/health"]
    if not ready_down or any(p.r.status != 503 for p in ready_down):
        problems.append(f"down: /ready statuses {collections.Counter(p.r.status for p in ready_down)} (want all 503)")
    if not health_down or any(p.r.status != 200 for p in health_down):
        problems.append(f"down: /health statuses {collections.Counter(p.r.status for p in health_down)} (want all 200)")
    for p in ready_down:  # the documented JSON and nothing else: no driver text
        problem = ready_body_problem(p.r.raw)
        if problem:
            problems.append(f"down: /ready body {problem}: {p.r.raw[:300]!r}")
            break

    if recovered_at is None:
        problems.append(f"no recovery within {args.recover_secs}s of PostgreSQL's start (server not restarted)")
    bad_after = [p for p in after if not p.ok()]
    if bad_after:
        problems.append(f"{len(bad_after)} failures after recovery, e.g. {bad_after[0].kind}: {bad_after[0].r!r}")
    if not alive:
        problems.append("server died")

    # Acknowledged writes are all there, and the database is sound.
    users = cluster.psql('SELECT id::text FROM "user"', name)
    reqs = cluster.psql("SELECT id::text FROM request", name)
    missing_u = acked["users"] - {r[0] for r in users}
    missing_r = acked["requests"] - {r[0] for r in reqs}
    if missing_u or missing_r:
        problems.append(f"acknowledged writes missing: {len(missing_u)} users, {len(missing_r)} requests")
    server.stop()
    integrity = common.integrity_pg(cluster, name)
    problems += [f"integrity: {p}" for p in integrity]

    log(f"   before the stop: {len(before)} calls, {sum(p.ok() for p in before)} ok; latency {fmt([p.elapsed for p in before if not p.kind.startswith('/')])}")
    log(f"   while down: {len(gql_down)} GraphQL calls answered, codes {dict(down_codes)}; "
        f"latency {fmt([p.elapsed for p in gql_down])}")
    log(f"   while down: /ready {dict(collections.Counter(p.r.status for p in ready_down))} in {fmt([p.elapsed for p in ready_down])}; "
        f"/health {dict(collections.Counter(p.r.status for p in health_down))} in {fmt([p.elapsed for p in health_down])}")
    if recovered_at is not None:
        log(f"   recovery: {recovered_at - t_up:.1f}s after pg_ctl start returned (limit {args.recover_secs:.0f}s); "
            f"after it: {len(after)} calls, {sum(p.ok() for p in after)} ok")
    log(f"   writes acknowledged: {len(acked['requests']) + len(acked['users'])}, missing: {len(missing_u) + len(missing_r)}")
    log(f"   integrity check (postgres): {'ok' if not integrity else integrity}")
    # Keep the report readable: the first few of each kind of problem.
    shown = collections.Counter()
    for p in problems:
        key = p.split(":")[0]
        shown[key] += 1
        if shown[key] <= 3:
            common.fail(f"db_down: {p}")
    hidden = sum(max(0, v - 3) for v in shown.values())
    if hidden:
        common.fail(f"db_down: ... and {hidden} more")
    log(f"== db_down postgres: {'FAILED' if problems else 'passed'}")
    if args.timeline:
        for p in sorted(all_probes, key=lambda p: p.sent):
            log(f"   t={p.sent - t_down:+6.2f}s {p.elapsed:5.2f}s {p.kind:18} {p.r.status} {p.r.codes()}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
