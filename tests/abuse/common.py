"""Shared helpers of the abuse tests: run the server, talk GraphQL, run a throwaway PostgreSQL
cluster, and check a database's integrity after the fact.

Standard library only (the fuzz run adds Schemathesis on top), so crash.py and db_down.py run
with a bare python3.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
JWT_SECRET = "abuse-tests-secret-0123456789abcdef-0123456789"

# Rate limits off for the load and fuzz tests (0 disables a limit): they would otherwise turn
# most of the generated traffic into RATE_LIMITED and the resolvers would go untested.
NO_RATE_LIMITS = {
    "RATE_LIMIT_ANONYMOUS_PER_MIN": "0",
    "RATE_LIMIT_SIGN_IN_PER_MIN": "0",
    "RATE_LIMIT_MUTATIONS_PER_MIN": "0",
}


def log(msg: str) -> None:
    print(msg, flush=True)


def server_bin() -> Path:
    return Path(os.environ.get("CONTACTS_SERVER_BIN", REPO / "target" / "debug" / "contacts-server"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------------------------
# HTTP / GraphQL
# --------------------------------------------------------------------------------------------


class HttpResult:
    """One HTTP exchange: status (0 on a transport failure), parsed JSON body or None."""

    def __init__(self, status: int, body: bytes, elapsed: float, error: str | None = None):
        self.status = status
        self.raw = body
        self.elapsed = elapsed
        self.error = error
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None

    @property
    def errors(self) -> list:
        if isinstance(self.json, dict) and isinstance(self.json.get("errors"), list):
            return self.json["errors"]
        return []

    @property
    def data(self):
        return self.json.get("data") if isinstance(self.json, dict) else None

    def codes(self) -> list[str]:
        out = []
        for e in self.errors:
            ext = e.get("extensions") if isinstance(e, dict) else None
            out.append(str(ext.get("code")) if isinstance(ext, dict) and "code" in ext else "<none>")
        return out

    def acknowledged(self) -> bool:
        """HTTP 200 with data and no errors: what a client takes as 'written'."""
        return self.status == 200 and self.data is not None and not self.errors

    def __repr__(self) -> str:
        return f"HTTP {self.status} ({self.elapsed:.2f}s) {self.raw[:500]!r}"


def http(method: str, url: str, body: bytes | None = None, headers: dict | None = None, timeout: float = 10.0) -> HttpResult:
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    start = time.monotonic()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return HttpResult(resp.status, resp.read(), time.monotonic() - start)
    except urllib.error.HTTPError as e:
        return HttpResult(e.code, e.read(), time.monotonic() - start)
    except Exception as e:  # connection refused/reset, timeout
        return HttpResult(0, b"", time.monotonic() - start, error=f"{type(e).__name__}: {e}")


def keep_alive_timeout(header: str | None) -> float:
    """Seconds from a `Keep-Alive: timeout=N[, max=M]` response header (MDN "Keep-Alive"), or
    infinity when absent or unparsable: how long the server keeps an idle connection open."""
    for part in (header or "").split(","):
        key, _, value = part.strip().partition("=")
        if key.lower() == "timeout":
            try:
                return float(value)
            except ValueError:
                break
    return float("inf")


def gql(base: str, query: str, variables: dict | None = None, token: str | None = None, timeout: float = 10.0) -> HttpResult:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    payload = {"query": query}
    if variables is not None:
        payload["variables"] = variables
    return http("POST", base + "/graphql", json.dumps(payload).encode(), headers, timeout)


SIGN_UP = """mutation($input: SignUpInput!) { signUp(input: $input) { token role user { id } project { id } } }"""
SIGN_IN_ANON = """mutation($p: ID!) { signInAnonymously(input: { projectId: $p }) { token user { id } } }"""
CREATE_REQUEST = """mutation($t: String!) { createRequest(input: { firstText: $t }) { request { id requestId } contact { id leadId } } }"""
CAPTURE = """mutation($i: CaptureContactMetadataInput!) { captureContactMetadata(input: $i) { id leadId email phone version } }"""


AGENT_PASSWORD = "correct horse battery"


def sign_up(base: str, tag: str) -> dict:
    email = f"agent-{tag}-{uuid.uuid4().hex[:8]}@example.com"
    r = gql(base, SIGN_UP, {"input": {
        "email": email,
        "password": AGENT_PASSWORD,
        "fullname": f"Agent {tag}",
        "projectName": f"Project {tag}",
    }})
    if not r.acknowledged():
        raise RuntimeError(f"signUp failed: {r!r}")
    d = r.data["signUp"]
    return {"token": d["token"], "user": d["user"]["id"], "project": d["project"]["id"], "email": email}


def sign_in_anon(base: str, project: str, timeout: float = 10.0) -> HttpResult:
    return gql(base, SIGN_IN_ANON, {"p": project}, timeout=timeout)


# --------------------------------------------------------------------------------------------
# The server process
# --------------------------------------------------------------------------------------------


_STARTED: list["Server"] = []


@atexit.register
def _stop_leftover_servers() -> None:
    """A test that dies half-way leaves no server behind."""
    for server in _STARTED:
        server.kill9()


class Server:
    """contacts-server as a child process on a free loopback port."""

    def __init__(self, database_url: str, log_path: Path, env: dict | None = None):
        self.database_url = database_url
        self.log_path = log_path
        self.extra_env = dict(env or {})
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> None:
        env = dict(os.environ)
        env.update({
            "DATABASE_URL": self.database_url,
            "BIND": f"127.0.0.1:{self.port}",
            "JWT_SECRET": JWT_SECRET,
            "RUST_LOG": env.get("RUST_LOG", "warn"),
        })
        env.update(self.extra_env)
        logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen([str(server_bin())], env=env, stdout=logf, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        logf.close()
        _STARTED.append(self)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}; log: {self.log_tail()}")
            if http("GET", self.base + "/health", timeout=1).status == 200:
                return
            time.sleep(0.05)
        self.kill9()
        raise RuntimeError(f"server not healthy within {timeout}s; log: {self.log_tail()}")

    def kill9(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, n: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""


# --------------------------------------------------------------------------------------------
# PostgreSQL: a throwaway cluster (the way scripts/test.sh makes one)
# --------------------------------------------------------------------------------------------


def pg_bin_dir() -> Path | None:
    if os.environ.get("PG_BIN"):
        return Path(os.environ["PG_BIN"])
    for d in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (d / "initdb").exists():
            return d
    found = shutil.which("initdb")
    return Path(found).parent if found else None


class PgCluster:
    """initdb + pg_ctl on a free loopback port under a temporary directory. As root, the cluster
    runs as the unprivileged `postgres` user (initdb refuses root)."""

    def __init__(self):
        bindir = pg_bin_dir()
        if bindir is None:
            raise RuntimeError("PostgreSQL binaries not found (apt-get install postgresql, or set PG_BIN)")
        self.bin = bindir
        self.tmp = Path(tempfile.mkdtemp(prefix="contacts-abuse-pg."))
        self.data = self.tmp / "data"
        self.port = free_port()
        self.runas: list[str] = []
        if os.geteuid() == 0:
            user = "postgres"
            try:
                subprocess.run(["id", "postgres"], check=True, capture_output=True)
            except subprocess.CalledProcessError:
                user = "nobody"
            shutil.chown(self.tmp, user)
            self.runas = ["runuser", "-u", user, "--"]

    def url(self, db: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{db}"

    def _ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(self.runas + [str(self.bin / "pg_ctl"), "-D", str(self.data), *args],
                              check=check, capture_output=True, text=True)

    def init(self) -> None:
        subprocess.run(self.runas + [str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
                                     "--no-sync", "-E", "UTF8"], check=True, capture_output=True)

    def start(self) -> None:
        opts = (f"-h 127.0.0.1 -p {self.port} -k {self.tmp} -c fsync=off -c full_page_writes=off "
                f"-c max_connections=200")
        self._ctl("-l", str(self.tmp / "log"), "-w", "-t", "60", "-o", opts, "start")

    def stop(self, mode: str = "fast") -> None:
        self._ctl("-m", mode, "-w", "stop", check=False)

    def destroy(self) -> None:
        self._ctl("-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def psql(self, sql: str, db: str = "postgres") -> list[list[str]]:
        """Runs `sql`; returns the rows of the last statement (fields split on \\x1f)."""
        out = subprocess.run([str(self.bin / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", "-F", "\x1f",
                              "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", db, "-c", sql],
                             check=True, capture_output=True, text=True)
        return [line.split("\x1f") for line in out.stdout.splitlines() if line != ""]

    def create_db(self, name: str) -> str:
        self.psql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def __enter__(self) -> "PgCluster":
        self.init()
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.destroy()


# --------------------------------------------------------------------------------------------
# Integrity checks, run on the database after the server is stopped
# --------------------------------------------------------------------------------------------

# Each query counts rows that break a rule; every count must be 0. Portable SQL (SQLite and
# PostgreSQL); ids are compared as stored (UUID on PostgreSQL, text/blob on SQLite).
LOGICAL_CHECKS: list[tuple[str, str]] = [
    ("lead without its project",
     "SELECT count(*) FROM lead l WHERE NOT EXISTS (SELECT 1 FROM project p WHERE p.id = l.project_id)"),
    ("request without its lead",
     "SELECT count(*) FROM request r WHERE NOT EXISTS (SELECT 1 FROM lead l WHERE l.id = r.lead)"),
    ("request without its project",
     "SELECT count(*) FROM request r WHERE NOT EXISTS (SELECT 1 FROM project p WHERE p.id = r.project_id)"),
    ("request without its requester user",
     'SELECT count(*) FROM request r WHERE NOT EXISTS (SELECT 1 FROM "user" u WHERE u.id = r.requester_id)'),
    ("request whose lead is in another project",
     "SELECT count(*) FROM request r JOIN lead l ON l.id = r.lead WHERE l.project_id <> r.project_id"),
    ("request whose requester is not a member of its project",
     "SELECT count(*) FROM request r WHERE NOT EXISTS (SELECT 1 FROM project_member m "
     "WHERE m.user_id = r.requester_id AND m.project_id = r.project_id)"),
    ("project_member without its project or user",
     'SELECT count(*) FROM project_member m WHERE NOT EXISTS (SELECT 1 FROM project p WHERE p.id = m.project_id) '
     'OR NOT EXISTS (SELECT 1 FROM "user" u WHERE u.id = m.user_id)'),
    ("duplicate (project_id, lead_id) in lead",
     "SELECT count(*) FROM (SELECT project_id, lead_id FROM lead GROUP BY project_id, lead_id HAVING count(*) > 1) d"),
    ("duplicate request_id in request",
     "SELECT count(*) FROM (SELECT request_id FROM request GROUP BY request_id HAVING count(*) > 1) d"),
    ("duplicate agent login_email",
     'SELECT count(*) FROM (SELECT login_email FROM "user" WHERE login_email IS NOT NULL '
     "GROUP BY login_email HAVING count(*) > 1) d"),
    ("duplicate (project_id, user_id) in project_member",
     "SELECT count(*) FROM (SELECT project_id, user_id FROM project_member GROUP BY project_id, user_id "
     "HAVING count(*) > 1) d"),
    ("lead with an email but no email_key (or the reverse)",
     "SELECT count(*) FROM lead WHERE (email IS NULL) <> (email_key IS NULL)"),
    ("lead with an unknown status", "SELECT count(*) FROM lead WHERE status NOT IN (50, 100, 1000, 2000)"),
    ("lead merged (status 2000) without merged_into, or the reverse",
     "SELECT count(*) FROM lead WHERE (status = 2000) <> (merged_into IS NOT NULL)"),
    ("tombstone not pointing at a surviving lead of its project",
     "SELECT count(*) FROM lead t WHERE t.merged_into IS NOT NULL AND NOT EXISTS (SELECT 1 FROM lead s "
     "WHERE s.id = t.merged_into AND s.project_id = t.project_id AND s.merged_into IS NULL)"),
    ("request left on a merged-away lead",
     "SELECT count(*) FROM request r JOIN lead l ON l.id = r.lead WHERE l.merged_into IS NOT NULL"),
    ("lead with version < 1", "SELECT count(*) FROM lead WHERE version < 1"),
    ("lead with requests but no last_request_at",
     "SELECT count(*) FROM lead l WHERE l.last_request_at IS NULL AND EXISTS (SELECT 1 FROM request r WHERE r.lead = l.id)"),
    ("lead linked to a missing company or another project's",
     "SELECT count(*) FROM lead l WHERE l.company_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM company c "
     "WHERE c.id = l.company_id AND c.project_id = l.project_id)"),
    ("lead whose company text is not its linked company's name (or has a name without a link)",
     "SELECT count(*) FROM lead l LEFT JOIN company c ON c.id = l.company_id "
     "WHERE (l.company_id IS NOT NULL AND (l.company IS NULL OR l.company <> c.name)) "
     "OR (l.company_id IS NULL AND l.company IS NOT NULL)"),
    ("duplicate (project_id, domain) in company",
     "SELECT count(*) FROM (SELECT project_id, domain FROM company WHERE domain IS NOT NULL "
     "GROUP BY project_id, domain HAVING count(*) > 1) d"),
    ("erased lead still holding personal data",
     "SELECT count(*) FROM lead WHERE erased_at IS NOT NULL AND (fullname IS NOT NULL OR email IS NOT NULL "
     "OR phone IS NOT NULL OR company IS NOT NULL OR note IS NOT NULL)"),
]


def integrity_sqlite(path: Path) -> list[str]:
    """Problems found in the SQLite file at `path` (empty = passes)."""
    problems = []
    con = sqlite3.connect(str(path))
    try:
        rows = con.execute("PRAGMA integrity_check").fetchall()
        if rows != [("ok",)]:
            problems.append(f"PRAGMA integrity_check: {rows[:10]}")
        rows = con.execute("PRAGMA foreign_key_check").fetchall()
        if rows:
            problems.append(f"PRAGMA foreign_key_check: {len(rows)} rows, e.g. {rows[:5]}")
        try:
            # FTS5 external-content index agrees with the lead table.
            con.execute("INSERT INTO lead_fts(lead_fts, rank) VALUES ('integrity-check', 1)")
        except sqlite3.DatabaseError as e:
            problems.append(f"lead_fts integrity-check: {e}")
        for name, sql in LOGICAL_CHECKS + [
            ("lead tags/attributes not valid JSON",
             "SELECT count(*) FROM lead WHERE NOT json_valid(tags) OR NOT json_valid(attributes)"),
        ]:
            n = con.execute(sql).fetchone()[0]
            if n:
                problems.append(f"{name}: {n}")
    finally:
        con.close()
    return problems


def integrity_pg(cluster: PgCluster, db: str) -> list[str]:
    """Problems found in PostgreSQL database `db` (empty = passes): constraints validated,
    B-tree indexes verified by amcheck, and the logical rules."""
    problems = []
    rows = cluster.psql("SELECT conrelid::regclass || '.' || conname FROM pg_constraint c "
                        "JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = 'public' AND NOT convalidated",
                        db)
    if rows:
        problems.append(f"constraints not validated: {rows}")
    # Constraints really hold (re-check each FK and unique key from scratch).
    cons = cluster.psql("SELECT conrelid::regclass, conname, contype FROM pg_constraint c JOIN pg_namespace n "
                        "ON n.oid = c.connamespace WHERE n.nspname = 'public' AND contype IN ('f','u','p')", db)
    if not cons:
        problems.append("no constraints found in schema public")
    try:
        cluster.psql("CREATE EXTENSION IF NOT EXISTS amcheck", db)
        rows = cluster.psql(
            "SELECT c.relname, bt_index_check(index => c.oid, heapallindexed => true) IS NULL "
            "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE am.amname = 'btree' AND n.nspname = 'public'", db)
        if not rows:
            problems.append("amcheck verified no index")
    except subprocess.CalledProcessError as e:
        problems.append(f"amcheck: {e.stderr.strip()}")
    for name, sql in LOGICAL_CHECKS:
        n = int(cluster.psql(sql, db)[0][0])
        if n:
            problems.append(f"{name}: {n}")
    return problems


def write_sqlite_url(path: Path) -> str:
    return f"sqlite://{path}?mode=rwc"


def fail(msg: str) -> None:
    print(f"FAIL: {msg}", file=sys.stderr, flush=True)
