"""Helpers shared by the bench tools: HTTP POST of GraphQL bodies, psql queries, canonical answers."""
import datetime
import json
import os
import subprocess
import urllib.request

# RequestStatus enum names of contacts-server -> stored codes (the peers return the codes).
REQUEST_STATUS = {"TEMP": 50, "UNASSIGNED": 100, "ABANDONED": 150, "ASSIGNED": 200, "SERVED": 300, "CLOSED": 1000}


def post(url, body, auth="", timeout=30):
    """POST a JSON body (str or dict) with an optional Authorization value; returns the parsed JSON."""
    if not isinstance(body, (str, bytes)):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode()
    headers = {"content-type": "application/json"}
    if auth:
        headers["authorization"] = auth
    req = urllib.request.Request(url, data=body, headers=headers)
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read())


def psql(pgurl, sql, sep="\t"):
    """Run SQL with psql (-qAt); returns a list of rows, each a list of strings. The SQL goes
    through standard input: at 1M leads a statement can exceed the kernel's argument size."""
    env = dict(os.environ, PGOPTIONS="-c timezone=UTC")
    out = subprocess.run(["psql", pgurl, "-qAt", "-v", "ON_ERROR_STOP=1", "-F", sep, "-f", "-"],
                         input=sql, check=True, capture_output=True, text=True, env=env).stdout
    return [line.split(sep) for line in out.splitlines()]


def ts(value):
    """A timestamp string (RFC 3339 or PostgreSQL's) -> microseconds since the epoch."""
    v = value.replace(" ", "T")
    if v.endswith("Z"):
        v = v[:-1] + "+00:00"
    if len(v) >= 3 and v[-3] in "+-" and v[-2:].isdigit() and ":" not in v[-6:]:
        v += ":00"
    d = datetime.datetime.fromisoformat(v)
    return int(d.timestamp()) * 1_000_000 + d.microsecond


def search_word_sql(text, alias="l"):
    """Plain SQL: some word of the lead's fullname/email/phone/company starts with the one search word
    `text`, both normalised as the server's PostgreSQL index normalises them (contacts_search_text:
    unaccent, lower-case, non-alphanumerics to spaces). The answer checks' stand-in for the server's
    full-text search of a single word (Q5, the search segment of Q8)."""
    t = text.replace("'", "''")
    words = (f"btrim(contacts_search_text(coalesce({alias}.fullname, '') || ' ' || coalesce({alias}.email, '') || ' ' || "
             f"coalesce({alias}.phone, '') || ' ' || coalesce({alias}.company, '')))")
    return (f"exists (select 1 from regexp_split_to_table({words}, '\\s+') w "
            f"where w like btrim(contacts_search_text('{t}')) || '%')")


def canon_contact(node, family):
    """One contact of any target, in the canonical form the checks compare."""
    if family == "self":
        reqs = node["requests"]["nodes"]
        status = lambda r: REQUEST_STATUS[r["status"]]
    else:  # postgraphile, apollo
        reqs = node["requestsByLead"]["nodes"]
        status = lambda r: int(r["status"])
    return {
        "id": node["id"], "leadId": node["leadId"], "fullname": node["fullname"], "email": node["email"],
        "requests": [{"id": r["id"], "requestId": r["requestId"], "firstText": r["firstText"],
                      "status": status(r), "createdAt": ts(r["createdAt"])} for r in reqs],
    }


def canon_answer(resp, family):
    """A whole answer (Q1..Q3) -> list of canonical contacts; raises on GraphQL errors."""
    if resp.get("errors"):
        raise ValueError("errors: " + json.dumps(resp["errors"])[:400])
    data = resp["data"]
    if "contacts" in data:
        nodes = data["contacts"]["nodes"]
    elif "allLeads" in data:
        nodes = data["allLeads"]["nodes"]
    elif "contact" in data:
        nodes = [data["contact"]] if data["contact"] else []
    elif "leadById" in data:
        nodes = [data["leadById"]] if data["leadById"] else []
    else:
        raise ValueError("unexpected answer: " + json.dumps(resp)[:300])
    return [canon_contact(n, family) for n in nodes]
