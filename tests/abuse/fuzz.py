#!/usr/bin/env python3
"""Schema-driven fuzz run of contacts-server over HTTP (Schemathesis's GraphQL support, which
generates operations with hypothesis-graphql from the live schema's introspection).

Starts the server on a fresh database (SQLite file, or a new database of a PostgreSQL cluster),
seeds two projects (agents, visitors, requests, contacts), then sends generated queries and
mutations of every root field, in Schemathesis's positive mode (schema-valid operations with
arbitrary values: bad emails, huge strings, NUL bytes, unknown ids, out-of-range page sizes…)
and negative mode (schema-invalid arguments), each with one of: an agent token, the agent
token of another project, a visitor token, no token, or a forged token (60% of the time the
caller the operation is meant for, so that resolvers run past their guards).

Passes when: no HTTP 5xx, no transport failure (reset, hang past the client timeout), no
error with `extensions.code == "INTERNAL"` or without a code, no panic in the server log,
`/health` and `/ready` still 200 afterwards, and the database passes the integrity checks
(common.integrity_sqlite / common.integrity_pg).

    python tests/abuse/fuzz.py --db sqlite --seconds 30          # short (CI)
    python tests/abuse/fuzz.py --db postgres --seconds 1800 --max-examples 1000000   # long
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import os
import random
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

# Hypothesis keeps a cache in ./.hypothesis by default: keep it out of the work tree.
os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", os.path.join(tempfile.gettempdir(), "contacts-fuzz-hypothesis"))

import graphql  # noqa: E402
import requests  # noqa: E402
import schemathesis  # noqa: E402
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.core.result import Ok  # noqa: E402
from schemathesis.graphql import nodes  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402
from common import (CAPTURE, CREATE_REQUEST, NO_RATE_LIMITS, PgCluster, Server, gql, keep_alive_timeout, log,  # noqa: E402
                    sign_in_anon, sign_up)

CREATE_CONTACT = """mutation($i: CreateContactInput!) { createContact(input: $i) { id } }"""

# ---------------------------------------------------------------------------------------------
# Value strategies (GraphQL AST value nodes) registered with Schemathesis
# ---------------------------------------------------------------------------------------------

NASTY_STRINGS = [
    "", " ", "\u0000", "a\u0000b", "\u202e\u202dRTL", "\ud7ff", "\ud800", "\ufeffbom", "\u200b", "\n\r\t",
    "' OR 1=1 --", "\"; DROP TABLE lead; --", "%s%n%x", "${jndi:ldap://x}", "<script>alert(1)</script>",
    "../../etc/passwd", "null", "undefined", "NaN", "-1", "0", "9" * 400, "é" * 300, "😀" * 100,
    "A" * 70000, "x@y", "a@b.co", "A@B.CO ", " Andrea1@Example.COM ", "+39 06 6988 1234", "+1 415 555 2671",
    "0039066988123", "12", "+999999999999999999", "00", "+", "VIP", "vip", "plan", "*", "\\", "%", "_",
    "alv", "Álvaro", "2026-01-01T00:00:00Z", "eyJhbGciOiJub25lIn0.e30.", "erased:x",
]


# NUL, other C0/C1 controls, bidi overrides, zero-width and format characters, alone or embedded
# in otherwise valid values (an email, a phone, a name).
CONTROL_STRINGS = [
    "\u0000", "a\u0000b", "andrea1@example.com\u0000", "\u0000andrea1@example.com", "+39 06\u0000 6988 1234",
    "\u0007", "\u001b[31m", "\u0085", "\u009b", "Andrea\u202eolleizS", "\u2066x\u2069", "\u200d", "\u2028", "\ufffe",
]

BENIGN_STRINGS = [
    "Andrea Sponziello", "Acme support", "Grace Hopper", "VIP", "vip", "renewal", "pro", "plan", "rank", "hello",
    "Hello, I need help with my order", "alv", "grace", "andrea1@example.com", "grace0@navy.mil", "a@b.co",
    "+39 06 6988 1234", "+1 415 555 2671", "0669881234", "Rome", "IT", "00100", "Via Roma 1", "US Navy",
    "correct horse battery", "Met at the conference",
]


def string_values(known_ids: list[str], context_words: list[str]) -> st.SearchStrategy:
    """Strings: two thirds plausible values (so that whole operations pass validation and resolvers
    run deep), one third hostile ones: arbitrary Unicode, control characters, NUL, RTL overrides, sizes
    around the limits, injection-looking text, and ids."""
    benign = st.one_of(st.sampled_from(BENIGN_STRINGS), st.sampled_from(context_words), st.emails(),
                       st.from_regex(r"[a-z]{1,12}", fullmatch=True))
    hostile = st.one_of(
        st.text(max_size=40),
        st.text(min_size=150, max_size=2000),
        st.sampled_from(NASTY_STRINGS),
        st.sampled_from(CONTROL_STRINGS),
        st.from_regex(r"\+?[0-9 ()\-]{1,20}", fullmatch=True),
        st.sampled_from(known_ids),
        st.sampled_from([64, 65, 199, 200, 201, 254, 255, 256, 320, 10000, 10001]).map(lambda n: "x" * n),
    )
    return st.one_of(benign, benign, hostile).map(nodes.String)


def int_values() -> st.SearchStrategy:
    """Ints: mostly page-size-like values, sometimes anything a 32-bit GraphQL Int holds."""
    return st.one_of(st.integers(0, 100), st.integers(-(2**31), 2**31 - 1),
                     st.sampled_from([-1, 0, 1, 100, 101, 2**31 - 1, -(2**31)])).map(nodes.Int)


def id_values(known_ids: list[str], project_ids: list[str], contact_ids: list[str]) -> st.SearchStrategy:
    """IDs: mostly ids that exist (contacts above all, in this project or another), else random
    UUIDs and junk."""
    return st.one_of(
        st.sampled_from(contact_ids),
        st.sampled_from(contact_ids),
        st.sampled_from(known_ids),
        st.sampled_from(project_ids),
        st.uuids().map(str),
        st.text(max_size=60),
        st.sampled_from(["", "00000000-0000-0000-0000-000000000000", "not-a-uuid", "Q29udGFjdDox"]),
    ).map(nodes.String)


def _name_node(key: str):
    return graphql.NameNode(value=key)


def json_values() -> st.SearchStrategy:
    """The JSON scalar: any JSON value as a GraphQL literal (objects, lists, scalars, deep nesting)."""
    keys = st.from_regex(r"[_A-Za-z][_0-9A-Za-z]{0,12}", fullmatch=True)  # GraphQL names (object literal keys)
    leaves = st.one_of(
        st.text(max_size=30).map(nodes.String),
        st.sampled_from(NASTY_STRINGS[:40]).map(nodes.String),
        st.integers(min_value=-(2**31), max_value=2**31 - 1).map(nodes.Int),
        st.floats(allow_nan=False, allow_infinity=False, width=32).map(nodes.Float),
        st.booleans().map(nodes.Boolean),
        st.just(nodes.Null),
    )

    def extend(children):
        return st.one_of(
            st.lists(children, max_size=5).map(nodes.List),
            st.dictionaries(keys, children, max_size=6).map(
                lambda d: nodes.Object([graphql.ObjectFieldNode(name=_name_node(k), value=v) for k, v in d.items()])),
        )

    values = st.recursive(leaves, extend, max_leaves=40)
    objects = st.dictionaries(keys, values, max_size=8).map(
        lambda d: nodes.Object([graphql.ObjectFieldNode(name=_name_node(k), value=v) for k, v in d.items()]))
    return st.one_of(objects, objects, values)  # attributes must be objects: mostly give one


def datetime_values() -> st.SearchStrategy:
    return st.one_of(
        st.datetimes().map(lambda d: d.isoformat() + "Z"),
        st.datetimes().map(lambda d: d.isoformat() + "Z"),
        st.sampled_from(["2026-01-01T00:00:00Z", "1970-01-01T00:00:00+00:00", "9999-12-31T23:59:59Z",
                         "2026-13-45T99:99:99Z", "yesterday", ""]),
    ).map(nodes.String)


# ---------------------------------------------------------------------------------------------
# Seeding and callers
# ---------------------------------------------------------------------------------------------


def forge(token: str) -> str:
    head, payload, sig = token.split(".")
    return f"{head}.{payload}.{sig[:-4]}AAAA"


def seed(base: str) -> tuple[dict, list[str], list[str], list[str], list[str]]:
    """Two projects with agents, visitors, requests and contacts; returns callers and known ids."""
    a = sign_up(base, "a")
    b = sign_up(base, "b")
    ids = [a["project"], b["project"], a["user"], b["user"]]
    contacts: list[str] = []
    visitor_tokens = []
    for project in (a["project"], a["project"], a["project"], b["project"]):
        r = sign_in_anon(base, project)
        token = r.data["signInAnonymously"]["token"]
        ids.append(r.data["signInAnonymously"]["user"]["id"])
        visitor_tokens.append(token)
        for text in ("Hello, I need help", "Second request"):
            cr = gql(base, CREATE_REQUEST, {"t": text}, token)
            assert cr.acknowledged(), cr
            ids += [cr.data["createRequest"]["request"]["id"], cr.data["createRequest"]["contact"]["id"]]
            contacts.append(cr.data["createRequest"]["contact"]["id"])
        cm = gql(base, CAPTURE, {"i": {"fullname": "Andrea Sponziello", "email": "andrea1@example.com",
                                       "phone": "+39 06 6988 1234", "attributes": {"plan": "pro"}}}, token)
        assert cm.acknowledged(), cm
    for i, owner in enumerate((a, a, a, a, a, a, a, a, b, b)):
        cc = gql(base, CREATE_CONTACT, {"i": {"fullname": f"Grace Hopper {i}", "email": f"grace{i}@navy.mil",
                                              "tags": ["VIP", f"t{i}"], "attributes": {"rank": "RADM", "n": i}}},
                 owner["token"])
        assert cc.acknowledged(), cc
        ids.append(cc.data["createContact"]["id"])
        contacts.append(cc.data["createContact"]["id"])
    # Strings that are valid only in context: the agents' emails, and cursors of several orderings.
    words = [a["email"], b["email"], a["email"].upper()]
    for order in ("", "orderBy: { field: CREATED_AT, direction: ASC }", "orderBy: { field: FULLNAME }",
                  "orderBy: { field: LAST_REQUEST_AT }", 'search: "grace"'):
        r = gql(base, f"{{ contacts(first: 3 {order}) {{ edges {{ cursor node {{ requests(first: 1) "
                      f"{{ pageInfo {{ endCursor }} }} }} }} }} }}", None, a["token"])
        assert r.acknowledged(), r
        for e in r.data["contacts"]["edges"]:
            words.append(e["cursor"])
            if e["node"]["requests"]["pageInfo"]["endCursor"]:
                words.append(e["node"]["requests"]["pageInfo"]["endCursor"])
    callers = {
        "agent": a["token"],
        "agent_other_project": b["token"],
        "visitor": visitor_tokens[0],
        "none": None,
        "forged": forge(a["token"]),
    }
    return callers, sorted(set(ids)), [a["project"], b["project"]], sorted(set(contacts)), sorted(set(words))


# Callers: 60% of the operations go with the caller the operation is meant for (so resolvers run
# deep), the rest with a caller drawn from this mix (so guards are exercised).
CALLER_WEIGHTS = [("agent", 30), ("visitor", 25), ("none", 25), ("agent_other_project", 10), ("forged", 10)]
PROPER_CALLER = {
    "Mutation.signUp": "none", "Mutation.signIn": "none", "Mutation.signInAnonymously": "none",
    "Mutation.createRequest": "visitor", "Mutation.captureContactMetadata": "visitor", "Query.viewer": "visitor",
}  # everything else: "agent"
PROPER_SHARE = 0.6
# Share of positive-mode operations whose optional arguments are thinned out (see tame()).
TAME_SHARE = 0.5


# ---------------------------------------------------------------------------------------------
# Reproducers: shrink a failing operation (greedy, on the AST) while it still fails the same way
# ---------------------------------------------------------------------------------------------

TYPENAME_ONLY = graphql.parse("{ __typename }").definitions[0].selection_set


def _value_variants(node):
    """Smaller versions of a value node, one change each."""
    out = []
    if isinstance(node, graphql.ObjectValueNode):
        fields = list(node.fields)
        for j in range(len(fields)):
            out.append(dataclasses.replace(node, fields=tuple(fields[:j] + fields[j + 1:])))
        for j, f in enumerate(fields):
            for v in _value_variants(f.value):
                out.append(dataclasses.replace(node, fields=tuple(
                    fields[:j] + [dataclasses.replace(f, value=v)] + fields[j + 1:])))
    elif isinstance(node, graphql.ListValueNode):
        values = list(node.values)
        if values:
            out.append(dataclasses.replace(node, values=()))
        if len(values) > 1:
            out += [dataclasses.replace(node, values=(v,)) for v in values]
        for k, el in enumerate(values):
            for v in _value_variants(el):
                out.append(dataclasses.replace(node, values=tuple(values[:k] + [v] + values[k + 1:])))
    elif isinstance(node, graphql.StringValueNode) and len(node.value) > 1:
        half = len(node.value) // 2
        out += [graphql.StringValueNode(value=node.value[:half]), graphql.StringValueNode(value=node.value[half:])]
    return out


def _doc_variants(doc):
    op = doc.definitions[0]
    field = op.selection_set.selections[0]
    fields = []
    if field.selection_set is not None and graphql.print_ast(field.selection_set) != graphql.print_ast(TYPENAME_ONLY):
        fields.append(dataclasses.replace(field, selection_set=TYPENAME_ONLY))
    args = list(field.arguments or ())
    for i in range(len(args)):
        fields.append(dataclasses.replace(field, arguments=tuple(args[:i] + args[i + 1:])))
    for i, a in enumerate(args):
        for v in _value_variants(a.value):
            fields.append(dataclasses.replace(field, arguments=tuple(args[:i] + [dataclasses.replace(a, value=v)] +
                                                                     args[i + 1:])))
    for f in fields:
        new_op = dataclasses.replace(op, selection_set=dataclasses.replace(op.selection_set, selections=(f,)))
        yield dataclasses.replace(doc, definitions=(new_op,))


# Deep literals (hardening issue: a 4 KB literal of 2,000 nested lists overflowed the server's
# stack): a share of the generated operations gets one argument value, object field value or a
# directive argument replaced by a literal nested 10 to 100,000 levels (lists, objects, mixed).
# Built as text: graphql-core's printer (and Python) would recurse over such an AST.
DEEP_SHARE = 0.08
DEEP_DEPTHS = [10, 50, 64, 65, 100, 1_000, 1_500, 2_000, 10_000, 100_000]
DEEP_MARKER = "__deep_literal__"


def deep_literal(rng: random.Random, depth: int | None = None) -> str:
    depth = depth if depth is not None else rng.choice(DEEP_DEPTHS)
    shape = rng.choice(["list", "object", "mixed"])
    if shape == "list":
        return "[" * depth + "1" + "]" * depth
    if shape == "object":
        return "{a: " * depth + "1" + "}" * depth
    half = (depth + 1) // 2
    return "[{a: " * half + "1" + "}]" * half


def deepen(query: str, rng: random.Random) -> str:
    """`query` with one value (any argument, at any depth of an input object or list) or a new
    `@include(if:)` on the root field replaced by a deep literal."""
    try:
        doc = graphql.parse(query)
        op = doc.definitions[0]
        field = op.selection_set.selections[0]
    except (graphql.GraphQLError, AttributeError, IndexError):
        return query
    marker = graphql.StringValueNode(value=DEEP_MARKER)
    args = list(field.arguments or ())
    if args and rng.random() < 0.8:
        i = rng.randrange(len(args))
        value = args[i].value
        # Walk down a random path of the value, then replace the node there.
        path = []
        while isinstance(value, (graphql.ObjectValueNode, graphql.ListValueNode)) and rng.random() < 0.6:
            children = list(value.fields) if isinstance(value, graphql.ObjectValueNode) else list(value.values)
            if not children:
                break
            k = rng.randrange(len(children))
            path.append((value, children, k))
            value = children[k].value if isinstance(value, graphql.ObjectValueNode) else children[k]
        new = marker
        for parent, children, k in reversed(path):
            if isinstance(parent, graphql.ObjectValueNode):
                children[k] = dataclasses.replace(children[k], value=new)
                new = dataclasses.replace(parent, fields=tuple(children))
            else:
                children[k] = new
                new = dataclasses.replace(parent, values=tuple(children))
        args[i] = dataclasses.replace(args[i], value=new)
        field = dataclasses.replace(field, arguments=tuple(args))
    else:
        directive = graphql.DirectiveNode(name=_name_node("include"), arguments=(
            graphql.ArgumentNode(name=_name_node("if"), value=marker),))
        field = dataclasses.replace(field, directives=tuple(field.directives or ()) + (directive,))
    new_op = dataclasses.replace(op, selection_set=dataclasses.replace(op.selection_set, selections=(field,)))
    text = graphql.print_ast(dataclasses.replace(doc, definitions=(new_op,)))
    return text.replace(f'"{DEEP_MARKER}"', deep_literal(rng), 1)


def tame(query: str, client_schema: graphql.GraphQLSchema, rng: random.Random) -> str:
    """Drops each optional argument of the root field with probability 1/2, and one direction of
    Relay pagination arguments. Generated operations
    carry most optional arguments, and one bad value (a junk cursor, `first` with `last`) stops
    the whole operation at validation; fewer arguments let more operations reach the database."""
    try:
        doc = graphql.parse(query)
        op = doc.definitions[0]
        field = op.selection_set.selections[0]
        root = client_schema.mutation_type if op.operation == graphql.OperationType.MUTATION else client_schema.query_type
        defs = root.fields[field.name.value].args
    except (graphql.GraphQLError, AttributeError, IndexError, KeyError):
        return query
    # Relay pagination goes one way: keep the forward (first/after) or the backward (last/before) pair.
    drop_dir = {"last", "before"} if rng.random() < 0.7 else {"first", "after"}
    keep = tuple(a for a in (field.arguments or ())
                 if a.name.value not in defs or graphql.is_required_argument(defs[a.name.value])
                 or (a.name.value not in drop_dir and rng.random() < 0.5))
    field = dataclasses.replace(field, arguments=keep)
    new_op = dataclasses.replace(op, selection_set=dataclasses.replace(op.selection_set, selections=(field,)))
    return graphql.print_ast(dataclasses.replace(doc, definitions=(new_op,)))


def _root_field(doc):
    if len(doc.definitions) != 1 or len(doc.definitions[0].selection_set.selections) != 1:
        return None
    return doc.definitions[0].selection_set.selections[0]


def root_argument_names(query: str) -> set:
    try:
        field = _root_field(graphql.parse(query))
    except graphql.GraphQLError:
        return set()
    return {a.name.value for a in (field.arguments or ())} if field is not None else set()


def drop_arguments(query: str, names: set) -> str | None:
    """`query` without the root field's arguments in `names`; None when it cannot be parsed."""
    try:
        doc = graphql.parse(query)
    except graphql.GraphQLError:
        return None
    field = _root_field(doc)
    if field is None:
        return None
    field = dataclasses.replace(field, arguments=tuple(a for a in (field.arguments or ()) if a.name.value not in names))
    op = doc.definitions[0]
    new_op = dataclasses.replace(op, selection_set=dataclasses.replace(op.selection_set, selections=(field,)))
    return graphql.print_ast(dataclasses.replace(doc, definitions=(new_op,)))


