#!/usr/bin/env python3
"""Cluster test: three contacts-server instances over one PostgreSQL primary, a streaming
replica and PgBouncer, all on loopback, started by this script from Debian's packages.

The topology (README, "Several instances, replicas and PgBouncer"):

  * a PostgreSQL 15 primary (`wal_level=replica`) and a streaming replica made from it with
    `pg_basebackup -R`, each a throwaway cluster on a free port;
  * PgBouncer 1.18 in front of the primary, `pool_mode = session` (transaction mode breaks
    sqlx's named prepared statements, README);
  * three server instances with `RATE_LIMIT_STORE=postgres`, the same `JWT_SECRET`,
    `DATABASE_REPLICA_URLS` = the replica and `DATABASE_LISTEN_URL` = the primary directly;
    instances 1 and 2 reach the primary through PgBouncer, instance 3 directly.
    `TRUSTED_CLIENT_IP_HEADER=X-Forwarded-For` (as behind a load balancer) lets each simulated
    visitor have its own client IP, so the anonymous sign-in limit (20 a minute) only bites the
    flood of check 2. `EVENT_POLL_MS` is 10 minutes: only NOTIFY delivers events quickly.
    The schema is applied once with `contacts-server migrate up` before they start.

Checks (each prints `ok` or `FAILED` with its reasons; the run ends with
`cluster: N passed, M failed`, exit 1 when M > 0):

  1. load + kill -9: visitor flows (anonymous sign-in, first request creating the contact,
     metadata capture, second request, `viewer` read back), agent edits (`createContact`,
     `updateContact`, `mergeContacts`, searches by email and full text) through all three
     instances for --load-secs, a client-side load balancer spreading the calls. Instance 2 is
     killed with SIGKILL mid-run and started again on the same port.
       - load-errors: no 5xx, no GraphQL error and no connection error anywhere, except
         connection errors on the killed instance between the kill and its restart (calls it
         cut, connections refused while it was down); the restarted instance serves again;
         PgBouncer is still up and holds the connections of instances 1 and 2;
       - load-reads: every read made with the client's consistency token saw the client's
         own writes (served by the replica or the primary, whichever `x-read-from` says);
       - load-acked-writes: every acknowledged write (HTTP 200, data, no errors) is there
         afterwards, read back through instance 3 with the newest consistency token:
         visitors, requests on their contact, captured emails, versions, edited companies,
         merges (the secondary resolves to the survivor, which lists it in `mergedFrom` and
         its email in `additionalEmails`).
  2. rate-limit: a flood of 90 anonymous sign-ins from one client IP, 30 on each instance,
     gets exactly the budget of ONE instance (20, see the GCRA note in check_rate_limit);
     the others are `RATE_LIMITED` with `extensions.retryAfter`; another IP still gets in.
  3. replica: with replay paused on the replica (`pg_wal_replay_pause()`), a write on one
     instance, then a read on another with the write's consistency token (header, and as
     `extensions.consistencyToken`) is served by the primary with the new value; a read
     without the token is served by the replica with the old value; after
     `pg_wal_replay_resume()` the token read is served by the replica again, with the new
     value.
  4. subscription: a `contactEvents` subscriber on instance 1 (graphql-transport-ws) gets
     every event of the writes made concurrently on instances 2 and 3, each exactly once, in
     position order, equal to the project's event log (`lead_event`, read with SQL).
  5. integrity: the primary's database passes tests/abuse's integrity checks (constraints,
     amcheck on every B-tree index, the logical rules); no-panics: no server log has a panic.

    tests/abuse/.venv/bin/python tests/cluster/cluster.py [--load-secs 24] [--keep]

Logs (servers, PostgreSQL, PgBouncer) and the databases are kept in the /tmp directory the
run names when a check fails (or with --keep); removed otherwise.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import shutil
import signal
import string
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "abuse"))
import common  # noqa: E402
from common import free_port, log  # noqa: E402

ANON_PER_MIN = 20
PG_MAJOR = "15"

# --------------------------------------------------------------------------------------------
# HTTP with headers (x-read-from, x-consistency-token)
# --------------------------------------------------------------------------------------------


def lsn(text: str) -> int:
    """A WAL position `X/Y` (hex) as an integer, to compare consistency tokens."""
    hi, lo = text.split("/")
    return (int(hi, 16) << 32) | int(lo, 16)


class Call(common.HttpResult):
    """One GraphQL exchange: status (0 on a transport failure), body, headers, timing, where."""

    def __init__(self, status, body, elapsed, error=None, headers=None, instance=0, op="", sent=0.0):
        super().__init__(status, body, elapsed, error)
        self.headers = {k.lower(): v for k, v in (headers or {}).items()}
        self.instance = instance
        self.op = op
        self.sent = sent
        self.done = sent + elapsed

    @property
    def read_from(self):
        return self.headers.get("x-read-from")

    @property
    def token(self):
        """The consistency token of a mutation's answer (header and extension must agree)."""
        return self.headers.get("x-consistency-token")

    def __repr__(self) -> str:
        return (f"{self.op}@{self.instance} HTTP {self.status} ({self.elapsed:.2f}s) read-from={self.read_from} "
                f"{self.error or ''} {self.raw[:400]!r}")


def call(base: str, query: str, variables=None, token=None, headers=None, extensions=None,
         timeout: float = 15.0, instance: int = 0, op: str = "") -> Call:
    h = {"Content-Type": "application/json"}
    if token:
        h["Authorization"] = f"Bearer {token}"
    h.update(headers or {})
    payload = {"query": query}
    if variables is not None:
        payload["variables"] = variables
    if extensions is not None:
        payload["extensions"] = extensions
    req = urllib.request.Request(base + "/graphql", data=json.dumps(payload).encode(), method="POST", headers=h)
    sent = time.monotonic()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            body = resp.read()
            return Call(resp.status, body, time.monotonic() - sent, None, dict(resp.headers), instance, op, sent)
    except urllib.error.HTTPError as e:
        return Call(e.code, e.read(), time.monotonic() - sent, None, dict(e.headers), instance, op, sent)
    except Exception as e:  # refused, reset, cut mid-response, timeout
        return Call(0, b"", time.monotonic() - sent, f"{type(e).__name__}: {e}", None, instance, op, sent)


def word(n: int = 10) -> str:
    """A random lower-case word: unique text the full-text search can find by prefix."""
    return "".join(random.choice(string.ascii_lowercase) for _ in range(n))


SIGN_UP = common.SIGN_UP
SIGN_IN_ANON = common.SIGN_IN_ANON
CREATE_REQUEST = common.CREATE_REQUEST
CAPTURE = common.CAPTURE
VIEWER = "{ viewer { user { id } contact { id email requests(first: 20) { nodes { id requestId } } } } }"
CREATE_CONTACT = ("mutation($i: CreateContactInput!) { createContact(input: $i) "
                  "{ id email fullname company { name } version } }")
READ_CONTACT = "query($id: ID!) { contact(id: $id) { id email fullname company { name } version } }"
UPDATE_CONTACT = ("mutation($i: UpdateContactInput!) { updateContact(input: $i) "
                  "{ id company { name } fullname version } }")
MERGE = ("mutation($i: MergeContactsInput!) { mergeContacts(input: $i) { mergeId mergedContactIds "
         "contact { id email additionalEmails mergedFrom } } }")
