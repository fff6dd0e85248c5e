#!/usr/bin/env python3
"""capture_sql.py --name Q --bodies FILE --count K --url URL --pg PGURL --log POSTGRES_LOG --out DIR

With PostgreSQL's log_statement = 'all' on (run.sh turns it on and off), sends the first K bodies to
contacts-server one at a time, each between two marker statements, and reads back from the log the
exact statements (text and parameter values) the server issued for each request. Writes
  DIR/Q.statements.json   every sample's statements
  DIR/Q.sql.txt           statements per request, and the first sample's SQL with its parameters
  DIR/Q-<k>.pgbench       one pgbench script per sample: the same statements, parameters as :v<k>_<statement>_<j>
  DIR/Q.pgbench.args      pgbench arguments (-f script@1 ... -D v<k>_<s>_<j>=value ...), one per line
so that pgbench -M prepared replays exactly the server's SQL (same text, same parameters, prepared)."""
import argparse, json, os, re, subprocess, sys, time
sys.path.insert(0, os.path.dirname(__file__))
from common import post

ap = argparse.ArgumentParser()
for a in ("name", "bodies", "url", "pg", "log", "out"):
    ap.add_argument("--" + a, required=True)
ap.add_argument("--count", type=int, default=100)
args = ap.parse_args()
lines = open(args.bodies).read().splitlines()[: min(args.count, 120)]


def marker(k):
    subprocess.run(["psql", args.pg, "-qAtc", f"select 'bench-capture-{args.name}-{k}'"], check=True, capture_output=True)


start = os.path.getsize(args.log)
for k, line in enumerate(lines):
    marker(k)
    auth, body = line.split("\t", 1)
    r = post(args.url, body, auth)
    if r.get("errors"):
        sys.exit(f"{args.name} sample {k}: {r['errors']}")
marker(len(lines))
time.sleep(0.5)
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
samples, cur, last_by_pid = [], None, {}
for pid, kind, msg in entries:
    if kind == "LOG" and msg.startswith("statement: select 'bench-capture-"):
        cur = []
        samples.append(cur)
        continue
    if cur is None:
        continue
    if kind == "LOG":
        m = re.match(r"(?:execute [^:]+|statement): (.*)", msg, re.S)
        if m:
            st = {"sql": m.group(1), "params": []}
            cur.append(st); last_by_pid[pid] = st
    elif kind == "DETAIL" and msg.startswith("parameters: ") and pid in last_by_pid:
        last_by_pid[pid]["params"] = [None if v == "NULL" else q.replace("''", "'") for _, v, q in PARAM.findall(msg)]
samples = samples[: len(lines)]   # the statements after the last marker are not a request's
if len(samples) != len(lines) or not all(samples):
    sys.exit(f"{args.name}: captured {len(samples)} samples for {len(lines)} requests (empty: {sum(1 for s in samples if not s)})")

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
        script.append(sql.replace("\n", " ") + ";")
    path = os.path.join(args.out, f"{args.name}-{k}.pgbench")
    open(path, "w").write("\n".join(script) + "\n")
    pgargs = ["-f", f"{path}@1"] + pgargs
open(os.path.join(args.out, f"{args.name}.pgbench.args"), "w").write("\n".join(pgargs) + "\n")
counts = sorted(len(s) for s in samples)
with open(os.path.join(args.out, f"{args.name}.sql.txt"), "w") as f:
    f.write(f"{args.name}: {len(samples)} requests captured; statements per request: min {counts[0]}, max {counts[-1]}\n\n")
    for st in samples[0]:
        f.write(st["sql"] + "\n  -- parameters: " + json.dumps(st["params"]) + "\n\n")
print(f"{args.name}: {len(samples)} requests, {counts[0]}..{counts[-1]} statements each")