def minimize(query: str, still_fails, budget: int = 300) -> str:
    """The smallest variant of `query` (one root field) for which `still_fails(text)` holds."""
    try:
        doc = graphql.parse(query)
    except graphql.GraphQLError:
        return query
    if len(doc.definitions) != 1 or len(doc.definitions[0].selection_set.selections) != 1:
        return query
    tries = 0
    progress = True
    while progress and tries < budget:
        progress = False
        for cand in _doc_variants(doc):
            tries += 1
            if still_fails(graphql.print_ast(cand)):
                doc, progress = cand, True
                break
            if tries >= budget:
                break
    return graphql.print_ast(doc)


# ---------------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------------


class Stats:
    def __init__(self, log_all=None):
        self.log_all = log_all
        self.lock = threading.Lock()
        self.sent = 0
        self.by_op = collections.Counter()
        self.ok_by_op = collections.Counter()
        self.by_class = collections.Counter()
        self.by_code = collections.Counter()
        self.by_caller = collections.Counter()
        self.failures: list[dict] = []
        self.slow = 0

    def record(self, label: str, mode: str, caller: str, query: str, status: int, body: bytes, elapsed: float,
               error: str | None):
        problems = []
        payload = None
        if status == 0:
            cls = "transport error"
            problems.append(f"no HTTP response: {error}")
        else:
            cls = f"{status // 100}xx"
            if status >= 500:
                problems.append(f"HTTP {status}")
            try:
                payload = json.loads(body)
            except ValueError:
                if status == 200:
                    problems.append("HTTP 200 with a body that is not JSON")
        codes = []
        if isinstance(payload, dict):
            for err in payload.get("errors") or []:
                ext = err.get("extensions") if isinstance(err, dict) else None
                code = ext.get("code") if isinstance(ext, dict) else None
                codes.append(code or "<no code>")
                if code == "INTERNAL":
                    problems.append("extensions.code INTERNAL")
                elif not code:
                    problems.append("error without extensions.code")
        with self.lock:
            if self.log_all is not None:
                self.log_all.write(json.dumps({"operation": label, "mode": mode, "caller": caller, "query": query,
                                               "status": status, "codes": codes,
                                               "response": body[:2000].decode("utf-8", "replace")}) + "\n")
            self.sent += 1
            self.by_op[f"{label} ({mode})"] += 1
            if status == 200 and isinstance(payload, dict) and payload.get("data") and not payload.get("errors"):
                self.ok_by_op[label] += 1
            self.by_class[cls] += 1
            self.by_caller[caller] += 1
            if elapsed > 5:
                self.slow += 1
            for c in codes:
                self.by_code[c] += 1
            if problems:
                self.failures.append({
                    "operation": label, "mode": mode, "caller": caller, "problems": sorted(set(problems)),
                    "query": query, "status": status, "elapsed_s": round(elapsed, 3),
                    "response": body[:4000].decode("utf-8", "replace"),
                })


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--seconds", type=float, default=30, help="wall-clock budget of the generation (default 30)")
    ap.add_argument("--max-examples", type=int, default=100_000,
                    help="most examples per (root field, mode); the run stops at whichever limit comes first")
    ap.add_argument("--batch", type=int, default=10, help="examples per (root field, mode) per round")
    ap.add_argument("--workers", type=int, default=4, help="concurrent HTTP clients")
    ap.add_argument("--timeout", type=float, default=35, help="client timeout per request, seconds")
    ap.add_argument("--log-all", action="store_true", help="write every exchange to OUT/all-DB.jsonl")
    ap.add_argument("--seed", type=int, default=None, help="seed of the caller choice (Hypothesis draws the rest)")
    ap.add_argument("--out", default=None, help="directory for the failures file and the server log")
    args = ap.parse_args()

    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="contacts-fuzz."))
    out.mkdir(parents=True, exist_ok=True)
    cluster = None
    db_name = f"fuzz_{uuid.uuid4().hex[:8]}"
    try:
        if args.db == "sqlite":
            db_path = out / "fuzz.db"
            for f in out.glob("fuzz.db*"):
                f.unlink()
            url = common.write_sqlite_url(db_path)
        else:
            cluster = PgCluster()
            cluster.__enter__()
            url = cluster.create_db(db_name)
        server = Server(url, out / f"server-{args.db}.log", NO_RATE_LIMITS)
        server.start()
        return run(args, server, out, cluster, db_name, db_path if args.db == "sqlite" else None)
    finally:
        if cluster is not None:
            cluster.__exit__(None, None, None)


