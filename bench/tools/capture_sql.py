#!/usr/bin/env python3
"""capture_sql.py --name Q --bodies FILE --count K --url URL --pg PGURL --log POSTGRES_LOG --out DIR
                 [--label NAME] [--drop REGEX ...]

With PostgreSQL's log_statement = 'all' on (run.sh turns it on and off), sends the first K bodies to a
GraphQL server (contacts-server, or a peer: --label names it in the output) one at a time, each between
two marker statements, and reads back from the log the exact statements (text and parameter values) the
server issued for each request (only sessions connected to the --pg database: the log is the whole
cluster's, shared with whatever else runs there): simple-protocol "statement: ..." lines and extended-protocol
"execute <name>: ..." lines with their "DETAIL:  parameters: $1 = '...'" line. Statements matching a
--drop regular expression (case-insensitive, from the start of the text) are not part of the replay
(connection setup that a pool issues once per connection, not per request); they are counted in Q.sql.txt.
Writes
  DIR/Q.statements.json   every sample's (replayed) statements
  DIR/Q.sql.txt           statements per request, and the first sample's SQL with its parameters
  DIR/Q-<k>.pgbench       one pgbench script per sample: the same statements, parameters as :v<k>_<statement>_<j>
  DIR/Q.pgbench.args      pgbench arguments (-f script@1 ... -D v<k>_<s>_<j>=value ...), one per line
so that pgbench -M prepared replays exactly the server's SQL (same text, same parameters, prepared). pgbench
takes every ":name" as a variable, even inside a string literal, so a literal holding ':' (PostGraphile's
to_char format 'YYYY-MM-DD"T"HH24:MI:SS...') is written as the same constant in Unicode-escape form
(U&'...\003A...'); the text is otherwise unchanged."""
import argparse, json, os, re, subprocess, sys, time
sys.path.insert(0, os.path.dirname(__file__))
from common import post

ap = argparse.ArgumentParser()
for a in ("name", "bodies", "url", "pg", "log", "out"):
    ap.add_argument("--" + a, required=True)
ap.add_argument("--count", type=int, default=100)
ap.add_argument("--label", default="contacts-server")
ap.add_argument("--drop", action="append", default=[], help="regex: statements not replayed (connection setup)")
args = ap.parse_args()
lines = open(args.bodies).read().splitlines()[: min(args.count, 120)]


def marker(k):
    """Logs the marker statement; returns its backend's pid and the pids of the other sessions then connected
    to this database (the server's pool): the log is the whole cluster's, other databases' sessions are not
    the server's."""
    out = subprocess.run(["psql", args.pg, "-qAtc", f"select 'bench-capture-{args.name}-{k}', pg_backend_pid(), (select "
                          "string_agg(pid::text, ',') from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid())"],
                         check=True, capture_output=True, text=True).stdout.strip().split("|")
    return out[1], set(filter(None, out[2].split(",")))


start = os.path.getsize(args.log)
marks = []
for k, line in enumerate(lines):
    marks.append(marker(k))
    auth, body = line.split("\t", 1)
    r = post(args.url, body, auth)
    if r.get("errors"):
        sys.exit(f"{args.name} sample {k}: {r['errors']}")
marks.append(marker(len(lines)))
time.sleep(0.5)
mark_pids = {m[0] for m in marks}
# sample k: statements between markers k and k+1 from sessions of this database seen by either marker
allowed = [marks[k][1] | marks[k + 1][1] for k in range(len(lines))] + [set()]
with open(args.log, errors="replace") as f:
    f.seek(start)
    text = f.read()

HEAD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? \S+ \[(\d+)\] (\w+):  (.*)$")
entries = []
for l in text.splitlines():
    m = HEAD.match(l)
    if m:
        entries.append([m.group(1), m.group(2), m.group(3)])
    elif entries:
        entries[-1][2] += "\n" + l