SEARCH = ("query($email: String!, $q: String!) { byEmail: contacts(email: $email) { nodes { id } } "
          "byText: contacts(search: $q, first: 50) { nodes { id } } }")
ADD_TAGS = "mutation($i: ContactTagsInput!) { addContactTags(input: $i) { id tags version } }"
CHECK_FIELDS = ("id email company { name } version additionalEmails mergedFrom "
                "requests(first: 20) { nodes { id requestId } }")
EVENTS = ("subscription($after: String) { contactEvents(after: $after) "
          "{ position kind contactId field after } }")


# --------------------------------------------------------------------------------------------
# Processes: PostgreSQL primary and replica, PgBouncer, server instances
# --------------------------------------------------------------------------------------------


class PgNode:
    """One PostgreSQL cluster (primary or replica) under `root`, run by the `postgres` user."""

    def __init__(self, bindir: Path, root: Path, name: str):
        self.bin = bindir
        self.name = name
        self.dir = root / name
        self.dir.mkdir(parents=True)
        self.data = self.dir / "data"
        self.port = free_port()
        self.log_path = self.dir / "postgresql.log"
        self.runas: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
            self.runas = ["runuser", "-u", "postgres", "--"]
        self.started = False

    def run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(self.runas + list(argv), check=check, capture_output=True, text=True, timeout=120)

    def url(self, db: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{db}"

    def init_primary(self) -> None:
        self.run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync",
                 "-E", "UTF8")
        with open(self.data / "postgresql.conf", "a") as f:
            f.write("\n# contacts-server cluster test\n"
                    "wal_level = replica\nmax_wal_senders = 5\nhot_standby = on\n"
                    "fsync = off\nfull_page_writes = off\nmax_connections = 300\n")

    def init_replica_of(self, primary: "PgNode") -> None:
        # -R: standby.signal + primary_conninfo; -X stream: the WAL of the copy comes along.
        self.run(str(self.bin / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres",
                 "-D", str(self.data), "-R", "-X", "stream", "-c", "fast")

    def start(self) -> None:
        opts = f"-h 127.0.0.1 -p {self.port} -k {self.dir}"
        self.started = True  # before: an interrupted pg_ctl may still have started it
        self.run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log_path), "-w", "-t", "60",
                 "-o", opts, "start")

    def stop(self) -> None:
        if self.started:
            self.run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)
            self.started = False

    def psql(self, sql: str, db: str = "postgres") -> list[list[str]]:
        """Runs `sql`; the rows of the last statement (fields split on \\x1f). The signature of
        common.PgCluster.psql, so common.integrity_pg can use it."""
        out = subprocess.run([str(self.bin / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", "-F", "\x1f",
                              "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", db, "-c", sql],
                             check=True, capture_output=True, text=True, timeout=60)
        return [line.split("\x1f") for line in out.stdout.splitlines() if line != ""]


class PgBouncer:
    """pgbouncer (Debian's 1.18) in session mode in front of `primary`'s database `db`; it
    refuses to run as root, so it runs as `postgres`."""

    def __init__(self, primary: PgNode, db: str, root: Path):
        self.dir = root / "pgbouncer"
        self.dir.mkdir()
        self.port = free_port()
        self.log_path = self.dir / "pgbouncer.log"
        (self.dir / "userlist.txt").write_text('"postgres" ""\n')
        (self.dir / "pgbouncer.ini").write_text(f"""[databases]
{db} = host=127.0.0.1 port={primary.port} dbname={db}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {self.port}
unix_socket_dir =
auth_type = trust
auth_file = {self.dir / "userlist.txt"}
pool_mode = session
server_reset_query = DISCARD ALL
default_pool_size = 80
max_client_conn = 400
ignore_startup_parameters = extra_float_digits
admin_users = postgres
""")
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
            for f in self.dir.iterdir():
                shutil.chown(f, "postgres", "postgres")
        self.proc: subprocess.Popen | None = None
        self.primary = primary
        self.db = db

    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{self.db}"

    def start(self) -> None:
        logf = open(self.log_path, "ab")
        kwargs = {"user": "postgres", "group": "postgres", "extra_groups": []} if os.geteuid() == 0 else {}
        self.proc = subprocess.Popen(["/usr/sbin/pgbouncer", str(self.dir / "pgbouncer.ini")], stdout=logf,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, **kwargs)
        logf.close()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"pgbouncer exited with {self.proc.returncode}: {self.log_path.read_text()[-2000:]}")
            r = subprocess.run([str(self.primary.bin / "psql"), "-X", "-At", "-h", "127.0.0.1", "-p", str(self.port),
                                "-U", "postgres", "-d", self.db, "-c", "SELECT 1"], capture_output=True, text=True)
            if r.returncode == 0 and r.stdout.strip() == "1":
                return
            time.sleep(0.1)
        raise RuntimeError(f"pgbouncer not answering: {self.log_path.read_text()[-2000:]}")

    def clients(self) -> int:
        """Client connections PgBouncer holds for the database (admin console `SHOW CLIENTS`)."""
        r = subprocess.run([str(self.primary.bin / "psql"), "-X", "-At", "-F", "\x1f", "-h", "127.0.0.1", "-p",
                            str(self.port), "-U", "postgres", "-d", "pgbouncer", "-c", "SHOW CLIENTS"],
                           capture_output=True, text=True, timeout=10, check=True)
        return sum(1 for line in r.stdout.splitlines() if line.split("\x1f")[2:3] == [self.db])

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # immediate shutdown... after clients leave: kill if slow
            try:
                self.proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Instance(common.Server):
    """A server instance; `port` given: restart on that port."""

    def __init__(self, n: int, database_url: str, log_path: Path, env: dict, port: int | None = None):
        super().__init__(database_url, log_path, env)
        self.n = n
        if port is not None:
            self.port = port
            self.base = f"http://127.0.0.1:{port}"

    def start_ready(self, timeout: float = 60.0) -> dict:
        """Starts and waits for /ready 200 with the primary and replica-1 up; its body."""
        self.start(timeout)
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = common.http("GET", self.base + "/ready", timeout=2)
            if last.status == 200 and isinstance(last.json, dict):
                dbs = {d.get("name"): d.get("up") for d in last.json.get("databases", [])}
                if dbs == {"primary": True, "replica-1": True}:
                    return last.json
            time.sleep(0.05)
        raise RuntimeError(f"instance {self.n} not ready with its replica: {last!r}; log: {self.log_tail()}")


# --------------------------------------------------------------------------------------------
# Check bookkeeping
# --------------------------------------------------------------------------------------------


