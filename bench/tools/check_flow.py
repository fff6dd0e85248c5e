#!/usr/bin/env python3
"""check_flow.py --family F --url URL --project UUID: run one Q4 visitor flow (the three documents of
queries/<family>/q4_visitor.flow) and check each answer: no errors, the token / ids chain through, and
the captured email comes back (normalised by contacts-server, as typed by the peers). Exit 1 otherwise."""
import argparse, datetime, json, os, sys, uuid
sys.path.insert(0, os.path.dirname(__file__))
from common import post

ap = argparse.ArgumentParser()
for a in ("family", "url", "project"):
    ap.add_argument("--" + a, required=True)
args = ap.parse_args()
here = os.path.dirname(os.path.abspath(__file__))
docs = [l for l in open(os.path.join(here, "..", "queries", args.family, "q4_visitor.flow")).read().splitlines()
        if l.startswith("mutation")]
assert len(docs) == 3


def call(doc, variables, auth=""):
    r = post(args.url, {"query": doc, "variables": variables}, auth)
    if r.get("errors"):
        sys.exit(f"q4 {args.family}: errors {json.dumps(r['errors'])[:400]}")
    return r["data"]


email = f"Check.Visitor.{uuid.uuid4().hex[:8]}@Example.com"
if args.family in ("self", "apollo"):
    d = call(docs[0], {"p": args.project})["signInAnonymously"]
    auth, uid = "Bearer " + d["token"], d["user"]["id"]
    d = call(docs[1], {"t": "Hello, checking the flow"}, auth)["createRequest"]
    assert d["contact"]["leadId"] == uid, d
    assert d["request"]["requestId"].startswith(f"support-group-{args.project}-"), d
    d = call(docs[2], {"f": "Check Visitor", "e": email}, auth)["captureContactMetadata"]
    assert d["leadId"] == uid and d["email"] == email, d
else:
    now = datetime.datetime.now(datetime.timezone.utc).isoformat()
    uid, lid = str(uuid.uuid4()), str(uuid.uuid4())
    d = call(docs[0], {"uid": uid, "p": args.project, "now": now, "a": {}})
    assert d["createUser"]["user"]["id"] == uid, d
    d = call(docs[1], {"lid": lid, "uid": uid, "luid": uid, "p": args.project, "rid": str(uuid.uuid4()),
                       "rq": f"support-group-{args.project}-{uuid.uuid4().hex}", "t": "Hello, checking the flow",
                       "now": now, "a": {}, "tags": []})
    assert d["createLead"]["lead"]["id"] == lid, d
    d = call(docs[2], {"lid": lid, "f": "Check Visitor", "e": email, "ek": email.lower(), "now": now})
    assert d["updateLeadById"]["lead"]["email"] == email, d
print(f"q4_visitor: one flow of 3 requests answered as expected ({args.family})")
