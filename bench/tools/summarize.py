#!/usr/bin/env python3
"""summarize.py --dir RESULTS_DIR: the Markdown report of one run (printed by run.sh, saved as
summary.md): environment, one table per query (medians over rounds), startup, scaling, the issue's
targets as met / missed, checks, statements per request, the SQL contacts-server and PostGraphile v5 issued
(raw-SQL limits pgbench and pgbench-pg5), and the EXPLAIN plans."""
import argparse, csv, glob, json, os, statistics

ap = argparse.ArgumentParser()
ap.add_argument("--dir", required=True)
d = ap.parse_args().dir
rd = lambda f: list(csv.DictReader(open(os.path.join(d, f)), delimiter="\t")) if os.path.exists(os.path.join(d, f)) else []
rows = rd("results.tsv")
NAMES = {"q1_email": "Q1 contacts(email:) with nested requests", "q2_page": "Q2 contacts(first: 20) with nested requests",
         "q3_by_id": "Q3 contact(id:) with its requests", "q4_visitor": "Q4 visitor write flow (3 requests)",
         "q5_search": "Q5 full-text search",
         "q6_attribute_eq": "Q6 contacts(attributeFilters: plan eq) + totalCount (LIST key, GIN index)",
         "q7_attribute_range": "Q7 contacts(attributeFilters: seats gt) + totalCount (NUMBER range, no index)",
         "q8_segments": "Q8 segments { id name contactsCount } (11 live counts, one statement)"}
# contacts-server only, as Q5: what each measures (the peers have no typed attributes or segments)
NOTES = {"q6_attribute_eq": "Variables {\"plan\": Free | Pro | Team | Enterprise} (uniform over the options; 45 % .. 4.5 % of a "
                            "project's contacts match), first 20 newest and totalCount. Peers: none.",
         "q7_attribute_range": "Variables {\"min\": 2 | 10 | 25 | 50 | 100 | 250} (seats > min: 46 % .. 1.5 % of a project's "
                               "contacts), first 20 newest and totalCount. Peers: none.",
         "q8_segments": "The agent's project's 11 saved segments (tools/segments.py: tags, hasEmail, status, search, "
                        "attributeFilters eq/in/gt/lt/exists) with their live counts. Peers: none."}
ORDER = ["self-pg", "self-sqlite", "postgraphile5", "postgraphile4", "apollo4", "pgbench", "pgbench-pg5", "limit"]
RAW = ("pgbench", "pgbench-pg5")
LABEL = {"self-pg": "contacts-server (PostgreSQL)", "self-sqlite": "contacts-server (SQLite)", "postgraphile5": "PostGraphile v5",
         "postgraphile4": "PostGraphile v4", "apollo4": "Apollo Server 4", "pgbench": "raw-SQL limit (pgbench, contacts-server's SQL)",
         "pgbench-pg5": "raw-SQL limit (pgbench, PostGraphile v5's SQL)", "limit": "HTTP limit (bare axum)"}
agg = {}
for r in rows:
    agg.setdefault((r["query"], r["target"]), []).append(r)


def med(rs, k):
    vals = [float(r[k]) for r in rs if r[k] not in ("", "-")]
    return statistics.median(vals) if vals else None


def f(v, fmt="{:.2f}"):
    return "-" if v is None else fmt.format(v)


out = ["# contacts-server benchmark", ""]
if os.path.exists(os.path.join(d, "env.txt")):
    out += ["```"] + open(os.path.join(d, "env.txt")).read().strip().splitlines() + ["```", ""]
out += ["req/s: median over rounds (Q4: completed visitor flows per second; its p50/p99 are per HTTP request).",
        "CPU ms per request (per flow for Q4) from /proc: server = the target's process tree, DB = all PostgreSQL processes",
        "(SQLite runs inside the server: its CPU is in the server column). Peak RSS = VmHWM of the target's largest process",
        "so far in the run. x PG v5 = req/s ratio to PostGraphile v5; % raw SQL = req/s as a share of pgbench replaying the",
        "exact statements contacts-server issued for that query (same text, same parameters, prepared); % PG5 SQL = the same",
        "share of pgbench replaying the statements PostGraphile v5 issued (the second raw-SQL limit, when measured).", ""]