class Checks:
    def __init__(self):
        self.results: list[tuple[str, bool, list[str]]] = []

    def record(self, name: str, problems: list[str], detail: str = "") -> None:
        ok = not problems
        self.results.append((name, ok, problems))
        log(f"==> {name}: {'ok' if ok else 'FAILED'}{' (' + detail + ')' if detail else ''}")
        shown = 0
        for p in problems:
            if shown == 12:
                common.fail(f"{name}: ... and {len(problems) - shown} more")
                break
            common.fail(f"{name}: {p}")
            shown += 1

    def run(self, name: str, fn, *args) -> None:
        """Runs a check function returning (problems, detail); an exception fails it."""
        t0 = time.monotonic()
        try:
            problems, detail = fn(*args)
        except Exception as e:  # noqa: BLE001 - a crashed check is a failed check
            problems, detail = [f"check raised {type(e).__name__}: {e}\n{traceback.format_exc()}"], ""
        self.record(name, problems, (detail + "; " if detail else "") + f"{time.monotonic() - t0:.1f}s")

    @property
    def passed(self) -> int:
        return sum(1 for _, ok, _ in self.results if ok)

    @property
    def failed(self) -> int:
        return sum(1 for _, ok, _ in self.results if not ok)


class Cluster:
    """Everything the checks need: the databases, the instances, an agent of a project."""

    def __init__(self, out: Path):
        self.out = out
        self.primary: PgNode | None = None
        self.replica: PgNode | None = None
        self.bouncer: PgBouncer | None = None
        self.instances: list[Instance] = []
        self.urls: list[str] = []
        self.env: dict = {}
        self.db = "cluster"

    def base(self, i: int) -> str:
        return self.instances[i - 1].base

    def setup(self) -> None:
        bindir = Path(os.environ.get("PG_BIN", f"/usr/lib/postgresql/{PG_MAJOR}/bin"))
        if not (bindir / "initdb").exists():
            bindir = common.pg_bin_dir()  # another major version: the newest installed
            if bindir is None or not (bindir / "pg_basebackup").exists():
                raise RuntimeError(f"no PostgreSQL {PG_MAJOR} (apt-get install postgresql-{PG_MAJOR}, or set PG_BIN)")
            log(f"   (PostgreSQL {PG_MAJOR} not found: using {bindir})")
        t0 = time.monotonic()
        self.primary = PgNode(bindir, self.out, "pg-primary")
        self.primary.init_primary()
        self.primary.start()
        self.primary.psql(f'CREATE DATABASE "{self.db}"')
        self.replica = PgNode(bindir, self.out, "pg-replica")
        self.replica.init_replica_of(self.primary)
        self.replica.start()
        if self.replica.psql("SELECT pg_is_in_recovery()") != [["t"]]:
            raise RuntimeError("the replica is not in recovery")
        self.bouncer = PgBouncer(self.primary, self.db, self.out)
        self.bouncer.start()
        log(f"   primary :{self.primary.port}, replica :{self.replica.port} (streaming), "
            f"pgbouncer :{self.bouncer.port} (session) in {time.monotonic() - t0:.1f}s")

        direct = self.primary.url(self.db)
        self.env = {
            "DATABASE_REPLICA_URLS": self.replica.url(self.db),
            "DATABASE_LISTEN_URL": direct,
            "RATE_LIMIT_STORE": "postgres",
            "RATE_LIMIT_ANONYMOUS_PER_MIN": str(ANON_PER_MIN),
            # One agent token drives the agents' load: a budget its burst stays far from (still
            # spent through the shared table on every mutation).
            "RATE_LIMIT_MUTATIONS_PER_MIN": "60000",
            "TRUSTED_CLIENT_IP_HEADER": "X-Forwarded-For",
            "DB_MAX_CONNECTIONS": "5",
            "EVENT_POLL_MS": "600000",
            "REPLICA_POLL_MS": "100",
            # Check 3 reads a stale replica on purpose for a few seconds: keep it eligible.
            "REPLICA_MAX_LAG_MS": "60000",
        }
        t0 = time.monotonic()
        mig = subprocess.run([str(common.server_bin()), "migrate", "up"], capture_output=True, text=True, timeout=120,
                             env=dict(os.environ, DATABASE_URL=direct, RUST_LOG="warn"))
        (self.out / "migrate.log").write_text(mig.stdout + mig.stderr)
        if mig.returncode != 0:
            raise RuntimeError(f"migrate up exited {mig.returncode}: {(mig.stdout + mig.stderr)[-2000:]}")
        log(f"   contacts-server migrate up in {time.monotonic() - t0:.1f}s")
        # Instances 1 and 2 through PgBouncer, 3 directly.
        self.urls = [self.bouncer.url(), self.bouncer.url(), direct]
        t0 = time.monotonic()
        self.instances = [Instance(i + 1, self.urls[i], self.out / f"server-{i + 1}.log", self.env) for i in range(3)]
        with ThreadPoolExecutor(3) as pool:
            list(pool.map(lambda s: s.start_ready(), self.instances))
        log(f"   instances {', '.join(s.base for s in self.instances)} ready in {time.monotonic() - t0:.1f}s")

    def restart(self, i: int) -> Instance:
        old = self.instances[i - 1]
        new = Instance(i, self.urls[i - 1], self.out / f"server-{i}.log", self.env, port=old.port)
        new.start_ready()
        self.instances[i - 1] = new
        return new

    def teardown(self) -> None:
        for s in self.instances:
            try:
                s.stop()
            except Exception:  # noqa: BLE001
                s.kill9()
        if self.bouncer:
            self.bouncer.stop()
        for node in (self.replica, self.primary):
            if node:
                node.stop()


def sign_up(base: str, tag: str) -> dict:
    r = call(base, SIGN_UP, {"input": {"email": f"owner-{tag}-{uuid.uuid4().hex[:8]}@cluster.example.com",
                                       "password": common.AGENT_PASSWORD, "fullname": f"Owner {tag}",
                                       "projectName": f"Cluster {tag}"}}, op="signUp")
    if not r.acknowledged():
        raise RuntimeError(f"signUp failed: {r!r}")
    d = r.data["signUp"]
    return {"token": d["token"], "project": d["project"]["id"]}


def batched(items: list, n: int):
    for i in range(0, len(items), n):
        yield items[i:i + n]


# --------------------------------------------------------------------------------------------
# 1. Mixed load through three instances, one killed with SIGKILL and restarted
# --------------------------------------------------------------------------------------------


