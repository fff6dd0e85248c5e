#!/usr/bin/env python3
"""Crash safety: kill -9 contacts-server in the middle of a sustained write load, restart it on
the same database, and check that every write acknowledged to a client is there.

Each of N concurrent clients loops: signInAnonymously → createRequest → captureContactMetadata
(a unique email) → createRequest. A write is *acknowledged* when its response was HTTP 200 with
`data` and no `errors`: that is when a client may tell its user "saved". After SIGKILL (no
graceful shutdown, in-flight transactions cut) the server is started again on the same
database, and:

  * every acknowledged visitor user, request (id and requestId, on the right contact) and
    contact (with the acknowledged email and at least the acknowledged version) is in the
    database;
  * the restarted server is ready and serves them (a sample is read back over the API with
    the agent token: `contact(id:)` with its requests);
  * the database passes the integrity checks (SQLite: PRAGMA integrity_check, foreign_key_check,
    FTS5 integrity-check; PostgreSQL: amcheck on every B-tree index; both: the logical rules
    of common.LOGICAL_CHECKS);
  * no request failed with INTERNAL, or went unanswered, before the kill.

    python3 tests/abuse/crash.py --db sqlite
    python3 tests/abuse/crash.py --db postgres --clients 8 --seconds 10 --cycles 2
"""

from __future__ import annotations

import argparse
import collections
import random
import sqlite3
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402
from common import CAPTURE, CREATE_REQUEST, NO_RATE_LIMITS, PgCluster, Server, gql, log, sign_in_anon, sign_up  # noqa: E402

READ_BACK = """query($id: ID!) { contact(id: $id) { id email version requests(first: 100) { nodes { id requestId } } } }"""


class Ledger:
    """What the clients were told was written."""

    def __init__(self):
        self.lock = threading.Lock()
        self.users: set[str] = set()
        self.requests: dict[str, tuple[str, str]] = {}  # request id -> (requestId, contact id)
        self.contacts: dict[str, tuple[str, int]] = {}  # contact id -> (email, version) of the capture
        self.acked = 0
        self.attempts = 0
        self.codes = collections.Counter()
        self.transport_errors = 0
        self.internal: list[str] = []

    def note(self, r, what: str, before_kill: bool) -> None:
        with self.lock:
            self.attempts += 1
            if r.status == 0:
                self.transport_errors += 1
                if before_kill:
                    self.internal.append(f"{what}: no HTTP response before the kill: {r.error}")
            for c in r.codes():
                self.codes[c] += 1
                if c == "INTERNAL" and before_kill:
                    self.internal.append(f"{what}: {r!r}")


def client_loop(base: str, project: str, ledger: Ledger, stop: threading.Event, killed: threading.Event,
                client_no: int) -> None:
    n = 0
    while not stop.is_set():
        n += 1
        r = sign_in_anon(base, project, timeout=10)
        ledger.note(r, "signInAnonymously", not killed.is_set())
        if not r.acknowledged():
            time.sleep(0.02)
            continue
        token = r.data["signInAnonymously"]["token"]
        with ledger.lock:
            ledger.users.add(r.data["signInAnonymously"]["user"]["id"])
            ledger.acked += 1
        contact_id = None
        for step in range(3):
            if stop.is_set():
                return
            if step in (0, 2):
                r = gql(base, CREATE_REQUEST, {"t": f"client {client_no} visit {n} step {step}"}, token, timeout=10)
                ledger.note(r, "createRequest", not killed.is_set())
                if not r.acknowledged():
                    break
                d = r.data["createRequest"]
                contact_id = d["contact"]["id"]
                with ledger.lock:
                    ledger.requests[d["request"]["id"]] = (d["request"]["requestId"], contact_id)
                    ledger.acked += 1
            else:
                email = f"c{client_no}.v{n}.{uuid.uuid4().hex[:6]}@crash.example.com"
                r = gql(base, CAPTURE, {"i": {"fullname": f"Visitor {client_no}/{n}", "email": email,
                                              "phone": "+39 06 6988 1234", "attributes": {"n": n}}}, token, timeout=10)
                ledger.note(r, "captureContactMetadata", not killed.is_set())
                if not r.acknowledged():
                    break
                d = r.data["captureContactMetadata"]
                with ledger.lock:
                    ledger.contacts[d["id"]] = (d["email"], int(d["version"]))
                    ledger.acked += 1


