#!/usr/bin/env python3
"""make_bodies.py --family F --query Q.graphql --name NAME --n N --projects P --pg URL --tokens T.json --out OUT

Writes COUNT request lines "authorization<TAB>json body" for one query and one target family, with
variables drawn by a fixed-seed generator (the same draws for every family, so every target is asked
the same things), and OUT.meta: one JSON line per body naming the row it asks for (used by the checks).
Values (emails, ids, projects) come from the seeded database's own bench.* functions.

  q1_email  a listed (NORMAL) lead with an email: i % 10 in {1,2,3,4,6,7,8,9}. contacts-server gets the
            email as displayed (often capitalised; it normalises), the peers the stored email_key.
  q2_page   a project: its newest 20 listed contacts.
  q3_by_id  any lead by primary key.
  q5_search: a last name as the search text (full-text search, contacts-server only).
  q6_attribute_eq     a project and a plan option, uniformly (Free, Pro, Team, Enterprise): the LIST key
                      `plan` by eq (containment, served by the GIN index on lead (project_id, attributes)).
  q7_attribute_range  a project and a lower bound of the NUMBER key `seats` (gt 2, 10, 25, 50, 100 or 250:
                      46 % down to 1.5 % of the contacts; a range no index serves).
  q8_segments         a project: its segments with their live counts.
  (q6-q8: contacts-server only, the peers have no typed attributes or segments.)
contacts-server bodies carry the agent token of the lead's project (real auth); peers have no auth and
get the project as a filter instead."""
import argparse, json, os, random, sys
sys.path.insert(0, os.path.dirname(__file__))
from common import psql

ap = argparse.ArgumentParser()
for a in ("family", "query", "name", "pg", "tokens", "out"):
    ap.add_argument("--" + a, required=True)
ap.add_argument("--n", type=int, required=True)
ap.add_argument("--projects", type=int, required=True)
ap.add_argument("--count", type=int, default=20000)
args = ap.parse_args()
n, P, name = args.n, args.projects, args.name
rnd = random.Random(sum(map(ord, name)))
query = open(args.query).read()
tokens = json.load(open(args.tokens)) if args.family == "self" else {}
projects = dict(psql(args.pg, f"select p, bench.uid('project', p) from generate_series(0, {P}) p"))

PER_PROJECT = ("q2_page", "q6_attribute_eq", "q7_attribute_range", "q8_segments")   # draws are project numbers
PLANS = ["Free", "Pro", "Team", "Enterprise"]
SEATS_ABOVE = [2, 10, 25, 50, 100, 250]
if name == "q1_email":
    draws = [10 * rnd.randrange(0, max(1, (n - 9) // 10 + 1)) + rnd.choice([1, 2, 3, 4, 6, 7, 8, 9]) for _ in range(args.count)]
elif name in ("q3_by_id", "q5_search"):
    draws = [rnd.randint(1, n) for _ in range(args.count)]
elif name in PER_PROJECT:
    draws = [rnd.randrange(P) for _ in range(min(args.count, 1000))]
else:
    sys.exit(f"make_bodies: no generator for {name}")

per_project = name in PER_PROJECT
rows = {}
if not per_project:
    arr = "{" + ",".join(map(str, sorted(set(draws)))) + "}"
    for i, disp, key, lead, last in psql(args.pg, f"""select i, bench.email_display(i), coalesce(bench.email_key(i), ''),
            bench.uid('lead', i), bench.last_display(i) from unnest('{arr}'::bigint[]) i"""):
        rows[int(i)] = {"email": disp, "email_key": key, "lead": lead, "last": last}

with open(args.out, "w") as f, open(args.out + ".meta", "w") as m:
    for d in draws:
        p = d if per_project else d % P
        meta = {"i": d, "p": p, "project": projects[str(p)]}
        if name == "q1_email":
            r = rows[d]; meta["email_key"] = r["email_key"]
            v = {"email": r["email"]} if args.family == "self" else {"projectId": meta["project"], "emailKey": r["email_key"]}
        elif name == "q2_page":
            v = {} if args.family == "self" else {"projectId": meta["project"]}
        elif name == "q6_attribute_eq":
            meta["plan"] = rnd.choice(PLANS); v = {"plan": meta["plan"]}
        elif name == "q7_attribute_range":
            meta["min"] = rnd.choice(SEATS_ABOVE); v = {"min": meta["min"]}
        elif name == "q8_segments":
            v = {}
        elif name == "q3_by_id":
            meta["lead"] = rows[d]["lead"]; v = {"id": meta["lead"]}
        elif name == "q5_search":
            meta["text"] = rows[d]["last"]
            v = {"text": meta["text"]} if args.family == "self" else {"projectId": meta["project"], "text": meta["text"]}
        auth = tokens.get(str(p), "")
        f.write(auth + "\t" + json.dumps({"query": query, "variables": v}, separators=(",", ":")) + "\n")
        m.write(json.dumps(meta) + "\n")