class Load:
    """What the load sent, and what the clients were told was written."""

    def __init__(self, cluster: Cluster, agent: dict):
        self.cluster = cluster
        self.agent = agent
        self.lock = threading.Lock()
        self.calls: list[Call] = []
        self.down_until = [0.0, 0.0, 0.0]  # the client-side balancer's view
        self.rr = 0
        self.stop = threading.Event()
        # Ledger of acknowledged writes.
        self.users: set[str] = set()
        self.requests: dict[str, tuple[str, str]] = {}      # request id -> (requestId, contact id)
        self.captures: dict[str, tuple[str, int]] = {}      # contact id -> (email, version)
        self.created: dict[str, str] = {}                   # agent-made contact id -> email
        self.updates: dict[str, tuple[str, int]] = {}       # contact id -> (company, version)
        self.merges: dict[str, str] = {}                    # secondary -> survivor (acknowledged)
        self.merge_tried: dict[str, str] = {}               # secondary -> survivor (sent)
        self.max_token = 0
        self.max_token_text: str | None = None
        self.read_problems: list[str] = []
        self.reads_checked = 0
        self.handoff: collections.deque = collections.deque(maxlen=64)  # finished visitor contacts

    def pick(self) -> int:
        """Round robin over the instances the balancer thinks are up (1-based)."""
        with self.lock:
            now = time.monotonic()
            for _ in range(3):
                self.rr = (self.rr + 1) % 3
                if self.down_until[self.rr] <= now:
                    return self.rr + 1
            return self.rr + 1

    def send(self, op: str, query: str, variables=None, token=None, lsn_text=None, xff=None) -> Call:
        i = self.pick()
        headers = {}
        if lsn_text:
            headers["x-consistency-token"] = lsn_text
        if xff:
            headers["X-Forwarded-For"] = xff
        r = call(self.cluster.base(i), query, variables, token, headers, timeout=20, instance=i, op=op)
        with self.lock:
            self.calls.append(r)
            if r.status == 0:
                self.down_until[i - 1] = time.monotonic() + 1.0  # balancer: skip it for a second
        if r.acknowledged() and op.startswith("m:"):
            self.note_token(r)
        return r

    def note_token(self, r: Call) -> None:
        ext = (r.json or {}).get("extensions") or {}
        t = r.token
        if t is None or ext.get("consistencyToken") != t:
            with self.lock:
                self.read_problems.append(f"mutation answer without matching consistency tokens "
                                          f"(header {t!r}, extension {ext.get('consistencyToken')!r}): {r!r}")
            return
        with self.lock:
            if lsn(t) > self.max_token:
                self.max_token, self.max_token_text = lsn(t), t

    def read_problem(self, msg: str) -> None:
        with self.lock:
            self.read_problems.append(msg)

    def visitor(self, v: int) -> None:
        n = 0
        while not self.stop.is_set():
            n += 1
            ip = f"127.{v + 1}.{(n // 250) % 250}.{n % 250 + 1}"  # one client IP per visitor
            r = self.send("m:signInAnonymously", SIGN_IN_ANON, {"p": self.agent["project"]}, xff=ip)
            if not r.acknowledged():
                time.sleep(0.05)
                continue
            token = r.data["signInAnonymously"]["token"]
            uid = r.data["signInAnonymously"]["user"]["id"]
            with self.lock:
                self.users.add(uid)
            mine: dict[str, str] = {}
            contact = None
            last = None
            email = f"v{v}.{n}.{uuid.uuid4().hex[:8]}@cluster.example.com"
            name = f"Visitor {word()}"
            ok = True
            for step in ("request", "capture", "request"):
                if step == "request":
                    r = self.send("m:createRequest", CREATE_REQUEST, {"t": f"visitor {v}/{n} {step}"}, token)
                    if not r.acknowledged():
                        ok = False
                        break
                    d = r.data["createRequest"]
                    if contact is not None and d["contact"]["id"] != contact:
                        self.read_problem(f"visitor {uid}: second request on another contact: {r!r}")
                    contact = d["contact"]["id"]
                    mine[d["request"]["id"]] = d["request"]["requestId"]
                    with self.lock:
                        self.requests[d["request"]["id"]] = (d["request"]["requestId"], contact)
                else:
                    r = self.send("m:captureContactMetadata", CAPTURE,
                                  {"i": {"fullname": name, "email": email, "phone": "+39 06 6988 1234"}}, token)
                    if not r.acknowledged():
                        ok = False
                        break
                    d = r.data["captureContactMetadata"]
                    if d["id"] != contact or d["email"] != email:
                        self.read_problem(f"capture answered another contact or email: {r!r}")
                    with self.lock:
                        self.captures[d["id"]] = (email, int(d["version"]))
                last = r.token
            if not ok or self.stop.is_set():
                continue
            # The visitor reads its own contact back with its consistency token.
            r = self.send("q:viewer", VIEWER, None, token, lsn_text=last)
            if r.acknowledged():
                c = (r.data["viewer"] or {}).get("contact") or {}
                got = {x["id"]: x["requestId"] for x in (c.get("requests") or {}).get("nodes", [])}
                with self.lock:
                    self.reads_checked += 1
                if c.get("id") != contact or c.get("email") != email or got != mine:
                    self.read_problem(f"viewer with token {last} on {r.read_from} misses the visitor's writes "
                                      f"(contact {contact}, {email}, requests {mine}): {r!r}")
            with self.lock:
                self.handoff.append((contact, last, email, name.split()[1]))

    def agent_loop(self, a: int) -> None:
        tok = self.agent["token"]
        n = 0
        mine = None  # the newest consistency token of this agent's own writes
        while not self.stop.is_set():
            n += 1
            sec_email = f"a{a}.{n}.{uuid.uuid4().hex[:8]}@cluster.example.com"
            r = self.send("m:createContact", CREATE_CONTACT,
                          {"i": {"fullname": f"Secondary {word()}", "email": sec_email, "company": "Before"}}, tok)
            if not r.acknowledged():
                time.sleep(0.05)
                continue
            secondary = r.data["createContact"]["id"]
            mine = r.token
            with self.lock:
                self.created[secondary] = sec_email
                job = self.handoff.popleft() if self.handoff else None
            if job is not None:  # edit and merge into a visitor's contact
                primary, visitor_token, p_email, p_word = job
                read_token = max((t for t in (mine, visitor_token) if t), key=lsn)
            else:  # none ready yet: an agent-made primary
                p_word = word()
                p_email = f"p{a}.{n}.{uuid.uuid4().hex[:8]}@cluster.example.com"
                r = self.send("m:createContact", CREATE_CONTACT,
                              {"i": {"fullname": f"Primary {p_word}", "email": p_email}}, tok)
                if not r.acknowledged():
                    continue
                primary = r.data["createContact"]["id"]
                mine = read_token = r.token
                with self.lock:
                    self.created[primary] = p_email
            # Read the primary with the token covering its last write: its current version.
            r = self.send("q:contact", READ_CONTACT, {"id": primary}, tok, lsn_text=read_token)
            if not r.acknowledged():
                continue
            c = r.data["contact"]
            with self.lock:
                self.reads_checked += 1
            if not c or c["id"] != primary or c["email"] != p_email:
                self.read_problem(f"contact({primary}) with token {read_token} on {r.read_from}: "
                                  f"expected email {p_email}: {r!r}")
                continue
            company = f"Edited {a}/{n}"
            r = self.send("m:updateContact", UPDATE_CONTACT,
                          {"i": {"id": primary, "expectedVersion": c["version"], "company": company,
                                 "note": f"edited in the cluster test {n}"}}, tok)
            if not r.acknowledged():
                continue
            mine = r.token
            with self.lock:
                self.updates[primary] = (company, int(r.data["updateContact"]["version"]))
                self.merge_tried[secondary] = primary
            r = self.send("m:mergeContacts", MERGE, {"i": {"primaryId": primary, "secondaryIds": [secondary]}}, tok)
            if not r.acknowledged():
                continue
            mine = r.token
            m = r.data["mergeContacts"]
            with self.lock:
                self.merges[secondary] = primary
            if m["contact"]["id"] != primary or m["mergedContactIds"] != [secondary] or \
                    secondary not in m["contact"]["mergedFrom"] or sec_email not in m["contact"]["additionalEmails"]:
                self.read_problem(f"mergeContacts answered another result: {r!r}")
            # Search with the merge's token: the secondary's email finds the survivor, and so
            # does a word of its name.
            r = self.send("q:contacts", SEARCH, {"email": sec_email, "q": p_word}, tok, lsn_text=mine)
            if r.acknowledged():
                by_email = [x["id"] for x in r.data["byEmail"]["nodes"]]
                by_text = [x["id"] for x in r.data["byText"]["nodes"]]
                with self.lock:
                    self.reads_checked += 1
                if by_email != [primary] or primary not in by_text:
                    self.read_problem(f"search with token {mine} on {r.read_from}: email {sec_email} -> {by_email}, "
                                      f"text {p_word!r} -> {by_text}, expected {primary}: {r!r}")