queries = [q for q in NAMES if any(k[0] == q for k in agg)]
value = {}
for q in queries:
    ref = agg.get((q, "postgraphile5"))
    ref_rps = med(ref, "rps") if ref else None
    raw = agg.get((q, "pgbench"))
    raw_rps = med(raw, "rps") if raw else None
    raw5 = agg.get((q, "pgbench-pg5"))
    raw5_rps = med(raw5, "rps") if raw5 else None
    conns = sorted({r["conns"] for t in ORDER if t not in RAW for r in agg.get((q, t), [])})
    note = NOTES.get(q, "")
    if q in NOTES and conns:
        note += f" {', '.join(conns)} wrk connection(s) and pgbench client(s) (DASHBOARD_CONNS; the other queries: CONNS, PGBENCH_CLIENTS)."
    out += [f"## {NAMES[q]}", ""] + ([note.strip(), ""] if note else []) + [
            "| target | req/s | p50 ms | p99 ms | errors | server CPU ms/req | DB CPU ms/req | peak RSS MB | x PG v5 | % raw SQL |"
            + (" % PG5 SQL |" if raw5_rps else ""),
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|" + ("---:|" if raw5_rps else "")]
    for t in ORDER + sorted({k[1] for k in agg} - set(ORDER)):
        rs = agg.get((q, t))
        if not rs:
            continue
        rps = med(rs, "rps")
        rng = f" ({min(float(r['rps']) for r in rs):.0f}-{max(float(r['rps']) for r in rs):.0f})" if len(rs) > 1 else ""
        scpu = "-" if t in RAW else f(med(rs, "server_cpu_ms"), "{:.3f}")
        dcpu = "in server" if t == "self-sqlite" else ("-" if t == "limit" else f(med(rs, "db_cpu_ms"), "{:.3f}"))
        err = sum(int(r["errors"]) for r in rs)
        ratio = f"{rps / ref_rps:.2f}" if ref_rps else "-"
        frac = f"{100 * rps / raw_rps:.0f} %" if raw_rps and t not in RAW + ("limit",) else "-"
        frac5 = (f" {100 * rps / raw5_rps:.0f} % |" if t not in RAW + ("limit",) else " - |") if raw5_rps else ""
        out.append(f"| {LABEL.get(t, t)} | {rps:.0f}{rng} | {f(med(rs, 'p50_ms'))} | {f(med(rs, 'p99_ms'))} | {err} | {scpu} | {dcpu} | "
                   f"{rs[-1]['peak_rss_mb'] if rs[-1]['peak_rss_mb'] not in ('', '-') else '-'} | {ratio} | {frac} |{frac5}")
        value[(q, t)] = {"rps": rps, "p50": med(rs, "p50_ms"), "p99": med(rs, "p99_ms"), "cpu": med(rs, "server_cpu_ms"),
                         "rss": float(rs[-1]["peak_rss_mb"]) if rs[-1]["peak_rss_mb"] not in ("", "-") else None,
                         "x": rps / ref_rps if ref_rps else None, "raw": rps / raw_rps if raw_rps else None}
    out.append("")
if not any(k[0] == "q5_search" for k in agg):
    out += ["## Q5 full-text search", "", "Not measured in this run (QUERIES without q5_search, or no self target). The query is",
            "bench/queries/self/q5_search.graphql (variables: {\"text\": <a last name>}, see tools/make_bodies.py); peers have",
            "no queries/<family>/q5_search.graphql: PostGraphile and Apollo expose no full-text search over these tables.", ""]

st = rd("startup.tsv")
if st:
    out += ["## Startup to first answer", "", "| start | ms |", "|---|---:|"] + [f"| {r['target']} | {r['startup_ms']} |" for r in st] + [""]

sc = rd("scaling.tsv")
scale = {}
if sc:
    for r in sc:
        scale.setdefault(int(r["leads"]), {})[r["query"]] = r
    sizes = sorted(scale)
    base = scale[sizes[0]]
    out += ["## Scaling (contacts-server on PostgreSQL)", "",
            "| leads | requests | Q1 req/s | Q1 p50 ms | Q1 p99 ms | Q3 req/s | Q3 p50 ms | Q3 p99 ms | Q1 p50 / smallest | Q3 p50 / smallest |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for s in sizes:
        a, b = scale[s].get("q1_email"), scale[s].get("q3_by_id")
        g = lambda r, k: r[k] if r else "-"
        ratio = lambda r, q: f"{float(r['p50_ms']) / float(base[q]['p50_ms']):.2f}" if r and q in base and float(base[q]["p50_ms"]) else "-"
        out.append(f"| {s} | {3 * s} | {g(a, 'rps')} | {g(a, 'p50_ms')} | {g(a, 'p99_ms')} | {g(b, 'rps')} | {g(b, 'p50_ms')} | "
                   f"{g(b, 'p99_ms')} | {ratio(a, 'q1_email')} | {ratio(b, 'q3_by_id')} |")
    out.append("")

so = rd("instances.tsv")
if so:
    one = {r["query"]: float(r["rps"]) for r in so if r["instances"] == "1" and float(r["rps"])}
    out += ["## Scale-out (instances of contacts-server over one PostgreSQL)", "",
            "Q1 in requests/s, Q4 in visitor flows/s (3 writes each); CPU per request (Q4: per flow), server summed over the instances.", "",
            "| instances | query | req/s | vs 1 instance | p50 ms | p99 ms | errors | server CPU ms | PostgreSQL CPU ms |",
            "|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in so:
        x = f"{float(r['rps']) / one[r['query']]:.2f}x" if r["query"] in one else "-"
        out.append(f"| {r['instances']} | {r['query']} | {r['rps']} | {x} | {r['p50_ms']} | {r['p99_ms']} | {r['errors']} | "
                   f"{float(r['server_cpu_ms']):.3f} | {float(r['db_cpu_ms']):.3f} |")
    out.append("")

# the targets
T = []
def target(name, v, ok, shown):
    T.append(f"| {name} | {'n/a' if v is None else shown} | {'n/a' if v is None else ('met' if ok else 'MISSED')} |")
for q in ("q1_email", "q2_page"):
    v = value.get((q, "self-pg"), {})
    x = v.get("x")
    target(f"{q}: >= 4x PostGraphile v5 req/s", x, x is not None and x >= 4, f"{x:.2f}x" if x else "")
    p = v.get("p99")
    target(f"{q}: p99 <= 5 ms at {next((r['conns'] for r in rows if r['target'] not in RAW), '?')} connections", p, p is not None and p <= 5, f"{p:.2f} ms" if p else "")
v = value.get(("q1_email", "self-pg"), {})
target("q1: >= 50 % of the raw-SQL limit", v.get("raw"), (v.get("raw") or 0) >= 0.5, f"{100 * (v.get('raw') or 0):.0f} %")
target("q1: server CPU <= 0.1 ms per request", v.get("cpu"), (v.get("cpu") or 9) <= 0.1, f"{v.get('cpu') or 0:.3f} ms")
for t in ("self-pg", "self-sqlite"):
    rss = max([value[k]["rss"] for k in value if k[1] == t and value[k]["rss"] is not None] or [None]) if any(k[1] == t for k in value) else None
    target(f"{t}: peak RSS under load <= 64 MB", rss, rss is not None and rss <= 64, f"{rss} MB" if rss else "")
for r in st:
    if r["target"] in ("self-pg", "self-sqlite"):
        ms = int(r["startup_ms"])
        target(f"{r['target']}: startup to first answer <= 200 ms", ms, ms <= 200, f"{ms} ms (includes the migration check)")
if scale and len(scale) > 1:
    sizes = sorted(scale)
    for q in ("q1_email", "q3_by_id"):
        a, b = scale[sizes[0]].get(q), scale[sizes[-1]].get(q)
        r = float(b["p50_ms"]) / float(a["p50_ms"]) if a and b and float(a["p50_ms"]) else None
        target(f"{q}: p50 at {sizes[-1]} leads <= 1.2x p50 at {sizes[0]}", r, r is not None and r <= 1.2, f"{r:.2f}x" if r else "")
v = value.get(("q1_email", "self-sqlite"), {})
target("SQLite q1 >= 10,000 req/s", v.get("rps"), (v.get("rps") or 0) >= 10000, f"{v.get('rps') or 0:.0f} req/s")
v = value.get(("q4_visitor", "self-sqlite"), {})
target("SQLite q4 >= 1,000 visitor flows/s (WAL)", v.get("rps"), (v.get("rps") or 0) >= 1000, f"{v.get('rps') or 0:.0f} flows/s")
out += ["## Issue 5 targets (as measured in this run)", "", "| target | measured | |", "|---|---:|---|"] + T + [""]

chk = [(l.split("\t") + ["", ""])[:3] for l in open(os.path.join(d, "checks.tsv")).read().splitlines() if "\t" in l] if os.path.exists(os.path.join(d, "checks.tsv")) else []
out += ["## Checks", "", f"{sum(1 for c in chk if c[1] == 'pass')} passed, {sum(1 for c in chk if c[1] != 'pass')} failed", ""]
out += [f"- {c[1]}: {c[0]} {c[2] if len(c) > 2 else ''}".rstrip() for c in chk if c[0].startswith(("check", "start")) or c[1] != "pass"]
out.append("")
# statements per request, and the SQL itself, of each captured server (sql/: contacts-server, replayed by
# target pgbench; sql-postgraphile5/: PostGraphile v5, replayed by pgbench-pg5)
SQLDIRS = [("sql", "contacts-server"), ("sql-postgraphile5", "PostGraphile v5")]
per = {}
for sub, who in SQLDIRS:
    for p in glob.glob(os.path.join(d, sub, "*.statements.json")):
        counts = [len(s) for s in json.load(open(p))]
        if counts:
            per.setdefault(os.path.basename(p).split(".")[0], {})[who] = (min(counts), max(counts), len(counts))
if per and any("PostGraphile v5" in v for v in per.values()):
    rng = lambda c: "-" if c is None else (f"{c[0]}" if c[0] == c[1] else f"{c[0]}..{c[1]}") + f" ({c[2]} requests)"
    out += ["## SQL statements per request (captured from PostgreSQL's statement log)", "",
            "| query | contacts-server | PostGraphile v5 |", "|---|---:|---:|"]
    out += [f"| {q} | {rng(per[q].get('contacts-server'))} | {rng(per[q].get('PostGraphile v5'))} |" for q in NAMES if q in per]
    out.append("")
for sub, who in SQLDIRS:
    sqls = sorted(glob.glob(os.path.join(d, sub, "*.sql.txt")))
    if sqls:
        out += [f"## SQL {who} issued (captured from PostgreSQL's statement log)", ""]
        for p in sqls:
            out += ["```"] + open(p).read().strip().splitlines() + ["```", ""]
for ex in ("explain.md", "explain-postgraphile5.md"):
    if os.path.exists(os.path.join(d, ex)):
        out += ["#" + l if l.startswith("#") else l for l in open(os.path.join(d, ex)).read().splitlines()]
print("\n".join(out))