def run(args, server: Server, out: Path, cluster, db_name: str, db_path) -> int:
    base = server.base
    log(f"== fuzz on {args.db}: server {base}, {args.seconds:.0f}s budget, {args.workers} clients")
    try:
        callers, known_ids, project_ids, contact_ids, context_words = seed(base)
        schema = schemathesis.graphql.from_url(base + "/graphql")
        schemathesis.graphql.scalar("ID", id_values(known_ids, project_ids, contact_ids))
        schemathesis.graphql.scalar("Int", int_values())
        schemathesis.graphql.scalar("String", string_values(known_ids, context_words))
        schemathesis.graphql.scalar("JSON", json_values())
        schemathesis.graphql.scalar("DateTime", datetime_values())
        operations = [r.ok() for r in schema.get_all_operations() if isinstance(r, Ok)]
        if not operations:
            log("FAIL: no operation in the schema")
            return 1
        targets = []
        for op in operations:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                targets.append((op.label, mode.value, op.as_strategy(generation_mode=mode)))
        log(f"   {len(operations)} root fields from introspection: {', '.join(sorted(op.label for op in operations))}")

        stats = Stats(open(out / f"all-{args.db}.jsonl", "w") if args.log_all else None)
        local = threading.local()
        inflight = threading.BoundedSemaphore(args.workers * 4)
        caller_names = [name for name, w in CALLER_WEIGHTS for _ in range(w)]
        picker = random.Random(args.seed)

        def send(label, mode, caller, query):
            try:
                session = getattr(local, "session", None)
                # The server closes a connection idle for its announced `Keep-Alive: timeout=N`;
                # like undici, stop reusing one a second before that instead of racing the close.
                if session is not None and time.monotonic() - local.last_answer >= local.idle_limit - 1:
                    session.close()
                    session = None
                if session is None:
                    session = local.session = requests.Session()
                    local.last_answer, local.idle_limit = time.monotonic(), float("inf")
                headers = {"Content-Type": "application/json"}
                token = callers[caller]
                if token:
                    headers["Authorization"] = f"Bearer {token}"
                t0 = time.monotonic()
                try:
                    resp = session.post(base + "/graphql", data=json.dumps({"query": query}), headers=headers,
                                        timeout=args.timeout)
                    stats.record(label, mode, caller, query, resp.status_code, resp.content, time.monotonic() - t0,
                                 None)
                    local.last_answer = time.monotonic()
                    local.idle_limit = keep_alive_timeout(resp.headers.get("Keep-Alive"))
                except requests.RequestException as e:
                    stats.record(label, mode, caller, query, 0, b"", time.monotonic() - t0, f"{type(e).__name__}: {e}")
            finally:
                inflight.release()

        started = time.monotonic()
        deadline = started + args.seconds
        per_target = collections.Counter()
        pool = ThreadPoolExecutor(max_workers=args.workers)
        generation_errors = collections.Counter()

        def run_batch(label, mode, strategy, n):
            @settings(max_examples=n, deadline=None, database=None, phases=[Phase.generate],
                      suppress_health_check=list(HealthCheck), derandomize=False)
            @given(case=strategy)
            def batch(case):
                if time.monotonic() > deadline:
                    return
                query = case.body if isinstance(case.body, str) else str(case.body)
                if mode == "positive" and picker.random() < TAME_SHARE:
                    query = tame(query, schema.client_schema, picker)
                if picker.random() < DEEP_SHARE:
                    label_used = label + " (deep literal)"
                    query = deepen(query, picker)
                else:
                    label_used = label
                # A private RNG: Hypothesis reseeds the global one, and its own randoms are biased.
                if picker.random() < PROPER_SHARE:
                    caller = PROPER_CALLER.get(label, "agent")
                else:
                    caller = picker.choice(caller_names)
                inflight.acquire()
                per_target[(label, mode)] += 1
                pool.submit(send, label_used, mode, caller, query)

            try:
                batch()
            except Exception as e:  # e.g. no negative case possible for an argument-less field
                generation_errors[f"{label} ({mode}): {type(e).__name__}"] += 1

        rounds = 0
        while time.monotonic() < deadline:
            live = [t for t in targets if per_target[(t[0], t[1])] < args.max_examples]
            if not live:
                break
            for label, mode, strategy in live:
                if time.monotonic() > deadline:
                    break
                n = min(args.batch, args.max_examples - per_target[(label, mode)])
                run_batch(label, mode, strategy, n)
            rounds += 1
        pool.shutdown(wait=True)
        elapsed = time.monotonic() - started

        # Reproducers, found while the server is up: per (root field, problem), shrink the shortest
        # failing operation; then each other failure still failing without the arguments of the
        # reproducers found so far has another cause: shrink it too.
        groups: dict = collections.defaultdict(list)
        for f in stats.failures:
            groups[(f["operation"], tuple(f["problems"]))].append(f)
        reproducers: dict = {}
        for key, group in sorted(groups.items())[:10]:
            group.sort(key=lambda f: len(f["query"]))
            found = reproducers[key] = []
            if any(p.startswith("HTTP") or p.startswith("no HTTP") for p in key[1]):
                found.append((None, group[0]))  # crashes and hangs: keep the exact operation
                continue
            culprits: set = set()
            for f in group[:60]:
                token = callers[f["caller"]]

                def still_fails(text, token=token, problems=key[1]):
                    codes = gql(base, text, None, token, timeout=args.timeout).codes()
                    return (("extensions.code INTERNAL" in problems and "INTERNAL" in codes)
                            or ("error without extensions.code" in problems and "<none>" in codes))

                query = f["query"]
                if culprits:
                    query = drop_arguments(query, culprits)
                    if query is None or not still_fails(query):
                        continue  # explained by a reproducer already found
                shrunk = minimize(query, still_fails, budget=150)
                culprits |= root_argument_names(shrunk)
                f["minimized"] = shrunk
                found.append((shrunk, f))
                if len(found) >= 5 or not root_argument_names(shrunk):
                    break

        health = common.http("GET", base + "/health", timeout=5)
        ready = common.http("GET", base + "/ready", timeout=10)
        alive = server.alive()
    finally:
        server.stop()
    panics = [line for line in server.log_tail(10**7).splitlines() if "panicked" in line]

    if db_path is not None:
        integrity = common.integrity_sqlite(db_path)
    else:
        integrity = common.integrity_pg(cluster, db_name)

    # ---- report
    log(f"   operations sent: {stats.sent} in {elapsed:.1f}s ({stats.sent / max(elapsed, 1e-9):.0f}/s, {rounds} rounds)")
    log(f"   by caller: {dict(sorted(stats.by_caller.items()))}")
    log("   responses by status class: " + ", ".join(f"{k} {v}" for k, v in sorted(stats.by_class.items())))
    log("   errors by code: " + ", ".join(f"{k} {v}" for k, v in stats.by_code.most_common()))
    log(f"   responses slower than 5 s: {stats.slow}")
    deep_sent = sum(v for k, v in stats.by_op.items() if "(deep literal)" in k)
    log(f"   operations with a deep literal (10 to 100,000 levels): {deep_sent}")
    if generation_errors:
        log(f"   (not generated: {dict(generation_errors)})")
    log("   per operation (mode): " + ", ".join(f"{k} {v}" for k, v in sorted(stats.by_op.items())))
    log("   succeeded (data, no errors) per root field: "
        + ", ".join(f"{k.split('.')[1]} {stats.ok_by_op[k]}" for k in sorted({k.rsplit(' (', 1)[0] for k in stats.by_op})))
    log(f"   after the run: /health {health.status}, /ready {ready.status}, server alive: {alive}")
    log(f"   integrity check ({args.db}): {'ok' if not integrity else integrity}")

    problems = []
    if stats.sent == 0:
        problems.append("no operation sent")
    if stats.sent >= 200 and deep_sent == 0:
        problems.append("no deep literal sent")
    if stats.failures:
        by_kind = collections.Counter(p for f in stats.failures for p in f["problems"])
        problems.append(f"{len(stats.failures)} bad responses: {dict(by_kind)}")
        fail_file = out / f"failures-{args.db}.jsonl"
        with fail_file.open("w") as fh:
            for f in stats.failures:
                fh.write(json.dumps(f) + "\n")
        log(f"   reproducers: {fail_file}")
        for (op, probs), found in sorted(reproducers.items()):
            log(f"   -- {op}: {list(probs)} x{len(groups[(op, probs)])}")
            for shrunk, f in found:
                if shrunk:
                    log(f"      reproducer (shrunk; caller {f['caller']}): " + " ".join(shrunk.split())[:1500])
                else:
                    log(f"      query (caller {f['caller']}, whitespace collapsed): " + " ".join(f["query"].split())[:1500])
                log(f"      response: HTTP {f['status']} {f['response'][:400]}")
    if health.status != 200:
        problems.append(f"/health {health.status} after the run")
    if ready.status != 200:
        problems.append(f"/ready {ready.status} after the run")
    if not alive:
        problems.append("server died during the run")
    if panics:
        problems.append(f"{len(panics)} panics in the server log, e.g. {panics[0][:300]}")
    if integrity:
        problems.append(f"integrity: {integrity}")
    for p in problems:
        common.fail(f"fuzz {args.db}: {p}")
    log(f"== fuzz {args.db}: {'FAILED' if problems else 'passed'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