def run_load(cluster: Cluster, checks: Checks, args) -> None:
    """Check 1: the load, the kill, then its three named checks."""
    t_start = time.monotonic()
    try:
        agent = sign_up(cluster.base(1), "load")
        load = Load(cluster, agent)
        threads = [threading.Thread(target=load.visitor, args=(v,), daemon=True) for v in range(args.visitors)]
        threads += [threading.Thread(target=load.agent_loop, args=(a,), daemon=True) for a in range(args.agents)]
        for t in threads:
            t.start()
        kill_at = args.load_secs * 0.4 + random.random() * 2
        time.sleep(kill_at)
        victim = cluster.instances[1]
        t_kill = time.monotonic()
        victim.kill9()
        log(f"   kill -9 instance 2 (pid {victim.proc.pid}) at t={t_kill - t_start:.1f}s, "
            f"{len(load.calls)} calls so far")
        restarted = cluster.restart(2)
        t_ready = time.monotonic()
        log(f"   instance 2 restarted on port {restarted.port}, ready {t_ready - t_kill:.1f}s after the kill")
        time.sleep(max(0.0, args.load_secs - (time.monotonic() - t_start)))
        load.stop.set()
        for t in threads:
            t.join(timeout=30)
        t_end = time.monotonic()
    except Exception as e:  # noqa: BLE001
        checks.record("load-errors", [f"the load did not run: {type(e).__name__}: {e}\n{traceback.format_exc()}"])
        return

    # --- load-errors: per instance and window --------------------------------------------
    calls = list(load.calls)
    problems = []
    windows = collections.OrderedDict((w, collections.Counter()) for w in ("before", "kill..ready", "after"))
    excused = collections.Counter()
    for c in calls:
        w = "before" if c.done < t_kill else ("after" if c.sent >= t_ready else "kill..ready")
        stats = windows[w]
        stats[(c.instance, "calls")] += 1
        if c.acknowledged():
            stats[(c.instance, "ok")] += 1
        if c.status == 0:
            # The killed instance's cut connections (in flight at the kill) and refused ones
            # (sent while it was down) are expected; any other transport failure is not.
            if c.instance == 2 and c.done >= t_kill and c.sent < t_ready:
                excused["cut" if c.sent < t_kill else "refused"] += 1
                stats[(c.instance, "excused")] += 1
                continue
            problems.append(f"connection error outside the kill window ({w}): {c!r}")
        elif c.status >= 500:
            problems.append(f"HTTP {c.status} ({w}): {c!r}")
        elif c.status != 200:
            problems.append(f"HTTP {c.status} ({w}): {c!r}")
        elif c.errors or c.data is None:
            problems.append(f"GraphQL errors {c.codes()} ({w}): {c!r}")
    after2 = sum(1 for c in calls if c.instance == 2 and c.sent >= t_ready and c.acknowledged())
    if after2 == 0:
        problems.append("the restarted instance 2 acknowledged no call after its restart")
    for i in (1, 3):
        if not any(c.instance == i and t_kill <= c.sent < t_ready and c.acknowledged() for c in calls):
            # Not strictly required (the window may be short), but with ~1 s of restart the
            # survivors must have carried the load.
            if t_ready - t_kill > 0.5:
                problems.append(f"instance {i} served nothing while instance 2 was down")
    acked_writes = sum(1 for c in calls if c.op.startswith("m:") and c.acknowledged())
    by_op = collections.Counter(c.op for c in calls if c.acknowledged())
    log(f"   {len(calls)} calls in {t_end - t_start:.1f}s, {acked_writes} acknowledged writes; by operation: "
        f"{dict(by_op)}")
    for w, stats in windows.items():
        row = []
        for i in (1, 2, 3):
            row.append(f"#{i} {stats[(i, 'calls')]} calls/{stats[(i, 'ok')]} ok"
                       + (f"/{stats[(i, 'excused')]} conn-errors" if stats[(i, 'excused')] else ""))
        log(f"   {w:12} {'; '.join(row)}")
    log(f"   killed instance's connection errors: {excused['cut']} cut in flight, {excused['refused']} refused "
        f"while down; other errors: {len(problems)}")
    if cluster.bouncer.proc.poll() is not None:
        problems.append(f"pgbouncer died (exit {cluster.bouncer.proc.returncode})")
    else:
        through = cluster.bouncer.clients()
        log(f"   pgbouncer holds {through} client connections of instances 1 and 2")
        if through < 2:
            problems.append(f"pgbouncer holds {through} client connections: instances 1 and 2 do not go through it")
    if acked_writes < 50:
        problems.append(f"only {acked_writes} acknowledged writes: the load did not really run")
    if not load.merges or not load.updates or not load.captures:
        problems.append(f"some flow never completed: merges {len(load.merges)}, updates {len(load.updates)}, "
                        f"captures {len(load.captures)}")
    checks.record("load-errors", problems, f"{len(calls)} calls, {excused['cut'] + excused['refused']} excused")

    # --- load-reads -----------------------------------------------------------------------
    problems = list(load.read_problems)
    if load.reads_checked < 10:
        problems.append(f"only {load.reads_checked} reads checked")
    read_from = collections.Counter(c.read_from for c in calls if c.op.startswith("q:") and c.acknowledged())
    checks.record("load-reads", problems, f"{load.reads_checked} token reads checked, served by {dict(read_from)}")

    # --- load-acked-writes ----------------------------------------------------------------
    checks.run("load-acked-writes", verify_load, cluster, load)


def by_ids(alias: str, field: str, selection: str, ids: list[str]) -> tuple[str, dict]:
    """One query reading `field(id:)` for each of `ids` (aliases `<alias>0`, `<alias>1`, ...), and its variables."""
    params = ", ".join(f"$i{k}: ID!" for k in range(len(ids)))
    fields = " ".join(f"{alias}{k}: {field}(id: $i{k}) {{ {selection} }}" for k in range(len(ids)))
    return f"query({params}) {{ {fields} }}", {f"i{k}": id_ for k, id_ in enumerate(ids)}


