#!/usr/bin/env python3
"""organise.py URL TOKENS_JSON PROJECTS: through contacts-server's own API, as the OWNER of each read
project 0..PROJECTS-1 (agent<p>@bench.example; TOKENS_JSON from tokens.py), define the typed attributes
and save the segments of segments.py, so that they are stored exactly as the server stores them (on
PostgreSQL or SQLite alike). The "Bench writes" project (number PROJECTS) gets none: Q4's visitor
writes there stay unchecked by definitions. Idempotent: a key already defined is left as it is, a
segment of the same name is replaced in place (same id). Exit 1 on any GraphQL error."""
import json, os, sys
sys.path.insert(0, os.path.dirname(__file__))
from common import post
from segments import ATTRIBUTES, SEGMENTS

url, tokens, projects = sys.argv[1], json.load(open(sys.argv[2])), int(sys.argv[3])


def gql(auth, query, variables=None):
    r = post(url, {"query": query, "variables": variables or {}}, auth)
    if r.get("errors"):
        sys.exit(f"organise: {query.split('(')[0]}: {json.dumps(r['errors'])[:400]}")
    return r["data"]


defined = saved = 0
for p in range(projects):
    auth = tokens[str(p)]
    have = {a["key"] for a in gql(auth, "{ contactAttributes(includeArchived: true) { key } }")["contactAttributes"]}
    for a in ATTRIBUTES:
        if a["key"] not in have:
            gql(auth, "mutation($i: DefineContactAttributeInput!) { defineContactAttribute(input: $i) { id } }", {"i": a})
            defined += 1
    ids = {s["name"]: s["id"] for s in gql(auth, "{ segments { id name } }")["segments"]}
    for name, flt, _ in SEGMENTS:
        i = {"name": name, "filter": flt}
        if name in ids:
            i["id"] = ids[name]
        gql(auth, "mutation($i: SaveSegmentInput!) { saveSegment(input: $i) { id } }", {"i": i})
        saved += 1
print(f"organise: {projects} projects: {defined} attribute definitions made, {saved} segments saved")
