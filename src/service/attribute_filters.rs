//! Typed filters on custom attributes (`contacts(attributeFilters:)`): each names a top-level
//! key and exactly one operator, whose meaning follows the key's active definition (an
//! undefined or archived key is untyped JSON):
//!
//! | operator | NUMBER | DATE | TEXT, URL | LIST | BOOLEAN | undefined |
//! |---|---|---|---|---|---|---|
//! | `eq`, `in` | numeric equality | the date | the exact string | the option (matched case-insensitively, compared in its own spelling) | the boolean | a JSON string, number or boolean, by JSON equality |
//! | `gt`, `lt` | numeric order | date order | — | — | — | — |
//! | `contains` | — | — | substring, case-insensitive | — | — | substring of a string value |
//! | `exists` | the key has a non-null value (`true`) or not (`false`) | | | | | |
//!
//! A `—` is `BAD_USER_INPUT` (`extensions.field` `attributeFilters`), like a filter with no
//! or several operators, a value that does not fit the key's type, or more than
//! [`MAX_FILTERS`] filters. A stored value of another JSON type than the definition's (written
//! before the key was defined) never matches a typed comparison.
//!
//! SQL: PostgreSQL writes `eq`/`in` as jsonb containment (`attributes @> '{"k": v}'`) and
//! `exists` as the key test (`attributes ? 'k'`), both served by the GIN index on
//! `(project_id, attributes)`; `gt`, `lt` and `contains` also test the key with `?` (the index
//! narrows to the contacts having the key) and compare the value on those rows (a GIN index
//! has no order, and a per-key b-tree expression index cannot be generic). SQLite compares
//! `json_type` / `json_extract` of the project's rows (numbers as numbers, dates as their
//! `YYYY-MM-DD` text). Case-insensitivity is the database's `lower()`: Unicode on PostgreSQL
//! (with a UTF-8 locale), ASCII letters only on SQLite.

use std::collections::HashMap;

use entity::contact_attribute::AttributeType;
use sea_orm::DbBackend;
use serde_json::Value;

use super::RawSql;
use super::attribute_rules::{Definition, type_name};
use crate::error::{AppError, AppResult};
use crate::normalize;

/// Most attribute filters in one list query.
pub const MAX_FILTERS: usize = 10;
/// Most values of one `in`.
pub const MAX_IN_VALUES: usize = 100;
/// Longest `contains` input, in characters.
pub const MAX_CONTAINS_CHARS: usize = 200;

/// The input field every error of these filters names.
const FIELD: &str = "attributeFilters";

/// One filter on a top-level custom attribute, as given (checked when the list runs):
/// exactly one operator must be set. Serialisable (saved segments store it).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct AttributeFilter {
    /// The attribute's key.
    pub key: String,
    /// Equal to this JSON string, number or boolean.
    pub eq: Option<Value>,
    /// Greater than (NUMBER, DATE).
    pub gt: Option<Value>,
    /// Less than (NUMBER, DATE).
    pub lt: Option<Value>,
    /// A string value containing this text, case-insensitively (TEXT, URL, undefined keys).
    pub contains: Option<String>,
    /// Equal to one of these (1..=[`MAX_IN_VALUES`]).
    #[serde(rename = "in")]
    pub one_of: Option<Vec<Value>>,
    /// Has a non-null value (`true`) or not (`false`).
    pub exists: Option<bool>,
}