PARAM = re.compile(r"\$(\d+) = (NULL|'((?:[^']|'')*)')")
DROP = [re.compile(d, re.I) for d in args.drop]
samples, cur, last_by_pid, dropped, foreign = [], None, {}, {}, 0
for pid, kind, msg in entries:
    if kind == "LOG" and msg.startswith("statement: select 'bench-capture-") and pid in mark_pids:
        cur = []
        samples.append(cur)
        continue
    if cur is None:
        continue
    if pid not in allowed[min(len(samples) - 1, len(lines))]:
        foreign += kind == "LOG"   # another database's session (or this run's marker psql)
        continue
    if kind == "LOG":
        m = re.match(r"(?:execute [^:]+|statement): (.*)", msg, re.S)
        if m:
            st = {"sql": m.group(1), "params": []}
            if any(d.match(st["sql"]) for d in DROP):
                dropped[st["sql"]] = dropped.get(st["sql"], 0) + 1
                last_by_pid[pid] = {"params": []}   # its parameters, if any, go nowhere
                continue
            cur.append(st); last_by_pid[pid] = st
    elif kind == "DETAIL" and msg.startswith("parameters: ") and pid in last_by_pid:
        last_by_pid[pid]["params"] = [None if v == "NULL" else q.replace("''", "'") for _, v, q in PARAM.findall(msg)]
samples = samples[: len(lines)]   # the statements after the last marker are not a request's
if len(samples) != len(lines) or not all(samples):
    sys.exit(f"{args.name}: captured {len(samples)} samples for {len(lines)} requests (empty: {sum(1 for s in samples if not s)})")


def no_colon_literals(sql):
    """Standard string literals holding ':' -> the same constant as U&'...' with \\003A for ':' (and \\\\ for a
    backslash): pgbench then sees no ':name' in them."""
    def lit(m):
        body = m.group(2)
        if ":" not in body or m.group(1):
            return m.group(0)
        return "U&'" + body.replace("\\", "\\\\").replace(":", "\\003A") + "'"
    return re.sub(r"(?<![\w$])([eE])?'((?:[^']|'')*)'", lit, sql)


os.makedirs(args.out, exist_ok=True)
json.dump(samples, open(os.path.join(args.out, f"{args.name}.statements.json"), "w"), indent=1)
pgargs = []
for k, sts in enumerate(samples):
    script = []
    for si, st in enumerate(sts, 1):
        sql = st["sql"]
        for j in range(len(st["params"]), 0, -1):
            v = st["params"][j - 1]
            if v is None:
                sql = re.sub(rf"\${j}(?!\d)", "NULL", sql)
            else:
                sql = re.sub(rf"\${j}(?!\d)", f":v{k}_{si}_{j}", sql)
                pgargs += ["-D", f"v{k}_{si}_{j}={v}"]
        script.append(no_colon_literals(sql).replace("\n", " ").rstrip().rstrip(";").rstrip() + ";")
    path = os.path.join(args.out, f"{args.name}-{k}.pgbench")
    open(path, "w").write("\n".join(script) + "\n")
    pgargs = ["-f", f"{path}@1"] + pgargs
open(os.path.join(args.out, f"{args.name}.pgbench.args"), "w").write("\n".join(pgargs) + "\n")
counts = sorted(len(s) for s in samples)
with open(os.path.join(args.out, f"{args.name}.sql.txt"), "w") as f:
    f.write(f"{args.name} ({args.label}): {len(samples)} requests captured; statements per request: min {counts[0]}, max {counts[-1]}\n")
    for sql, c in dropped.items():
        f.write(f"not replayed (connection setup, {c}x in the capture): {sql.strip()}\n")
    f.write("\n")
    for st in samples[0]:
        f.write(st["sql"] + "\n  -- parameters: " + json.dumps(st["params"]) + "\n\n")
print(f"{args.name} ({args.label}): {len(samples)} requests, {counts[0]}..{counts[-1]} statements each"
      + "".join(f"; dropped {c}x: {sql.strip()[:60]}" for sql, c in dropped.items())
      + (f"; ignored {foreign} log entries of other sessions" if foreign else ""))
