#!/usr/bin/env python3
"""pg_to_sqlite.py PGURL SQLITE_DB PROJECTS          copy the seeded rows from PostgreSQL into SQLite
   pg_to_sqlite.py --reset-writes SQLITE_DB PROJECTS  delete what Q4 wrote (the "Bench writes" project)

The SQLite file must already have the schema, made by contacts-server's own migrations (run.sh starts
the server once on the empty file). Every column the two databases share is copied, encoded the way
sqlx/SeaORM store it on SQLite: UUIDs as 16-byte BLOBs, timestamps as RFC 3339 TEXT
(chrono's to_rfc3339_opts(AutoSi, false): "2023-01-01T00:00:07+00:00"), JSON as TEXT. Generated
columns are skipped; triggers (e.g. a full-text index kept by triggers) fire as for any insert.
Explicit indexes are dropped during the load and re-created from their saved SQL; then ANALYZE, as
PostgreSQL gets VACUUM ANALYZE. A table of TABLES that either database lacks (an older schema) is
skipped. The rows the server writes through its API after the copy (attribute definitions and segments,
tools/organise.py) are not copied: run.sh has the server write them on SQLite too."""
import hashlib, os, sqlite3, subprocess, sys, time

TABLES = ["project", "user", "project_member", "company", "lead", "request"]   # what seed_pg.sql fills


def uid(kind, i):
    h = list(hashlib.md5(f"{kind}:{i}".encode()).hexdigest())
    h[12], h[16] = "4", "8"   # same as bench.uid(): overlay '4' at 13, '8' at 17 (1-based)
    return bytes.fromhex("".join(h))


def reset_writes(db, projects):
    con = sqlite3.connect(db, isolation_level=None, timeout=30)
    w = uid("project", projects)
    con.execute("BEGIN")
    con.execute("DELETE FROM request WHERE project_id = ?", (w,))
    con.execute("DELETE FROM lead WHERE project_id = ?", (w,))
    con.execute("""DELETE FROM "user" WHERE kind = 'ANONYMOUS' AND id IN (SELECT user_id FROM project_member WHERE project_id = ?)""", (w,))
    con.execute("COMMIT")
    con.close()


def unescape(v):
    if "\\" not in v:
        return v
    out, i = [], 0
    while i < len(v):
        c = v[i]
        if c == "\\" and i + 1 < len(v):
            n = v[i + 1]
            out.append({"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "b": "\b", "f": "\f", "v": "\v"}.get(n, n))
            i += 2
        else:
            out.append(c); i += 1
    return "".join(out)


def ts(v):  # PostgreSQL text in UTC "2023-01-01 00:00:07[.123456]+00" -> chrono AutoSi RFC 3339
    date, rest = v[:10], v[11:]
    assert rest.endswith("+00"), v
    clock = rest[:-3]
    if "." in clock:
        hms, frac = clock.split(".")
        frac = frac.ljust(6, "0")
        frac = "." + (frac[:3] if frac[3:] == "000" else frac)
    else:
        hms, frac = clock, ""
    return f"{date}T{hms}{frac}+00:00"


def main():
    if sys.argv[1] == "--reset-writes":
        reset_writes(sys.argv[2], int(sys.argv[3])); return
    pgurl, db = sys.argv[1], sys.argv[2]
    t0 = time.time()
    env = dict(os.environ, PGOPTIONS="-c timezone=UTC")
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("PRAGMA synchronous = OFF")
    con.execute("PRAGMA cache_size = -1000000")
    con.execute("PRAGMA temp_store = MEMORY")
    con.execute("PRAGMA foreign_keys = OFF")
    indexes = con.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL").fetchall()
    con.execute("BEGIN")
    for name, _ in indexes:
        con.execute(f'DROP INDEX "{name}"')
    sqlite_tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    tables = [t for t in TABLES if t in sqlite_tables]
    for t in reversed(tables):
        con.execute(f'DELETE FROM "{t}"')
    for t in tables:
        pgcols = subprocess.run(["psql", pgurl, "-qAt", "-F", "\t", "-c",
            f"select column_name, data_type, is_generated from information_schema.columns "
            f"where table_schema = 'public' and table_name = '{t}' order by ordinal_position"],
            check=True, capture_output=True, text=True).stdout.splitlines()
        sqcols = {r[1] for r in con.execute(f'PRAGMA table_info("{t}")')}
        cols = [(c, ty) for c, ty, gen in (l.split("\t") for l in pgcols) if gen == "NEVER" and c in sqcols]
        if not cols:
            print(f"{t}: not in PostgreSQL's schema, skipped", flush=True)
            continue
        exprs = []
        conv = []
        for c, ty in cols:
            if ty == "uuid":
                exprs.append(f"encode(uuid_send(\"{c}\"), 'hex')"); conv.append(bytes.fromhex)
            elif ty.startswith("timestamp"):
                exprs.append(f'"{c}"::text'); conv.append(ts)
            elif ty in ("integer", "bigint", "smallint"):
                exprs.append(f'"{c}"'); conv.append(int)
            elif ty == "boolean":
                exprs.append(f'"{c}"'); conv.append(lambda v: 1 if v == "t" else 0)
            else:
                exprs.append(f'"{c}"::text'); conv.append(unescape)
        sql = f'COPY (SELECT {", ".join(exprs)} FROM "{t}") TO STDOUT'
        proc = subprocess.Popen(["psql", pgurl, "-qAt", "-c", sql], stdout=subprocess.PIPE, text=True, env=env, bufsize=1 << 20)
        ins = f'INSERT INTO "{t}" ({", ".join(chr(34) + c + chr(34) for c, _ in cols)}) VALUES ({", ".join("?" * len(cols))})'

        def rows():
            for line in proc.stdout:
                vals = line.rstrip("\n").split("\t")
                yield tuple(None if v == "\\N" else f(v) for f, v in zip(conv, vals))
        con.executemany(ins, rows())
        if proc.wait() != 0:
            sys.exit(f"psql COPY of {t} failed")
        count = con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]
        print(f"{t}: {count} rows, {len(cols)} columns ({time.time() - t0:.1f}s)", flush=True)
    for _, sql in indexes:
        con.execute(sql)
    con.execute("COMMIT")
    con.execute("ANALYZE")
    con.execute("PRAGMA journal_mode = WAL")
    con.close()
    print(f"copied in {time.time() - t0:.1f}s (SQLite {sqlite3.sqlite_version})")


main()
