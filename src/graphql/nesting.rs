//! The nesting bound of everything a client sends, checked **before** any recursive pass sees
//! it. async-graphql's parser, validation rules, complexity and depth checks, look-ahead,
//! value conversion, execution and even `Drop` of a parsed document recurse over nested
//! values; a 4 KB argument literal of 2,000 nested lists used to overflow a worker's stack and
//! abort the process. So nothing recursive runs on a document or variables until these
//! functions, which use no recursion themselves, have measured them:
//!
//! - [`document_nesting`]: the deepest nesting of `{`, `[` and `(` in the query text (selection
//!   sets, list and object literals, argument and directive argument lists, variable
//!   definitions and their default values), skipping strings, block strings and comments as
//!   the GraphQL lexer does (GraphQL spec, October 2021, §2.1);
//! - [`variables_nesting`]: the deepest nesting of lists and objects in the variables (the
//!   `JSON` scalar's values included).
//!
//! Fragment spreads nest recursion without nesting brackets (`fragment A on Query { ...B }`);
//! async-graphql bounds those itself before anything follows them (its `check_recursive_depth`,
//! 32 levels, cycles included), answered as `QUERY_TOO_DEEP` too.
//!
//! Over [`MAX_NESTING`] the request is refused with `QUERY_TOO_DEEP` by
//! [`super::prepare::Gate::prepare`], which every transport calls before anything parses the
//! text (POST, GET, automatic persisted queries; a WebSocket transport must call it too).

use async_graphql::{ServerError, ServerResult, Value, Variables};

use crate::error::ErrorCode;

/// The deepest nesting a document, its variables or its fragment spreads may reach. The
/// selection depth limit (`MAX_QUERY_DEPTH`, 15) is lower still; 64 leaves room for argument
/// literals, GraphiQL's and graphql-codegen's introspection queries (about 12 levels) and
/// attributes (5 levels, `normalize::MAX_ATTRIBUTE_DEPTH`).
pub const MAX_NESTING: usize = 64;

/// The deepest nesting of `{`, `[` and `(` in `text`, counted up to `limit + 1` (the scan
/// stops there). Brackets inside strings, block strings and comments do not count; an
/// unterminated string ends at its line's end (where the GraphQL lexer ends it too), so text
/// the parser would read as code is never hidden from this count.
pub fn document_nesting(text: &str, limit: usize) -> usize {
    let bytes = text.as_bytes();
    let (mut depth, mut deepest, mut i) = (0usize, 0usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'{' | b'[' | b'(' => {
                depth += 1;
                deepest = deepest.max(depth);
                if deepest > limit {
                    return deepest;
                }
                i += 1;
            }
            b'}' | b']' | b')' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            b'#' => {
                // A comment runs to the end of its line.
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                // A block string ends at the next `"""` not escaped as `\"""`.
                i += 3;
                while i < bytes.len() {
                    if bytes[i..].starts_with(b"\\\"\"\"") {
                        i += 4;
                    } else if bytes[i..].starts_with(b"\"\"\"") {
                        i += 3;
                        break;
                    } else {
                        i += 1;
                    }
                }
            }
            b'"' => {
                // A string ends at the next unescaped `"`, or at a line terminator (invalid
                // there: the parser refuses the document).
                i += 1;
                while i < bytes.len() {
                    match bytes[i] {
                        b'\\' => i += 2,
                        b'"' => {
                            i += 1;
                            break;
                        }
                        b'\n' | b'\r' => break,
                        _ => i += 1,
                    }
                }
            }
            _ => i += 1,
        }
    }
    deepest
}

/// The deepest nesting of lists and objects in `variables` (a scalar at the top is 0, `[1]`
/// and `{"a": 1}` are 1), measured with an explicit stack.
pub fn variables_nesting(variables: &Variables) -> usize {
    let mut stack: Vec<(&Value, usize)> = variables.values().map(|v| (v, 0)).collect();
    let mut deepest = 0;
    while let Some((value, depth)) = stack.pop() {
        match value {
            Value::List(items) => {
                deepest = deepest.max(depth + 1);
                stack.extend(items.iter().map(|v| (v, depth + 1)));
            }
            Value::Object(map) => {
                deepest = deepest.max(depth + 1);
                stack.extend(map.values().map(|v| (v, depth + 1)));
            }
            _ => {}
        }
    }
    deepest
}

/// The `QUERY_TOO_DEEP` refusal for `what` (e.g. "the document").
pub fn too_deep(what: &str) -> ServerError {
    ErrorCode::QueryTooDeep.server_error(format!("{what} nests deeper than {MAX_NESTING} levels"))
}

/// Refuses `query` or `variables` nested deeper than [`MAX_NESTING`] (`QUERY_TOO_DEEP`).
pub fn check_request(query: &str, variables: &Variables) -> ServerResult<()> {
    if document_nesting(query, MAX_NESTING) > MAX_NESTING {
        return Err(too_deep("the document"));
    }
    if variables_nesting(variables) > MAX_NESTING {
        return Err(too_deep("the variables"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_brackets_outside_strings_and_comments() {
        assert_eq!(document_nesting("{ a { b(x: [[1]]) } }", 100), 5);
        assert_eq!(document_nesting(r#"{ a(s: "[[[[{{{") }"#, 100), 2);
        assert_eq!(
            document_nesting("{ a(s: \"\"\"[[[\\\"\"\"[[\"\"\") }", 100),
            2
        );
        assert_eq!(document_nesting("# [[[[[\n{ a }", 100), 1);
        assert_eq!(document_nesting(r#"{ a(s: "\"[[[") }"#, 100), 2);
        // An unterminated string ends at the line's end: what follows counts.
        assert_eq!(document_nesting("{ a(s: \"x\n[[[[ ) }", 100), 6);
        assert_eq!(document_nesting(&"[".repeat(100_000), 64), 65);
    }

    #[test]
    fn measures_variables_without_recursion() {
        let mut value = Value::from(1);
        for _ in 0..100_000 {
            value = Value::List(vec![value]);
        }
        let vars = Variables::from_value(Value::Object(
            [(async_graphql::Name::new("v"), value)]
                .into_iter()
                .collect(),
        ));
        assert_eq!(variables_nesting(&vars), 100_000);
        // Dropping 100,000 levels would recurse: leak it instead (test only).
        std::mem::forget(vars);
    }
}
