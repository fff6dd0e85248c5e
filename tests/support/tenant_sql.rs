//! The tenancy rule, checked on every SQL statement a test server runs
//! (`tests/api/common.rs` captures them): a statement that reads or writes a tenant table
//! filters by `project_id` (or, inserting, sets it). One that doesn't is a security bug
//! however unlikely the id, and would keep the data tier from being sharded by project.
//!
//! A heuristic over the SQL text, not a parser: tables are the names after `FROM`, `JOIN`,
//! `UPDATE` and `INTO`; a filter is `project_id` followed by `=`, `IN` or `= ANY`, alone or in
//! a row value (`(project_id, id) IN ...`). Written for the shapes sea-query and our raw SQL
//! produce; its unit test pins both verdicts.

/// Tables whose rows belong to one project (`project_id`): every statement on them is scoped.
/// Not here: `project` (the tenants themselves, found by `id`), `user` (agents are global;
/// a visitor's row is found by its id from its token), `project_member` (the link from a user
/// to its projects, found by `user_id` or `project_id`), `rate_limit_bucket`, migrations.
pub const TENANT_TABLES: &[&str] = &[
    "company",
    "lead",
    "lead_event",
    "lead_merge",
    "lead_fts",
    "request",
    "event_head",
    "webhook",
    "webhook_delivery",
    "contact_note",
    "segment",
    "bulk_job",
    "contact_attribute",
];

