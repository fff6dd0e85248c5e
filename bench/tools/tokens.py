#!/usr/bin/env python3
"""tokens.py URL PGURL PROJECTS PASSWORD: signIn each seeded agent (agent<p>@bench.example) into its
project through contacts-server; print {"<p>": "Bearer <token>", ...} as JSON."""
import json, sys, os
sys.path.insert(0, os.path.dirname(__file__))
from common import post, psql
url, pgurl, projects, password = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
ids = dict(psql(pgurl, f"select p, bench.uid('project', p) from generate_series(0, {projects}) p"))
out = {}
for p in range(projects + 1):
    r = post(url, {"query": "mutation($i: SignInInput!) { signIn(input: $i) { token role } }",
                   "variables": {"i": {"email": f"agent{p}@bench.example", "password": password, "projectId": ids[str(p)]}}})
    if r.get("errors"):
        sys.exit(f"signIn agent{p}: {r['errors']}")
    out[str(p)] = "Bearer " + r["data"]["signIn"]["token"]
print(json.dumps(out))