class Db:
    """Looks acknowledged rows up directly in the database."""

    def __init__(self, sqlite_path: Path | None = None, cluster: PgCluster | None = None, name: str = ""):
        self.sqlite_path, self.cluster, self.name = sqlite_path, cluster, name

    def _rows(self, sql_sqlite: str, sql_pg: str, ids: list[str]) -> list[tuple]:
        out = []
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            if self.sqlite_path is not None:
                con = sqlite3.connect(str(self.sqlite_path))
                try:
                    marks = ",".join("?" * len(chunk))
                    for row in con.execute(sql_sqlite.format(marks=marks), [uuid.UUID(x).bytes for x in chunk]):
                        out.append(tuple(str(uuid.UUID(bytes=v)) if isinstance(v, bytes) and len(v) == 16 else v
                                         for v in row))
                finally:
                    con.close()
            else:
                arr = "'{" + ",".join(chunk) + "}'::uuid[]"
                for row in self.cluster.psql(sql_pg.format(arr=arr), self.name):
                    out.append(tuple(row))
        return out

    def users(self, ids):
        return {r[0] for r in self._rows('SELECT id FROM "user" WHERE id IN ({marks})',
                                         'SELECT id::text FROM "user" WHERE id = ANY({arr})', ids)}

    def requests(self, ids):
        return {r[0]: (r[1], r[2]) for r in self._rows(
            "SELECT id, request_id, lead FROM request WHERE id IN ({marks})",
            "SELECT id::text, request_id, lead::text FROM request WHERE id = ANY({arr})", ids)}

    def contacts(self, ids):
        return {r[0]: (r[1], int(r[2])) for r in self._rows(
            "SELECT id, email, version FROM lead WHERE id IN ({marks})",
            "SELECT id::text, email, version FROM lead WHERE id = ANY({arr})", ids)}

    def integrity(self):
        if self.sqlite_path is not None:
            return common.integrity_sqlite(self.sqlite_path)
        return common.integrity_pg(self.cluster, self.name)


def verify(ledger: Ledger, db: Db) -> tuple[int, list[str]]:
    """(writes found, problems)."""
    problems = []
    found = 0
    users = db.users(sorted(ledger.users))
    found += len(users)
    missing = ledger.users - users
    if missing:
        problems.append(f"{len(missing)} acknowledged visitor users missing, e.g. {sorted(missing)[:3]}")
    reqs = db.requests(sorted(ledger.requests))
    for rid, (request_id, contact_id) in ledger.requests.items():
        got = reqs.get(rid)
        if got is None:
            problems.append(f"acknowledged request {rid} ({request_id}) missing")
        elif got != (request_id, contact_id):
            problems.append(f"request {rid}: stored {got}, acknowledged {(request_id, contact_id)}")
        else:
            found += 1
    leads = db.contacts(sorted(ledger.contacts))
    for cid, (email, version) in ledger.contacts.items():
        got = leads.get(cid)
        if got is None:
            problems.append(f"acknowledged contact {cid} missing")
        elif got[0] != email or got[1] < version:
            problems.append(f"contact {cid}: stored (email, version) {got}, acknowledged {(email, version)}")
        else:
            found += 1
    return found, problems[:20] + ([f"... {len(problems) - 20} more"] if len(problems) > 20 else [])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=10, help="write load per cycle before the kill -9")
    ap.add_argument("--cycles", type=int, default=1, help="load + kill -9 + restart cycles on the same database")
    ap.add_argument("--out", default=None, help="directory for the database file and server log")
    args = ap.parse_args()

    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="contacts-crash."))
    out.mkdir(parents=True, exist_ok=True)
    cluster = None
    try:
        if args.db == "sqlite":
            path = out / "crash.db"
            for f in out.glob("crash.db*"):
                f.unlink()
            url = common.write_sqlite_url(path)
            db = Db(sqlite_path=path)
        else:
            cluster = PgCluster().__enter__()
            name = f"crash_{uuid.uuid4().hex[:8]}"
            url = cluster.create_db(name)
            db = Db(cluster=cluster, name=name)
        return run(args, url, db, out)
    finally:
        if cluster is not None:
            cluster.__exit__(None, None, None)


