#!/usr/bin/env python3
"""check.py --family F --name Q --bodies FILE --url URL --pg PGURL [--count 20]

Sends the first COUNT bodies to the target and compares each answer, in canonical form (the same
fields whatever the API's shape: contact id, leadId, fullname, email, and its requests newest first
with id, requestId, firstText, status code, createdAt instant), with the answer computed by
PostgreSQL itself from the seeded tables. Exit 1 on any difference, error, or empty expected answer."""
import argparse, json, os, sys
sys.path.insert(0, os.path.dirname(__file__))
from common import canon_answer, post, psql, ts

ap = argparse.ArgumentParser()
for a in ("family", "name", "bodies", "url", "pg"):
    ap.add_argument("--" + a, required=True)
ap.add_argument("--count", type=int, default=20)
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
        t = m["text"].replace("'", "''")
        words = ("btrim(contacts_search_text(coalesce(l.fullname, '') || ' ' || coalesce(l.email, '') || ' ' || "
                 "coalesce(l.phone, '') || ' ' || coalesce(l.company, '')))")
        return (f"l.project_id = '{m['project']}' and l.status = 100 and exists (select 1 from "
                f"regexp_split_to_table({words}, '\\s+') w where w like btrim(contacts_search_text('{t}')) || '%')")
    raise SystemExit(f"check: no expected answer for {args.name}")


bad = 0
for k, (line, m) in enumerate(zip(lines, metas)):
    exp = json.loads(psql(args.pg, EXPECTED.format(cond=cond(m)))[0][0])
    for c in exp:
        for r in c["requests"]:
            r["createdAt"] = ts(r["createdAt"])
    if not exp:
        print(f"#{k} expected answer is empty (seed or generator bug): {m}"); bad += 1; continue
    auth, body = line.split("\t", 1)
    try:
        got = canon_answer(post(args.url, body, auth), args.family)
    except Exception as e:  # noqa: BLE001 - report any failure as a mismatch
        print(f"#{k} {e}"); bad += 1; continue
    if got != exp:
        print(f"#{k} differs:\n  expected {json.dumps(exp)[:600]}\n  got      {json.dumps(got)[:600]}"); bad += 1
print(f"{args.name}: {len(lines)} answers compared with PostgreSQL, {bad} mismatches")
sys.exit(1 if bad else 0)
