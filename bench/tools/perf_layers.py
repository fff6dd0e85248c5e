#!/usr/bin/env python3
"""CPU per layer of the contacts-server process, from a flat `perf report --stdio --no-children
--sort sym` (perf's cpu-clock samples of the server under load).

Each sampled symbol is put in the layer of the first crate its name mentions (Rust symbols are
`crate::module::fn` or `<crate::Type as crate::Trait>::fn`); what no pattern matches is "other".
Prints a markdown table: layer, share of the server's samples, and the symbols that weigh most.
"""
import argparse
import re
from collections import defaultdict

# (layer, crate-name patterns), first match wins; order matters (parser before async_graphql).
LAYERS = [
    ("GraphQL parse", [r"async_graphql_parser", r"pest"]),
    ("GraphQL validation", [r"async_graphql::validation", r"async_graphql::registry"]),
    ("GraphQL execution (async-graphql)", [r"async_graphql", r"indexmap"]),
    ("resolvers + services (contacts_server)", [r"contacts_server"]),
    ("ORM / query building (sea-orm, sea-query)", [r"sea_orm", r"sea_query"]),
    ("SQL driver (sqlx)", [r"sqlx", r"sqlite3", r"libsqlite"]),
    ("HTTP (hyper, axum, tower)", [r"hyper", r"axum", r"tower", r"\bhttp::", r"httparse", r"h1::"]),
    ("JSON (serde_json)", [r"serde_json", r"serde::", r"ryu", r"itoa"]),
    ("tracing / logging", [r"tracing"]),
    ("auth (JWT, HMAC)", [r"jsonwebtoken", r"sha2", r"hmac", r"base64"]),
    ("async runtime (tokio, futures)", [r"tokio", r"futures", r"parking_lot", r"mio"]),
    ("allocator, memcpy (libc)", [r"malloc", r"free", r"realloc", r"memcpy", r"memmove", r"memset", r"_int_", r"cfree", r"alloc::"]),
    ("hashing, strings, std", [r"core::", r"std::", r"hashbrown", r"ahash"]),
]
LINE = re.compile(r"^\s*([\d.]+)%\s+\[(.)\]\s+(.*\S)\s*$")


def layer_of(kind, sym):
    if kind == "k":
        return "kernel (syscalls, TCP, scheduling)"
    for name, pats in LAYERS:
        if any(re.search(p, sym) for p in pats):
            return name
    return "other"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("report")
    ap.add_argument("--name", default="")
    a = ap.parse_args()
    share = defaultdict(float)
    top = defaultdict(list)
    total = 0.0
    for line in open(a.report, errors="replace"):
        m = LINE.match(line)
        if not m:
            continue
        pct, kind, sym = float(m.group(1)), m.group(2), m.group(3)
        layer = layer_of(kind, sym)
        share[layer] += pct
        total += pct
        if len(top[layer]) < 2:
            top[layer].append(f"{sym[:70]} ({pct:.1f} %)")
    print(f"#### {a.name}: server CPU by layer (perf cpu-clock samples, {total:.0f} % attributed)\n")
    print("| layer | share of server CPU | heaviest symbols |")
    print("|---|---:|---|")
    for layer, pct in sorted(share.items(), key=lambda kv: -kv[1]):
        print(f"| {layer} | {pct:.1f} % | {'; '.join(top[layer]).replace('|', '/')} |")
    print()


if __name__ == "__main__":
    main()