/// The keys `filters` name, once each (whose definitions [`check`] needs), checked before any
/// is looked up. Errors: `BAD_USER_INPUT` on `attributeFilters` (more than [`MAX_FILTERS`]
/// filters; a key that is not a valid attribute key, e.g. one with a control character).
pub fn keys(filters: &[AttributeFilter]) -> AppResult<Vec<String>> {
    if filters.len() > MAX_FILTERS {
        return Err(AppError::bad_input(
            FIELD,
            format!("at most {MAX_FILTERS} attribute filters"),
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for f in filters {
        let key = normalize::attribute_key(FIELD, &f.key)?;
        if !out.contains(&key) {
            out.push(key);
        }
    }
    Ok(out)
}

/// A checked operator, its values in their stored form.
#[derive(Clone, Debug, PartialEq)]
enum Op {
    Eq(Vec<Value>),
    Gt(Value),
    Lt(Value),
    Contains(String),
    Exists(bool),
}

/// A checked filter, ready to become SQL for either database.
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    key: String,
    op: Op,
    value_type: Option<AttributeType>,
}

/// Checks `filters` against the active `definitions` of their keys and returns them as
/// conditions. Errors: `BAD_USER_INPUT` on `attributeFilters` (see the module's table).
pub fn check(
    filters: &[AttributeFilter],
    definitions: &HashMap<String, Definition>,
) -> AppResult<Vec<Condition>> {
    if filters.len() > MAX_FILTERS {
        return Err(AppError::bad_input(
            FIELD,
            format!("at most {MAX_FILTERS} attribute filters"),
        ));
    }
    filters
        .iter()
        .map(|f| condition(f, definitions.get(&f.key)))
        .collect()
}

fn condition(f: &AttributeFilter, definition: Option<&Definition>) -> AppResult<Condition> {
    let key = normalize::attribute_key(FIELD, &f.key)?;
    let given = [
        f.eq.is_some(),
        f.gt.is_some(),
        f.lt.is_some(),
        f.contains.is_some(),
        f.one_of.is_some(),
        f.exists.is_some(),
    ];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err(AppError::bad_input(
            FIELD,
            format!("the filter on `{key}` needs exactly one of eq, gt, lt, contains, in, exists"),
        ));
    }
    let value_type = definition.map(|d| d.value_type);
    let kind = value_type.map_or("an undefined attribute", type_name);
    let refuse = |op: &str| {
        Err(AppError::bad_input(
            FIELD,
            format!("`{op}` does not apply to `{key}` ({kind})"),
        ))
    };
    let op = if let Some(v) = &f.eq {
        Op::Eq(vec![scalar(&key, definition, v)?])
    } else if let Some(values) = &f.one_of {
        if values.is_empty() || values.len() > MAX_IN_VALUES {
            return Err(AppError::bad_input(
                FIELD,
                format!("`in` takes 1 to {MAX_IN_VALUES} values"),
            ));
        }
        Op::Eq(
            values
                .iter()
                .map(|v| scalar(&key, definition, v))
                .collect::<AppResult<_>>()?,
        )
    } else if let Some(exists) = f.exists {
        Op::Exists(exists)
    } else if let Some(text) = &f.contains {
        if !matches!(
            value_type,
            None | Some(AttributeType::Text | AttributeType::Url)
        ) {
            return refuse("contains");
        }
        let text = normalize::text(FIELD, Some(text), MAX_CONTAINS_CHARS)?
            .ok_or_else(|| AppError::bad_input(FIELD, "`contains` must not be blank"))?;
        Op::Contains(text.to_lowercase())
    } else {
        let (name, v) = match (&f.gt, &f.lt) {
            (Some(v), _) => ("gt", v),
            (_, Some(v)) => ("lt", v),
            _ => return Err(AppError::internal("no operator after the count")),
        };
        if !matches!(
            value_type,
            Some(AttributeType::Number | AttributeType::Date)
        ) {
            return refuse(name);
        }
        let v = scalar(&key, definition, v)?;
        if name == "gt" { Op::Gt(v) } else { Op::Lt(v) }
    };
    Ok(Condition {
        key,
        op,
        value_type,
    })
}

/// A comparison value: a JSON string, number or boolean without control characters, in the
/// key's stored form when the key is defined.
fn scalar(key: &str, definition: Option<&Definition>, v: &Value) -> AppResult<Value> {
    if !(v.is_string() || v.is_number() || v.is_boolean()) {
        return Err(AppError::bad_input(
            FIELD,
            format!(
                "the values of a filter on `{key}` are JSON strings, numbers or booleans (use `exists` for null)"
            ),
        ));
    }
    if v.as_str()
        .is_some_and(|s| s.chars().any(normalize::is_forbidden_char))
    {
        return Err(AppError::bad_input(
            FIELD,
            "must not contain control characters",
        ));
    }
    match definition {
        None => Ok(v.clone()),
        Some(d) => d
            .check(v)
            .map_err(|m| AppError::bad_input(FIELD, format!("the filter on `{key}`: {m}"))),
    }
}

/// The bind value of a JSON number (an integer stays an integer).
fn number(n: &serde_json::Number) -> sea_orm::Value {
    match n.as_i64() {
        Some(i) => i.into(),
        None => n.as_f64().unwrap_or(f64::NAN).into(),
    }
}

const PG_ATTRS: &str = r#""lead"."attributes""#;

impl Condition {
    /// The condition as SQL over `"lead"."attributes"` for `backend`.
    pub(crate) fn sql(&self, backend: DbBackend) -> RawSql {
        match backend {
            DbBackend::Postgres => self.postgres(),
            _ => self.sqlite(),
        }
    }

    fn postgres(&self) -> RawSql {
        let key = || self.key.clone();
        // `attributes ? key`: the GIN index's key test.
        let has_key = || RawSql::new().sql(format!("{PG_ATTRS} ? ")).value(key());
        let value = || {
            RawSql::new()
                .sql(format!("({PG_ATTRS} ->> "))
                .value(key())
                .sql(")")
        };
        let typeof_is = |t: &'static str| {
            RawSql::new()
                .sql(format!("jsonb_typeof({PG_ATTRS} -> "))
                .value(key())
                .sql(format!(") = '{t}'"))
        };
        match &self.op {
            Op::Eq(values) => {
                let mut sql = RawSql::new().sql("(");
                for (i, v) in values.iter().enumerate() {
                    let mut object = serde_json::Map::new();
                    object.insert(self.key.clone(), v.clone());
                    sql = sql
                        .sql(if i == 0 { "" } else { " OR " })
                        .sql(format!("{PG_ATTRS} @> CAST("))
                        .value(Value::Object(object).to_string())
                        .sql(" AS jsonb)");
                }
                sql.sql(")")
            }
            Op::Exists(true) => RawSql::new()
                .sql("(")
                .append(&has_key())
                .sql(format!(" AND {PG_ATTRS} -> "))
                .value(key())
                .sql(" <> 'null'::jsonb)"),
            Op::Exists(false) => RawSql::new()
                .sql(format!("COALESCE({PG_ATTRS} -> "))
                .value(key())
                .sql(", 'null'::jsonb) = 'null'::jsonb"),
            Op::Contains(text) => RawSql::new()
                .sql("(")
                .append(&has_key())
                .sql(" AND ")
                .append(&typeof_is("string"))
                .sql(" AND strpos(lower")
                .append(&value())
                .sql(", ")
                .value(text.clone())
                .sql(") > 0)"),
            Op::Gt(v) | Op::Lt(v) => {
                let cmp = if matches!(self.op, Op::Gt(_)) {
                    ">"
                } else {
                    "<"
                };
                let sql = RawSql::new().sql("(").append(&has_key()).sql(" AND ");
                match (self.value_type, v) {
                    (Some(AttributeType::Number), Value::Number(n)) => sql
                        .sql(format!("(CASE WHEN jsonb_typeof({PG_ATTRS} -> "))
                        .value(key())
                        .sql(") = 'number' THEN CAST(")
                        .append(&value())
                        .sql(format!(" AS numeric) END) {cmp} CAST("))
                        .value(n.to_string())
                        .sql(" AS numeric)"),
                    (_, v) => sql
                        .append(&typeof_is("string"))
                        .sql(" AND ")
                        .append(&value())
                        .sql(" ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' AND ")
                        .append(&value())
                        .sql(format!(" COLLATE \"C\" {cmp} "))
                        .value(v.as_str().unwrap_or_default().to_owned()),
                }
                .sql(")")
            }
        }
    }

    fn sqlite(&self) -> RawSql {
        let path = || format!("$.\"{}\"", self.key);
        let attrs = PG_ATTRS;
        let json_type = || {
            RawSql::new()
                .sql(format!("json_type({attrs}, "))
                .value(path())
                .sql(")")
        };
        let extract = || {
            RawSql::new()
                .sql(format!("json_extract({attrs}, "))
                .value(path())
                .sql(")")
        };
        let is_number = || json_type().sql(" IN ('integer', 'real')");
        match &self.op {
            Op::Eq(values) => {
                let mut sql = RawSql::new().sql("(");
                for (i, v) in values.iter().enumerate() {
                    sql = sql.sql(if i == 0 { "(" } else { " OR (" });
                    sql = match v {
                        Value::Bool(b) => sql.append(&json_type()).sql(if *b {
                            " = 'true'"
                        } else {
                            " = 'false'"
                        }),
                        Value::Number(n) => sql
                            .append(&is_number())
                            .sql(" AND ")
                            .append(&extract())
                            .sql(" = ")
                            .value(number(n)),
                        other => sql
                            .append(&json_type())
                            .sql(" = 'text' AND ")
                            .append(&extract())
                            .sql(" = ")
                            .value(other.as_str().unwrap_or_default().to_owned()),
                    };
                    sql = sql.sql(")");
                }
                sql.sql(")")
            }
            Op::Exists(exists) => {
                RawSql::new()
                    .sql("COALESCE(")
                    .append(&json_type())
                    .sql(if *exists {
                        ", 'null') <> 'null'"
                    } else {
                        ", 'null') = 'null'"
                    })
            }
            Op::Contains(text) => RawSql::new()
                .sql("(")
                .append(&json_type())
                .sql(" = 'text' AND instr(lower(")
                .append(&extract())
                .sql("), ")
                .value(text.clone())
                .sql(") > 0)"),
            Op::Gt(v) | Op::Lt(v) => {
                let cmp = if matches!(self.op, Op::Gt(_)) {
                    " > "
                } else {
                    " < "
                };
                let sql = RawSql::new().sql("(");
                match (self.value_type, v) {
                    (Some(AttributeType::Number), Value::Number(n)) => sql
                        .append(&is_number())
                        .sql(" AND ")
                        .append(&extract())
                        .sql(cmp)
                        .value(number(n)),
                    (_, v) => sql
                        .append(&json_type())
                        .sql(" = 'text' AND ")
                        .append(&extract())
                        .sql(" GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]' AND ")
                        .append(&extract())
                        .sql(cmp)
                        .value(v.as_str().unwrap_or_default().to_owned()),
                }
                .sql(")")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn defs() -> HashMap<String, Definition> {
        let mut d = HashMap::new();
        d.insert(
            "n".to_owned(),
            Definition {
                value_type: AttributeType::Number,
                options: vec![],
            },
        );
        d.insert(
            "plan".to_owned(),
            Definition {
                value_type: AttributeType::List,
                options: vec!["Free".into(), "Pro".into()],
            },
        );
        d
    }

    fn filter(v: Value) -> AttributeFilter {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn operators_follow_the_type() {
        let ok = [
            json!({"key": "n", "gt": 9}),
            json!({"key": "n", "in": [1, 2.5]}),
            json!({"key": "plan", "eq": "pro"}),
            json!({"key": "free", "contains": "x"}),
            json!({"key": "free", "exists": false}),
        ];
        for f in ok {
            assert!(check(&[filter(f.clone())], &defs()).is_ok(), "{f}");
        }
        let bad = [
            json!({"key": "n", "gt": "9"}),
            json!({"key": "n", "contains": "9"}),
            json!({"key": "plan", "lt": "Pro"}),
            json!({"key": "plan", "eq": "Enterprise"}),
            json!({"key": "free", "gt": 1}),
            json!({"key": "free", "eq": null}),
            json!({"key": "free", "eq": {"a": 1}}),
            json!({"key": "free"}),
            json!({"key": "free", "eq": 1, "exists": true}),
            json!({"key": "free", "in": []}),
            json!({"key": "a\"b", "exists": true}),
        ];
        for f in bad {
            let err = check(&[filter(f.clone())], &defs()).unwrap_err();
            assert_eq!(err.input_field().as_deref(), Some(FIELD), "{f}");
        }
        let eleven = vec![filter(json!({"key": "n", "exists": true})); MAX_FILTERS + 1];
        assert!(check(&eleven, &defs()).is_err());
    }

    #[test]
    fn list_values_compare_in_the_option_spelling() {
        let c = check(&[filter(json!({"key": "plan", "eq": " pro "}))], &defs()).unwrap();
        assert_eq!(c[0].op, Op::Eq(vec![json!("Pro")]));
    }

    #[test]
    fn serialises_with_in() {
        let f = filter(json!({"key": "n", "in": [1]}));
        assert_eq!(f.one_of, Some(vec![json!(1)]));
        assert_eq!(
            serde_json::to_value(&f).unwrap()["in"],
            json!([1]),
            "saved segments keep the API's spelling"
        );
    }
}
