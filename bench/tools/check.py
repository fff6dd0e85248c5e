#!/usr/bin/env python3
"""check.py --family F --name Q --bodies FILE --url URL --pg PGURL [--count 20] [--sqlite DB]

Sends the first COUNT bodies to the target and compares each answer, in canonical form (the same
fields whatever the API's shape: contact id, leadId, fullname, email, and its requests newest first
with id, requestId, firstText, status code, createdAt instant), with the answer computed by
PostgreSQL itself from the seeded tables. Exit 1 on any difference, error, or empty expected answer.

contacts-server only: q6_attribute_eq / q7_attribute_range (totalCount and the first page's id,
leadId, fullname, newest first, from plain SQL over lead.attributes) and q8_segments (each segment's
id, name and contactsCount, by name: the counts from one plain-SQL scan of the project with the
conditions of segments.py; the ids are the target's own stored ones, read from PostgreSQL's segment
table, or from the SQLite file given with --sqlite, whose segments its server saved itself)."""
import argparse, json, os, sqlite3, sys, uuid
sys.path.insert(0, os.path.dirname(__file__))
from common import canon_answer, post, psql, search_word_sql, ts
from segments import PLAN, SEATS, SEGMENTS

ap = argparse.ArgumentParser()
for a in ("family", "name", "bodies", "url", "pg"):
    ap.add_argument("--" + a, required=True)
ap.add_argument("--count", type=int, default=20)
ap.add_argument("--sqlite", default="")
args = ap.parse_args()

lines = open(args.bodies).read().splitlines()[: args.count]
metas = [json.loads(l) for l in open(args.bodies + ".meta").read().splitlines()[: args.count]]

EXPECTED = """select coalesce(json_agg(json_build_object('id', c.id, 'leadId', c.lead_id, 'fullname', c.fullname,
  'email', c.email, 'requests', c.requests) order by c.created_at desc, c.id desc), '[]')
from (select l.*, (select coalesce(json_agg(json_build_object('id', r.id, 'requestId', r.request_id,
        'firstText', r.first_text, 'status', r.status, 'createdAt', r.created_at)
        order by r.created_at desc, r.id desc), '[]')
      from (select * from request r where r.lead = l.id order by r.created_at desc, r.id desc limit 20) r) as requests
  from lead l where {cond} order by l.created_at desc, l.id desc limit 20) c"""


def cond(m):
    if args.name == "q1_email":
        return f"l.project_id = '{m['project']}' and l.email_key = '{m['email_key']}' and l.status = 100"
    if args.name == "q2_page":
        return f"l.project_id = '{m['project']}' and l.status = 100"
    if args.name == "q3_by_id":
        return f"l.id = '{m['lead']}' and l.project_id = '{m['project']}'"
    if args.name == "q5_search":
        # Full text, as the server's PostgreSQL index sees it (contacts_search_text: unaccent,
        # lower-case, non-alphanumerics to spaces): some word of fullname/email/phone/company
        # starts with the search word; newest first (the query orders by createdAt).
        return f"l.project_id = '{m['project']}' and l.status = 100 and {search_word_sql(m['text'])}"
    raise SystemExit(f"check: no expected answer for {args.name}")


PAGE = """select json_build_object('totalCount', (select count(*) from lead l where {cond}),
  'nodes', (select coalesce(json_agg(json_build_object('id', c.id, 'leadId', c.lead_id, 'fullname', c.fullname)
                                     order by c.created_at desc, c.id desc), '[]')
            from (select * from lead l where {cond} order by l.created_at desc, l.id desc limit 20) c))"""


def segment_ids(project):
    """name -> id of the project's segments, as stored by the target's own database."""
    if args.sqlite:
        con = sqlite3.connect(f"file:{args.sqlite}?mode=ro", uri=True)
        rows = con.execute("select name, id from segment where project_id = ?", (uuid.UUID(project).bytes,)).fetchall()
        con.close()
        return {n: str(uuid.UUID(bytes=i)) for n, i in rows}
    return dict(psql(args.pg, f"select name, id from segment where project_id = '{project}'"))


def expected(m):
    """The answer PostgreSQL computes for meta m; None when it is empty (a seed or generator bug)."""
    listed = f"l.project_id = '{m['project']}' and l.status = 100"
    if args.name == "q6_attribute_eq":
        exp = json.loads(psql(args.pg, PAGE.format(cond=f"{listed} and {PLAN} = '{m['plan']}'"))[0][0])
        return exp if exp["nodes"] else None
    if args.name == "q7_attribute_range":
        exp = json.loads(psql(args.pg, PAGE.format(cond=f"{listed} and {SEATS} > {int(m['min'])}"))[0][0])
        return exp if exp["nodes"] else None
    if args.name == "q8_segments":
        counts = psql(args.pg, "select " + ", ".join(f"count(*) filter (where {c})" for _, _, c in SEGMENTS)
                      + f" from lead l where l.project_id = '{m['project']}'")[0]
        ids = segment_ids(m["project"])
        exp = sorted(({"id": ids.get(n), "name": n, "contactsCount": int(c)} for (n, _, _), c in zip(SEGMENTS, counts)),
                     key=lambda s: (s["name"].lower(), s["id"] or ""))
        # every segment saved (an id), and the project's counts not all zero
        return exp if all(s["id"] for s in exp) and any(s["contactsCount"] for s in exp) else None
    exp = json.loads(psql(args.pg, EXPECTED.format(cond=cond(m)))[0][0])
    for c in exp:
        for r in c["requests"]:
            r["createdAt"] = ts(r["createdAt"])
    return exp or None


def answer(resp):
    """The target's answer in the form expected() computes."""
    if args.name in ("q6_attribute_eq", "q7_attribute_range", "q8_segments"):
        if resp.get("errors"):
            raise ValueError("errors: " + json.dumps(resp["errors"])[:400])
        return resp["data"]["segments" if args.name == "q8_segments" else "contacts"]
    return canon_answer(resp, args.family)


bad, cache = 0, {}
for k, (line, m) in enumerate(zip(lines, metas)):
    key = json.dumps(m, sort_keys=True)
    exp = cache[key] if key in cache else cache.setdefault(key, expected(m))
    if not exp:
        print(f"#{k} expected answer is empty (seed or generator bug): {m}"); bad += 1; continue
    auth, body = line.split("\t", 1)
    try:
        got = answer(post(args.url, body, auth, timeout=120))
    except Exception as e:  # noqa: BLE001 - report any failure as a mismatch
        print(f"#{k} {e}"); bad += 1; continue
    if got != exp:
        print(f"#{k} differs:\n  expected {json.dumps(exp)[:600]}\n  got      {json.dumps(got)[:600]}"); bad += 1
print(f"{args.name}: {len(lines)} answers compared with PostgreSQL, {bad} mismatches")
sys.exit(1 if bad else 0)
