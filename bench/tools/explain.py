#!/usr/bin/env python3
"""explain.py --pg PGURL --sqlite DB --dir SQLDIR [--label NAME]: EXPLAIN of the statements contacts-server (or
the server --label names, e.g. PostGraphile v5) issues
(captured by capture_sql.py) for the first sample request of each query, as Markdown on stdout.
PostgreSQL: the statement is PREPAREd with its parameters, executed 6 times (so the plan cache has
made its custom-vs-generic choice, as for the server's long-lived prepared statements), then
EXPLAIN (ANALYZE, BUFFERS) EXECUTE. SQLite: EXPLAIN QUERY PLAN of the same text ($n -> ?n)."""
import argparse, glob, json, os, re, sqlite3, subprocess, uuid

ap = argparse.ArgumentParser()
ap.add_argument("--pg", required=True)
ap.add_argument("--sqlite", default="")
ap.add_argument("--dir", required=True)
ap.add_argument("--label", default="contacts-server")
args = ap.parse_args()


def lit(v):
    return "NULL" if v is None else "'" + v.replace("'", "''") + "'"


def sqlite_param(v):
    if v is None:
        return None
    try:
        return uuid.UUID(v).bytes if len(v) == 36 else int(v)
    except ValueError:
        try:
            return int(v)
        except ValueError:
            return v


out = [f"# EXPLAIN of the SQL {args.label} issues", ""]
for path in sorted(glob.glob(os.path.join(args.dir, "*.statements.json"))):
    name = os.path.basename(path).split(".")[0]
    sample = json.load(open(path))[0]
    out.append(f"## {name}: {len(sample)} statement(s) per request")
    for n, st in enumerate(sample, 1):
        ps = ", ".join(lit(v) for v in st["params"])
        execute = f"EXECUTE s{n}({ps})" if st["params"] else f"EXECUTE s{n}"
        script = f"PREPARE s{n} AS {st['sql'].rstrip().rstrip(';')};\n" + f"{execute};\n" * 6 + f"EXPLAIN (ANALYZE, BUFFERS) {execute};\n"
        res = subprocess.run(["psql", args.pg, "-X", "-qAt", "-v", "ON_ERROR_STOP=1", "-o", "/dev/null", "-c", "select 1"],
                             capture_output=True, text=True)
        res = subprocess.run(["psql", args.pg, "-X", "-q", "-v", "ON_ERROR_STOP=1"], input=script, capture_output=True, text=True)
        plan = res.stdout.split("QUERY PLAN", 1)[-1] if "QUERY PLAN" in res.stdout else res.stdout + res.stderr
        plan = "\n".join(l for l in plan.splitlines() if l.strip() and not set(l.strip()) <= {"-"} and not l.strip().startswith("("))
        out += [f"### {name} statement {n} (PostgreSQL)", "", "```sql", st["sql"], f"-- parameters: {json.dumps(st['params'])}", "```", "",
                "```", plan.strip(), "```", ""]
        if args.sqlite and os.path.exists(args.sqlite):
            sql = re.sub(r"\$(\d+)", r"?\1", st["sql"])
            try:
                con = sqlite3.connect(f"file:{args.sqlite}?mode=ro", uri=True)
                rows = con.execute("EXPLAIN QUERY PLAN " + sql, [sqlite_param(v) for v in st["params"]]).fetchall()
                con.close()
                qp = "\n".join(f"{'  ' * (0 if r[1] == 0 else 1)}{r[3]}" for r in rows)
            except sqlite3.Error as e:
                qp = f"(SQLite could not plan this text: {e})"
            out += [f"### {name} statement {n} (SQLite, EXPLAIN QUERY PLAN)", "", "```", qp, "```", ""]
print("\n".join(out))
