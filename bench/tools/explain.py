#!/usr/bin/env python3
"""explain.py --pg PGURL --dir SQLDIR [--label NAME]: EXPLAIN of the statements contacts-server (or
the server --label names, e.g. PostGraphile v5) issues
(captured by capture_sql.py) for the first sample request of each query, as Markdown on stdout.
PostgreSQL: the statement is PREPAREd with its parameters, executed 6 times (so the plan cache has
made its custom-vs-generic choice, as for the server's long-lived prepared statements), then
EXPLAIN (ANALYZE, BUFFERS) EXECUTE. SQLite: the statements contacts-server ran on SQLite for the
same query and their EXPLAIN QUERY PLAN (SQLDIR/<query>.sqlite.json, written by the sqlite_plans
example from the server's own statements and values; SQLite's SQL differs from PostgreSQL's)."""
import argparse, glob, json, os, subprocess

ap = argparse.ArgumentParser()
ap.add_argument("--pg", required=True)
ap.add_argument("--dir", required=True)
ap.add_argument("--label", default="contacts-server")
args = ap.parse_args()


def lit(v):
    return "NULL" if v is None else "'" + v.replace("'", "''") + "'"


def sqlite_section(name):
    """The SQLite statements of query `name` and their plans (indented by the plan's tree), if captured."""
    path = os.path.join(args.dir, f"{name}.sqlite.json")
    if not os.path.exists(path):
        return []
    sts = json.load(open(path))["statements"]
    out = [f"### {name} on SQLite: {len(sts)} statement(s) per request", ""]
    for n, st in enumerate(sts, 1):
        depth = {0: -1}
        lines = []
        for i, parent, detail in st["plan"]:
            depth[i] = depth.get(parent, -1) + 1
            lines.append("  " * depth[i] + detail)
        out += [f"### {name} statement {n} (SQLite, EXPLAIN QUERY PLAN)", "", "```sql", st["inlined"], "```", "",
                "```", "\n".join(lines) or "(no plan: not a query)", "```", ""]
    return out


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
    out += sqlite_section(name)
print("\n".join(out))