def run(args, url: str, db: Db, out: Path) -> int:
    log_path = out / f"server-{args.db}.log"
    server = Server(url, log_path, NO_RATE_LIMITS)
    server.start()
    agent = sign_up(server.base, "crash")
    ledger = Ledger()
    problems: list[str] = []
    log(f"== crash on {args.db}: {args.clients} clients, {args.seconds:.0f}s of writes, kill -9, restart "
        f"(x{args.cycles})")
    for cycle in range(1, args.cycles + 1):
        stop, killed = threading.Event(), threading.Event()
        before = ledger.acked
        threads = [threading.Thread(target=client_loop, args=(server.base, agent["project"], ledger, stop, killed, i),
                                    daemon=True) for i in range(args.clients)]
        for t in threads:
            t.start()
        # Kill at a random moment of the last second of the load: mid-transaction for some client.
        time.sleep(args.seconds - random.random())
        killed.set()
        server.kill9()
        log(f"   cycle {cycle}: kill -9 after {ledger.acked - before} acknowledged writes this cycle "
            f"(server exit {server.proc.returncode})")
        time.sleep(0.3)  # clients see the refused connections
        stop.set()
        for t in threads:
            t.join(timeout=15)
        # Restart on the same database.
        t0 = time.monotonic()
        server = Server(url, log_path, NO_RATE_LIMITS)
        server.start()
        ready = common.http("GET", server.base + "/ready", timeout=10)
        log(f"   cycle {cycle}: restarted in {time.monotonic() - t0:.1f}s, /ready {ready.status}")
        if ready.status != 200:
            problems.append(f"cycle {cycle}: /ready {ready.status} after restart")

    # Read a sample back over the API (the restarted server serves what it acknowledged).
    sample = random.sample(sorted(ledger.contacts), min(50, len(ledger.contacts)))
    by_contact = collections.defaultdict(set)
    for rid, (_, cid) in ledger.requests.items():
        by_contact[cid].add(rid)
    api_ok = 0
    for cid in sample:
        r = gql(server.base, READ_BACK, {"id": cid}, agent["token"])
        c = r.data.get("contact") if r.acknowledged() else None
        if c and c["email"] == ledger.contacts[cid][0] and by_contact[cid] <= {n["id"] for n in c["requests"]["nodes"]}:
            api_ok += 1
        else:
            problems.append(f"API read-back of contact {cid}: {r!r}")
    server.stop()
    panics = [line for line in server.log_tail(10**7).splitlines() if "panicked" in line]

    found, missing = verify(ledger, db)
    problems += missing
    integrity = db.integrity()
    problems += [f"integrity: {p}" for p in integrity]
    if ledger.internal:
        problems.append(f"{len(ledger.internal)} INTERNAL errors or dropped requests under load before the kill, "
                        f"e.g. {ledger.internal[0]}")
    if panics:
        problems.append(f"panics in the server log: {panics[0][:300]}")
    if ledger.acked == 0:
        problems.append("no write was acknowledged: the load did not run")

    log(f"   requests sent: {ledger.attempts}; errors by code: {dict(ledger.codes.most_common())}; "
        f"transport errors (at/after the kill): {ledger.transport_errors}")
    log(f"   writes acknowledged: {ledger.acked} (visitors {len(ledger.users)}, requests {len(ledger.requests)}, "
        f"contact captures {len(ledger.contacts)})")
    log(f"   writes found: {found}")
    log(f"   API read-back after restart: {api_ok}/{len(sample)} contacts with their requests")
    log(f"   integrity check ({args.db}): {'ok' if not integrity else integrity}")
    for p in problems:
        common.fail(f"crash {args.db}: {p}")
    log(f"== crash {args.db}: {'FAILED' if problems else 'passed'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