def verify_load(cluster: Cluster, load: Load) -> tuple[list[str], str]:
    """Every acknowledged write, read back through instance 3 with the newest token."""
    problems: list[str] = []
    base = cluster.base(3)
    tok = load.agent["token"]
    hdr = {"x-consistency-token": load.max_token_text} if load.max_token_text else {}
    contact_ids = sorted(set(load.captures) | set(load.created) | set(load.updates)
                         | {cid for _, cid in load.requests.values()})
    got: dict[str, dict | None] = {}
    for chunk in batched(contact_ids, 20):
        q, variables = by_ids("c", "contact", CHECK_FIELDS, chunk)
        r = call(base, q, variables, tok, hdr, instance=3, op="verify")
        if not r.acknowledged():
            problems.append(f"read-back failed: {r!r}")
            continue
        for k, cid in enumerate(chunk):
            got[cid] = r.data[f"c{k}"]
    users = sorted(load.users)
    found_users = set()
    for chunk in batched(users, 20):
        q, variables = by_ids("u", "node", "__typename ... on User { id }", chunk)
        r = call(base, q, variables, tok, hdr, instance=3, op="verify")
        if not r.acknowledged():
            problems.append(f"read-back of users failed: {r!r}")
            continue
        for k, uid in enumerate(chunk):
            node = r.data[f"u{k}"]
            if node and node.get("__typename") == "User" and node.get("id") == uid:
                found_users.add(uid)
    missing = set(users) - found_users
    if missing:
        problems.append(f"{len(missing)} acknowledged visitors missing, e.g. {sorted(missing)[:3]}")

    found = len(found_users)
    for rid, (request_id, cid) in load.requests.items():
        c = got.get(cid)
        reqs = {x["id"]: x["requestId"] for x in c["requests"]["nodes"]} if c else {}
        if reqs.get(rid) != request_id:
            problems.append(f"acknowledged request {rid} ({request_id}) not on contact {cid}: {c}")
        else:
            found += 1
    for cid, (email, version) in load.captures.items():
        c = got.get(cid)
        if not c or c["id"] != cid or c["email"] != email or c["version"] < version:
            problems.append(f"acknowledged capture of {cid} ({email}, version {version}) not there: {c}")
        else:
            found += 1
    for cid, email in load.created.items():
        c = got.get(cid)
        survivor = load.merges.get(cid)
        allowed = {cid, load.merge_tried.get(cid)}  # a merge whose answer was cut may have committed
        if not c:
            problems.append(f"acknowledged createContact {cid} missing")
        elif survivor is not None and c["id"] != survivor:
            problems.append(f"merged contact {cid} resolves to {c['id']}, not its survivor {survivor}")
        elif survivor is None and c["id"] not in allowed:
            problems.append(f"contact {cid} resolves to {c['id']}")
        elif c["id"] == cid and c["email"] != email:
            problems.append(f"contact {cid}: email {c['email']}, acknowledged {email}")
        else:
            found += 1
    for cid, (company, version) in load.updates.items():
        c = got.get(cid)
        named = (c.get("company") or {}).get("name") if c else None
        if not c or c["id"] != cid or named != company or c["version"] < version:
            problems.append(f"acknowledged updateContact of {cid} (company {company!r}, version {version}) "
                            f"not there: {c}")
        else:
            found += 1
    for secondary, survivor in load.merges.items():
        s = got.get(survivor)
        email = load.created[secondary]
        if not s or secondary not in s["mergedFrom"] or email not in s["additionalEmails"]:
            problems.append(f"acknowledged merge {secondary} -> {survivor} not there: {s}")
        else:
            found += 1
    acked = len(load.users) + len(load.requests) + len(load.captures) + len(load.created) + len(load.updates) \
        + len(load.merges)
    return problems, (f"{acked} acknowledged writes, {found} found (visitors {len(load.users)}, requests "
                      f"{len(load.requests)}, captures {len(load.captures)}, contacts {len(load.created)}, "
                      f"edits {len(load.updates)}, merges {len(load.merges)})")


# --------------------------------------------------------------------------------------------
# 2. The anonymous sign-in budget is shared by the three instances
# --------------------------------------------------------------------------------------------