fn tokens(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in sql.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            cur.push(c.to_ascii_lowercase());
        } else {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            if !c.is_whitespace() && c != '"' && c != '`' {
                out.push(c.to_string());
            }
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Why `sql` breaks the rule, or `None` when it keeps it (or touches no tenant table).
pub fn violation(sql: &str) -> Option<String> {
    let t = tokens(sql);
    let first = t.first().map(String::as_str).unwrap_or("");
    if matches!(
        first,
        "create"
            | "alter"
            | "drop"
            | "pragma"
            | "begin"
            | "commit"
            | "rollback"
            | "savepoint"
            | "release"
            | "set"
            | "show"
            | "listen"
            | "unlisten"
            | "reset"
            | "deallocate"
    ) {
        return None;
    }
    let mut read = Vec::new();
    let mut inserted = Vec::new();
    for (i, w) in t.iter().enumerate() {
        let next = |k: usize| t.get(i + k).map(String::as_str).unwrap_or("");
        let mut name = next(1);
        if name == "only" || name == "lateral" {
            name = next(2);
        }
        // `schema.table`: the table is the part after the dot.
        let name = if next(2) == "." { next(3) } else { name };
        if !TENANT_TABLES.contains(&name) {
            continue;
        }
        match w.as_str() {
            "from" | "join" | "update" => read.push(name.to_owned()),
            "into" => inserted.push(name.to_owned()),
            _ => {}
        }
    }
    if read.is_empty() && inserted.is_empty() {
        return None;
    }
    // An UPDATE's `SET project_id = …` assigns, it does not filter: skip SET … WHERE.
    let mut assigning = false;
    let filtered = t.iter().enumerate().any(|(i, w)| {
        match w.as_str() {
            "set" if first == "update" || t.get(i.wrapping_sub(2)).is_some_and(|p| p == "do") => {
                assigning = true;
            }
            "where" | "from" | "returning" => assigning = false,
            _ => {}
        }
        if w != "project_id" || assigning {
            return false;
        }
        let after = |k: usize| t.get(i + k).map(String::as_str).unwrap_or("");
        // Compared with a value: a placeholder, a literal, `ANY (…)`, a list or a subquery
        // (`x.project_id = $1`, `project_id IN (…)`); `a.project_id = b.project_id` (a join)
        // is not a filter.
        let value = |w: &str| matches!(w, "$" | "?" | "'" | "any" | "(");
        if (after(1) == "=" && value(after(2))) || (after(1) == "in" && after(2) == "(") {
            return true;
        }
        // A row value: `(project_id, a, b) IN / = …`.
        let mut k = 1;
        while after(k) == ","
            || after(k) == "."
            || after(k)
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        {
            k += 1;
        }
        after(k) == ")" && (after(k + 1) == "in" || after(k + 1) == "=") && value(after(k + 2))
    });
    // Every `INSERT INTO table (columns)` (a data-modifying CTE holds several) sets it: its
    // column list, from the `(` after the table to the next `)`, names project_id.
    let sets_column = (first == "insert" || first == "with")
        && t.iter().enumerate().all(|(i, w)| {
            let name = t.get(i + 1).map(String::as_str).unwrap_or("");
            if w != "into" || !TENANT_TABLES.contains(&name) {
                return true;
            }
            let rest = &t[(i + 2).min(t.len())..];
            match (rest.first(), rest.iter().position(|w| w == ")")) {
                (Some(open), Some(c)) if open == "(" => rest[..c].iter().any(|w| w == "project_id"),
                _ => false,
            }
        });
    if !inserted.is_empty() && !sets_column && !filtered {
        return Some(format!(
            "inserts into {} without project_id",
            inserted.join(", ")
        ));
    }
    let reads_tenant = !read.is_empty();
    if reads_tenant && !filtered {
        return Some(format!(
            "reads {} without a project_id filter",
            read.join(", ")
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::violation;

    #[test]
    fn pins_both_verdicts() {
        for ok in [
            r#"SELECT "lead"."id" FROM "lead" WHERE "lead"."project_id" = $1 AND "lead"."id" = $2"#,
            "SELECT * FROM request r JOIN lead l ON l.id = r.lead WHERE r.project_id = ? AND l.project_id = ?",
            r#"INSERT INTO "lead" ("id", "project_id", "lead_id") VALUES ($1, $2, $3)"#,
            "UPDATE lead SET fullname = $1 WHERE project_id = $2 AND id = $3",
            r#"UPDATE "lead" SET "project_id" = $1 WHERE "lead"."id" = $2 AND "lead"."project_id" = $3"#,
            "DELETE FROM lead_event WHERE project_id IN ($1) AND lead = $2",
            "SELECT 1 FROM lead WHERE (project_id, id) IN (($1, $2))",
            "SELECT position FROM event_head WHERE project_id = $1",
            "SELECT name FROM project WHERE id = $1",
            "SELECT id FROM \"user\" WHERE login_email = $1",
            "CREATE INDEX x ON lead (project_id)",
            "DELETE FROM rate_limit_bucket WHERE tat < now()",
            "WITH h AS (INSERT INTO event_head (project_id, position) VALUES ($1, $2) RETURNING \
             position) INSERT INTO lead_event (id, project_id, position) SELECT v.id, v.p, \
             h.position FROM h CROSS JOIN (VALUES ($3, $4)) AS v (id, p)",
        ] {
            assert_eq!(violation(ok), None, "{ok}");
        }
        for bad in [
            r#"SELECT "lead"."id" FROM "lead" WHERE "lead"."id" = $1"#,
            "SELECT project_id, id FROM lead WHERE id = $1",
            "UPDATE request SET status = $1 WHERE id = $2",
            r#"UPDATE "lead" SET "id" = $1, "project_id" = $2 WHERE "lead"."id" = $3"#,
            "DELETE FROM webhook_delivery WHERE webhook_id = $1",
            "INSERT INTO lead_event (id, lead, kind) VALUES ($1, $2, $3)",
            "WITH h AS (INSERT INTO event_head (project_id, position) VALUES ($1, $2) RETURNING \
             position) INSERT INTO lead_event (id, position) SELECT v.id, h.position FROM h \
             CROSS JOIN (VALUES ($3)) AS v (id)",
            "SELECT count(*) FROM lead",
            "SELECT (project_id, id) FROM lead WHERE id = $1",
            // Scoped only through a join: no shard router could route it by project.
            "SELECT l.id FROM project p JOIN lead l ON l.project_id = p.id WHERE p.id = $1",
            "UPDATE webhook SET x = 1 WHERE id IN (SELECT w.id FROM webhook w JOIN event_head h ON h.project_id = w.project_id)",
        ] {
            assert!(violation(bad).is_some(), "{bad}");
        }
    }
}