def check_rate_limit(cluster: Cluster) -> tuple[list[str], str]:
    """A flood of 90 `signInAnonymously` from ONE client IP, 30 per instance, concurrently.

    Exact number allowed (src/ratelimit/postgres.rs): with n = 20 per minute each cell costs
    T = 60 s / n = 3 s. The first call of a fresh key inserts tat = t0 + T (always allowed);
    each next one sets tat = max(tat, now) + T when that is <= now + 60 s. During a burst
    tat stays ahead of now, so after k allowed calls tat = t0 + k*T and call k+1 is allowed
    iff t0 + (k+1)*T <= now + 60 s, i.e. k + 1 <= n + (now - t0)/T. So exactly n (20) are
    allowed while the burst lasts under T = 3 s after its first allowed call, and one more per
    further 3 s. The database's clock decides; the server-side span is inside the client-side
    one (first send .. last answer), so the check allows n + floor(span / 3 s) and asserts
    exactly 20 when the whole flood took under 3 s (it takes well under one second here).

    With per-instance (memory) limits the three would allow 3 x 20 = 60: each instance gets
    30 calls, more than the whole budget, so a total of 20 proves one shared budget."""
    problems: list[str] = []
    project = sign_up(cluster.base(1), "ratelimit")["project"]
    ip = "127.77.0.1"
    plan = [((k % 3) + 1) for k in range(90)]
    barrier = threading.Barrier(30)

    def one(i: int) -> Call:
        try:
            barrier.wait(timeout=10)
        except threading.BrokenBarrierError:
            pass
        return call(cluster.base(i), SIGN_IN_ANON, {"p": project}, headers={"X-Forwarded-For": ip},
                    timeout=20, instance=i, op="signInAnonymously")

    t0 = time.monotonic()
    with ThreadPoolExecutor(30) as pool:
        results = list(pool.map(one, plan))
    span = max(r.done for r in results) - min(r.sent for r in results)
    allowed = collections.Counter()
    limited = collections.Counter()
    for r in results:
        if r.acknowledged() and (r.data.get("signInAnonymously") or {}).get("token"):
            allowed[r.instance] += 1
        elif r.status == 200 and r.codes() == ["RATE_LIMITED"]:
            retry = (r.errors[0].get("extensions") or {}).get("retryAfter")
            if not isinstance(retry, int) or not 1 <= retry <= 60:
                problems.append(f"RATE_LIMITED without a retryAfter in 1..60: {r!r}")
            if (r.data or {}).get("signInAnonymously") is not None:
                problems.append(f"RATE_LIMITED but a token was issued: {r!r}")
            limited[r.instance] += 1
        else:
            problems.append(f"neither a sign-in nor RATE_LIMITED: {r!r}")
    total = sum(allowed.values())
    most = ANON_PER_MIN + int(span // 3.0)
    if span < 3.0:
        if total != ANON_PER_MIN:
            problems.append(f"{total} sign-ins allowed over the three instances, expected exactly {ANON_PER_MIN} "
                            f"(flood took {span:.2f}s < 3 s: no refill)")
    elif not ANON_PER_MIN <= total <= most:
        problems.append(f"{total} sign-ins allowed, expected {ANON_PER_MIN}..{most} (flood took {span:.2f}s)")
    if total + sum(limited.values()) != 90:
        problems.append(f"{90 - total - sum(limited.values())} calls were neither allowed nor limited")
    for i in (1, 2, 3):
        if limited[i] < 30 - most:
            problems.append(f"instance {i} refused only {limited[i]} of its 30 calls")
    # The budget is per IP: another client still signs in, on every instance.
    for i in (1, 2, 3):
        r = call(cluster.base(i), SIGN_IN_ANON, {"p": project}, headers={"X-Forwarded-For": f"127.77.1.{i}"},
                 instance=i, op="signInAnonymously")
        if not (r.acknowledged() and r.data["signInAnonymously"]["token"]):
            problems.append(f"another IP was refused on instance {i}: {r!r}")
    detail = (f"{total} allowed (per instance {dict(sorted(allowed.items()))}), "
              f"{sum(limited.values())} RATE_LIMITED, flood {span:.2f}s, {time.monotonic() - t0:.1f}s in all")
    log(f"   {detail}")
    return problems, detail


# --------------------------------------------------------------------------------------------
# 3. Read-your-writes with replay paused on the replica
# --------------------------------------------------------------------------------------------


def wait_for(pred, timeout: float, step: float = 0.05):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        ok, last = pred()
        if ok:
            return True, last
        time.sleep(step)
    return False, last


def check_replica(cluster: Cluster) -> tuple[list[str], str]:
    problems: list[str] = []
    agent = sign_up(cluster.base(1), "replica")
    tok = agent["token"]
    before, after = f"Before {word(6)}", f"After {word(6)}"
    r = call(cluster.base(1), CREATE_CONTACT, {"i": {"fullname": before}}, tok, op="createContact")
    if not r.acknowledged() or not r.token:
        return [f"createContact: {r!r}"], ""
    cid, t1 = r.data["createContact"]["id"], r.token
    version = r.data["createContact"]["version"]
    if r.read_from != "primary":
        problems.append(f"a mutation's answer says x-read-from {r.read_from!r}, not primary")

    def read(i: int, token: str | None = None, ext: bool = False) -> Call:
        headers = {"x-consistency-token": token} if token and not ext else None
        extensions = {"consistencyToken": token} if token and ext else None
        return call(cluster.base(i), READ_CONTACT, {"id": cid}, tok, headers, extensions, instance=i, op="contact")

    # The replica has the contact (its replay passed t1, as every instance's poller saw).
    ok, last = wait_for(lambda: ((lambda x: (x.read_from == "replica-1" and x.acknowledged(), x))(read(3, t1))), 10)
    if not ok:
        return problems + [f"a read with the create's token never reached the replica in 10 s: {last!r}"], ""
    if (last.data["contact"] or {}).get("fullname") != before:
        problems.append(f"the replica served the create's token without the contact: {last!r}")

    cluster.replica.psql("SELECT pg_wal_replay_pause()")
    ok, state = wait_for(lambda: (lambda s: (s == [["paused"]], s))(
        cluster.replica.psql("SELECT pg_get_wal_replay_pause_state()")), 10)
    if not ok:
        return problems + [f"replay did not pause: {state}"], ""
    try:
        r = call(cluster.base(2), UPDATE_CONTACT, {"i": {"id": cid, "expectedVersion": version, "fullname": after}},
                 tok, instance=2, op="updateContact")
        ext_token = ((r.json or {}).get("extensions") or {}).get("consistencyToken")
        if not r.acknowledged() or r.data["updateContact"]["fullname"] != after:
            return problems + [f"updateContact: {r!r}"], ""
        t2 = r.token
        if not t2 or ext_token != t2:
            problems.append(f"consistency token header {t2!r} and extension {ext_token!r} differ")
        if t2 and lsn(t2) <= lsn(t1):
            problems.append(f"the update's token {t2} is not after the create's {t1}")
        replay = cluster.replica.psql("SELECT pg_last_wal_replay_lsn()")[0][0]
        if t2 and lsn(replay) >= lsn(t2):
            problems.append(f"the paused replica already replayed {replay} >= {t2}: the check proves nothing")
        # Let every instance's poller look at the paused replica at least once more.
        time.sleep(0.3)
        for i in (1, 3):
            x = read(i, t2)
            if not x.acknowledged() or x.read_from != "primary" or x.data["contact"]["fullname"] != after:
                problems.append(f"token read (header) on instance {i} while paused: want primary + {after!r}: {x!r}")
            x = read(i, t2, ext=True)
            if not x.acknowledged() or x.read_from != "primary" or x.data["contact"]["fullname"] != after:
                problems.append(f"token read (extension) on instance {i} while paused: want primary + {after!r}: "
                                f"{x!r}")
            x = read(i)
            if not x.acknowledged() or x.read_from != "replica-1" or x.data["contact"]["fullname"] != before:
                problems.append(f"read without token on instance {i} while paused: want replica-1 + the stale "
                                f"{before!r}: {x!r}")
        x = read(3, "not-a-token")
        if x.status != 200 or x.codes() != ["BAD_REQUEST"]:
            problems.append(f"a malformed consistency token: want BAD_REQUEST: {x!r}")
    finally:
        cluster.replica.psql("SELECT pg_wal_replay_resume()")
    t_resume = time.monotonic()
    wrong = []

    def caught_up():
        x = read(1, t2)
        if x.acknowledged() and x.data["contact"]["fullname"] != after:
            wrong.append(x)
        return x.acknowledged() and x.read_from == "replica-1", x

    ok, last = wait_for(caught_up, 10)
    caught = time.monotonic() - t_resume
    if not ok:
        problems.append(f"after resume, the token read never went back to the replica in 10 s: {last!r}")
    elif last.data["contact"]["fullname"] != after:
        problems.append(f"after resume, the replica served the token read with the old value: {last!r}")
    for x in wrong[:3]:
        problems.append(f"a token read after resume served the old value: {x!r}")
    x = read(2)
    if not x.acknowledged() or x.read_from != "replica-1" or x.data["contact"]["fullname"] != after:
        problems.append(f"after resume, a read without token: want replica-1 + {after!r}: {x!r}")
    for s in cluster.instances:
        rd = common.http("GET", s.base + "/ready", timeout=5)
        dbs = {d.get("name"): d.get("up") for d in (rd.json or {}).get("databases", [])} if rd.json else {}
        if rd.status != 200 or dbs != {"primary": True, "replica-1": True}:
            problems.append(f"/ready of instance {s.n}: {rd!r}")
    return problems, f"token read back on the replica {caught:.2f}s after resume"


# --------------------------------------------------------------------------------------------
# 4. A subscriber on instance 1 sees the writes of instances 2 and 3, each once
# --------------------------------------------------------------------------------------------


def check_subscription(cluster: Cluster) -> tuple[list[str], str]:
    from websockets.sync.client import connect  # tests/abuse/requirements.txt

    problems: list[str] = []
    agent = sign_up(cluster.base(1), "events")
    tok = agent["token"]
    ws_url = cluster.base(1).replace("http://", "ws://") + "/graphql"
    received: list[dict] = []
    with connect(ws_url, subprotocols=["graphql-transport-ws"], open_timeout=10, close_timeout=2) as ws:
        ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {tok}"}}))
        ack = json.loads(ws.recv(timeout=10))
        if ack.get("type") != "connection_ack":
            return [f"connection_init answered {ack}"], ""
        # A fresh project has no events: `after: "0"` replays nothing and goes live, with no
        # race between subscribing and the first write.
        ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": EVENTS, "variables": {"after": "0"}}}))
        time.sleep(0.5)

        written = {2: [], 3: []}  # instance -> [(kind, contactId, field)] from acknowledged writes
        errors: list[str] = []

        def writer(i: int) -> None:
            for k in range(6):
                r = call(cluster.base(i), CREATE_CONTACT, {"i": {"fullname": f"Live {i}-{k} {word(5)}"}}, tok,
                         instance=i, op="createContact")
                if not r.acknowledged():
                    errors.append(f"createContact on {i}: {r!r}")
                    return
                cid = r.data["createContact"]["id"]
                written[i].append(("CREATED", cid, None))
                if i == 2:
                    r = call(cluster.base(i), UPDATE_CONTACT, {"i": {"id": cid, "expectedVersion": 1,
                                                                     "company": f"Co {k}"}}, tok, instance=i,
                             op="updateContact")
                    expect = ("FIELD_CHANGED", cid, "company")
                else:
                    r = call(cluster.base(i), ADD_TAGS, {"i": {"id": cid, "tags": [f"t{k}"]}}, tok, instance=i,
                             op="addContactTags")
                    expect = ("TAGS_CHANGED", cid, None)
                if not r.acknowledged():
                    errors.append(f"{r.op} on {i}: {r!r}")
                    return
                written[i].append(expect)

        t0 = time.monotonic()
        ts = [threading.Thread(target=writer, args=(i,)) for i in (2, 3)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(timeout=60)
        if errors:
            return errors, ""
        # And a merge on instance 3 of a contact written through 2 into one written through 3.
        primary, secondary = written[3][0][1], written[2][0][1]
        r = call(cluster.base(3), MERGE, {"i": {"primaryId": primary, "secondaryIds": [secondary]}}, tok,
                 instance=3, op="mergeContacts")
        if not r.acknowledged():
            return [f"mergeContacts: {r!r}"], ""
        written[3] += [("MERGED", primary, None), ("MERGED_INTO", secondary, None)]
        t_written = time.monotonic()

        # The log's truth: the project's events in `lead_event`, read with SQL on the primary
        # (the API's timeline of a merged-away contact is the survivor's).
        expected = {}
        for pos, kind, cid, field in cluster.primary.psql(
                "SELECT position::text, upper(kind), lead::text, data->>'field' FROM lead_event "
                f"WHERE project_id = '{agent['project']}' ORDER BY position", cluster.db):
            expected[pos] = (kind, cid, field or None)
        for i, w in written.items():
            for kind, cid, field in w:
                if not any(v[0] == kind and v[1] == cid and (field is None or v[2] == field)
                           for v in expected.values()):
                    problems.append(f"the log has no {kind} {field or ''} event for {cid} written on instance {i}")

        # Read events until every expected position arrived (bounded), then 1 s of quiet.
        deadline = time.monotonic() + 15
        quiet_until = None
        while True:
            now = time.monotonic()
            if quiet_until is None and {e["position"] for e in received} >= set(expected):
                quiet_until = now + 1.0
            limit = quiet_until if quiet_until is not None else deadline
            if now >= limit:
                break
            try:
                msg = json.loads(ws.recv(timeout=limit - now))
            except TimeoutError:
                break
            if msg.get("type") == "ping":
                ws.send(json.dumps({"type": "pong"}))
            elif msg.get("type") == "next" and msg.get("id") == "1":
                payload = msg.get("payload") or {}
                if payload.get("errors"):
                    problems.append(f"subscription error: {payload}")
                else:
                    received.append(payload["data"]["contactEvents"])
            else:
                problems.append(f"unexpected message: {msg}")
        latency = (time.monotonic() if quiet_until is None else quiet_until - 1.0) - t_written

    positions = [e["position"] for e in received]
    dupes = [p for p, n in collections.Counter(positions).items() if n > 1]
    if dupes:
        problems.append(f"events delivered more than once: positions {dupes}")
    if [int(p) for p in positions] != sorted(int(p) for p in positions):
        problems.append(f"events out of position order: {positions}")
    got = {e["position"]: (e["kind"], e["contactId"], e["field"]) for e in received}
    missing = sorted(set(expected) - set(got), key=int)
    extra = sorted(set(got) - set(expected), key=int)
    if missing:
        problems.append(f"{len(missing)} events never reached the subscriber on instance 1: "
                        f"{[(p, expected[p]) for p in missing[:5]]}")
    if extra:
        problems.append(f"events that are not in the project's log: {[(p, got[p]) for p in extra[:5]]}")
    for p in set(got) & set(expected):
        if got[p] != expected[p]:
            problems.append(f"position {p}: received {got[p]}, the log has {expected[p]}")
    if len(expected) < 25:
        problems.append(f"only {len(expected)} events in the log for 25 writes")
    return problems, (f"{len(received)} events received for {len(expected)} in the log, last one "
                      f"{max(latency, 0):.2f}s after the last write, {time.monotonic() - t0:.1f}s")


# --------------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--load-secs", type=float, default=24, help="length of the mixed load of check 1")
    ap.add_argument("--visitors", type=int, default=4, help="visitor client threads of check 1")
    ap.add_argument("--agents", type=int, default=2, help="agent client threads of check 1")
    ap.add_argument("--out", default=None, help="directory for logs and databases (kept)")
    ap.add_argument("--keep", action="store_true", help="keep the logs and databases even when all passes")
    args = ap.parse_args()

    # ctrl-c and SIGTERM unwind through the finally below, which stops every process.
    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGINT, on_signal)  # also when started in the background (SIGINT ignored)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    os.environ.pop("CONTACTS_CONFIG", None)

    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="contacts-cluster."))
    out.mkdir(parents=True, exist_ok=True)
    out.chmod(0o755)  # the postgres user reaches its directories below
    keep = args.keep or args.out is not None
    checks = Checks()
    cluster = Cluster(out)
    started = time.monotonic()
    interrupted = False
    log(f"== cluster: PostgreSQL {PG_MAJOR} primary + streaming replica, PgBouncer (session), 3 instances "
        f"({common.server_bin()}); logs in {out}")
    try:
        try:
            cluster.setup()
        except Exception as e:  # noqa: BLE001
            checks.record("setup", [f"{type(e).__name__}: {e}"])
        else:
            log("\n== 1. mixed load through three instances, instance 2 killed with SIGKILL and restarted")
            run_load(cluster, checks, args)
            log("\n== 2. anonymous sign-in flood over three instances: one shared budget")
            checks.run("rate-limit", check_rate_limit, cluster)
            log("\n== 3. read-your-writes with replay paused on the replica")
            checks.run("replica", check_replica, cluster)
            log("\n== 4. a subscriber on instance 1 sees the writes of instances 2 and 3, each once")
            checks.run("subscription", check_subscription, cluster)
            log("\n== 5. integrity of the primary's database")
            checks.run("integrity", lambda: (common.integrity_pg(cluster.primary, cluster.db), ""))
            panics = [f"server-{s.n}.log: {line[:300]}" for s in cluster.instances
                      for line in s.log_tail(10**7).splitlines() if "panicked" in line]
            checks.record("no-panics", panics)
    except KeyboardInterrupt as e:
        interrupted = True
        checks.record("interrupted", [f"stopped by {e or 'ctrl-c'}"])
    finally:
        cluster.teardown()
        for s in list(common._STARTED):
            s.kill9()
    failed = checks.failed
    if failed or keep or interrupted:
        log(f"==> logs and databases kept in {out}")
    else:
        shutil.rmtree(out, ignore_errors=True)
    log(f"==> cluster test took {time.monotonic() - started:.0f}s")
    log(f"cluster: {checks.passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
