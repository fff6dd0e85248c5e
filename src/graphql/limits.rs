//! Operation limits, checked before any resolver runs (so a refused operation costs no SQL),
//! by [`super::prepare`]: the number of aliases and of root fields ([`check_shape`]) and the
//! fragment recursion bound ([`check_recursion`]) once per parsed document; complexity, then
//! depth ([`Measure::check`]) per request (complexity depends on the variables). async-graphql's
//! own depth and complexity limits are not used: these checks give the code themselves (the
//! recursion bound is also set on the schema, where it is never reached).
//!
//! Codes: `QUERY_TOO_DEEP`, `QUERY_TOO_COMPLEX`, `TOO_MANY_ALIASES`, `TOO_MANY_ROOT_FIELDS`.
//! The limits apply to introspection too; the defaults leave room for GraphiQL's and
//! graphql-codegen's introspection queries.

use async_graphql::parser::types::{
    ExecutableDocument, Field, OperationType, Selection, SelectionSet, VariableDefinition,
};
use async_graphql::registry::{MetaType, Registry};
use async_graphql::{OutputType, Positioned, ServerResult, Value, Variables};

use super::mutation::Mutation;
use super::query::Query;
use crate::error::ErrorCode;

/// The configured limits (defaults: `Config`, written once in its clap attributes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueryLimits {
    /// Deepest selection nesting (fields; `__typename` and fragments do not count).
    pub max_depth: usize,
    /// Largest complexity (each field 1; the [`PAGED_FIELDS`] multiply their children by
    /// their page size).
    pub max_complexity: usize,
    /// Most aliased fields in a document.
    pub max_aliases: usize,
    /// Most fields at the root of an operation.
    pub max_root_fields: usize,
}

/// How deep selection sets, fragment spreads and inline fragments may nest (cycles never
/// end, so they are refused too): async-graphql's default `limit_recursive_depth`, which the
/// schema sets to the same value.
pub const MAX_RECURSION: usize = 32;

/// A list field whose complexity is its page size times its children's, plus one.
#[derive(Clone, Copy, Debug)]
pub struct PagedField {
    /// The object type that has the field.
    pub parent: &'static str,
    /// The field (GraphQL spelling).
    pub field: &'static str,
    /// The `Int` arguments giving the page size, first one given wins.
    pub size_args: &'static [&'static str],
}

/// The fields that cost their page size (the first given of `size_args`, as
/// `service::pagination::costed_page_size` reads it) times their children, plus one.
pub const PAGED_FIELDS: [PagedField; 6] = [
    PagedField {
        parent: "Query",
        field: "contacts",
        size_args: &["first", "last"],
    },
    PagedField {
        parent: "Query",
        field: "companies",
        size_args: &["first"],
    },
    PagedField {
        parent: "Company",
        field: "contacts",
        size_args: &["first"],
    },
    PagedField {
        parent: "Query",
        field: "duplicateContacts",
        size_args: &["first"],
    },
    PagedField {
        parent: "Contact",
        field: "requests",
        size_args: &["first"],
    },
    PagedField {
        parent: "Contact",
        field: "timeline",
        size_args: &["first"],
    },
];

/// Refuses a document whose selection sets, fragment spreads and inline fragments nest
/// deeper than [`MAX_RECURSION`] (async-graphql's rule: each nested set one level; cycles
/// included). Error: `QUERY_TOO_DEEP`, with async-graphql's message and the set's location.
pub fn check_recursion(doc: &ExecutableDocument) -> ServerResult<()> {
    fn walk(
        doc: &ExecutableDocument,
        set: &Positioned<SelectionSet>,
        depth: usize,
    ) -> ServerResult<()> {
        if depth > MAX_RECURSION {
            return Err(ErrorCode::QueryTooDeep.server_error_at(
                format!(
                    "The recursion depth of the query cannot be greater than `{MAX_RECURSION}`"
                ),
                set.pos,
            ));
        }
        for item in &set.node.items {
            match &item.node {
                Selection::Field(f) if !f.node.selection_set.node.items.is_empty() => {
                    walk(doc, &f.node.selection_set, depth + 1)?;
                }
                Selection::Field(_) => {}
                Selection::FragmentSpread(s) => {
                    if let Some(fragment) = doc.fragments.get(&s.node.fragment_name.node) {
                        walk(doc, &fragment.node.selection_set, depth + 1)?;
                    }
                }
                Selection::InlineFragment(f) => walk(doc, &f.node.selection_set, depth + 1)?,
            }
        }
        Ok(())
    }
    for (_, op) in doc.operations.iter() {
        walk(doc, &op.node.selection_set, 0)?;
    }
    Ok(())
}

/// The schema's types, for costing fields by the type they are selected on.
pub struct Measure {
    registry: Registry,
    query: String,
    mutation: String,
}

impl Default for Measure {
    fn default() -> Self {
        Self::new()
    }
}

impl Measure {
    /// The types of this server's schema (no database needed).
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let query = <Query as OutputType>::create_type_info(&mut registry);
        let mutation = <Mutation as OutputType>::create_type_info(&mut registry);
        Self {
            registry,
            query,
            mutation,
        }
    }

    /// The complexity (summed over the document's operations) and depth (the deepest) of
    /// `doc` with `variables`, measured as async-graphql measures them: fragment spreads are
    /// followed at their use, `__typename` costs nothing. Call after [`check_recursion`].
    pub fn measure(&self, doc: &ExecutableDocument, variables: &Variables) -> (usize, usize) {
        let (mut complexity, mut depth) = (0usize, 0usize);
        for (_, op) in doc.operations.iter() {
            let root = match op.node.ty {
                OperationType::Query => &self.query,
                OperationType::Mutation => &self.mutation,
                OperationType::Subscription => continue,
            };
            let walk = Walk {
                registry: &self.registry,
                doc,
                variables,
                definitions: &op.node.variable_definitions,
            };
            let root = self.registry.concrete_type_by_name(root);
            let (c, d) = walk.set(&op.node.selection_set.node, root);
            complexity = complexity.saturating_add(c);
            depth = depth.max(d);
        }
        (complexity, depth)
    }

    /// Refuses `doc` over `limits`' complexity (first), then depth. Errors:
    /// `QUERY_TOO_COMPLEX`, `QUERY_TOO_DEEP`.
    pub fn check(
        &self,
        doc: &ExecutableDocument,
        variables: &Variables,
        limits: QueryLimits,
    ) -> ServerResult<()> {
        let (complexity, depth) = self.measure(doc, variables);
        if complexity > limits.max_complexity {
            return Err(ErrorCode::QueryTooComplex.server_error("Query is too complex."));
        }
        if depth > limits.max_depth {
            return Err(ErrorCode::QueryTooDeep.server_error("Query is nested too deep."));
        }
        Ok(())
    }
}

/// One operation's walk.
struct Walk<'a> {
    registry: &'a Registry,
    doc: &'a ExecutableDocument,
    variables: &'a Variables,
    definitions: &'a [Positioned<VariableDefinition>],
}

impl Walk<'_> {
    /// The complexity and depth of `set`, selected on `ty` (`None`: a type the schema does
    /// not have, or an introspection type; its fields cost 1 plus their children).
    fn set(&self, set: &SelectionSet, ty: Option<&MetaType>) -> (usize, usize) {
        let (mut complexity, mut depth) = (0usize, 0usize);
        for item in &set.items {
            let (c, d) = match &item.node {
                Selection::Field(f) if f.node.name.node == "__typename" => (0, 0),
                Selection::Field(f) => {
                    let name = f.node.name.node.as_str();
                    let field_ty = ty
                        .and_then(|t| t.field_by_name(name))
                        .and_then(|m| self.registry.concrete_type_by_name(&m.ty));
                    let (c, d) = self.set(&f.node.selection_set.node, field_ty);
                    let cost = match self.page_size(ty, &f.node) {
                        None => c.saturating_add(1),
                        Some(Some(size)) => size.saturating_mul(c).saturating_add(1),
                        // An argument that is not an `Int`: validation refuses it (the field
                        // costs nothing, as in async-graphql).
                        Some(None) => 0,
                    };
                    (cost, d + 1)
                }
                Selection::FragmentSpread(s) => {
                    match self.doc.fragments.get(&s.node.fragment_name.node) {
                        // async-graphql costs a spread's fields on the type of the spread's place.
                        Some(fragment) => self.set(&fragment.node.selection_set.node, ty),
                        None => (0, 0),
                    }
                }
                Selection::InlineFragment(f) => {
                    let ty = match &f.node.type_condition {
                        Some(cond) => self.registry.types.get(cond.node.on.node.as_str()),
                        None => ty,
                    };
                    self.set(&f.node.selection_set.node, ty)
                }
            };
            complexity = complexity.saturating_add(c);
            depth = depth.max(d);
        }
        (complexity, depth)
    }

    /// `None` when `field` (selected on `parent`) is not paged; else its page size, or
    /// `Some(None)` when a size argument is not an `Int`.
    fn page_size(&self, parent: Option<&MetaType>, field: &Field) -> Option<Option<usize>> {
        let parent = match parent? {
            MetaType::Object { name, .. } => name.as_str(),
            _ => return None,
        };
        let paged = PAGED_FIELDS
            .iter()
            .find(|p| p.parent == parent && p.field == field.name.node.as_str())?;
        let mut size = None;
        for arg in paged.size_args {
            // Every size argument is read (one that is not an `Int` voids the cost).
            match self.int_argument(field, arg) {
                Ok(n) => size = size.or(n),
                Err(()) => return Some(None),
            }
        }
        Some(usize::try_from(crate::service::pagination::costed_page_size(size)).ok())
    }

    /// The value of `field`'s `Int` argument `name`: a literal or a variable (the request's
    /// value, else the variable's default); `Ok(None)` when absent or null, `Err` when not an
    /// `Int` (or an undefined variable).
    fn int_argument(&self, field: &Field, name: &str) -> Result<Option<i32>, ()> {
        let Some(value) = field.get_argument(name) else {
            return Ok(None);
        };
        let value = value.node.clone().into_const_with(|var| {
            self.definitions
                .iter()
                .find(|d| d.node.name.node == var)
                .and_then(|d| {
                    self.variables
                        .get(&d.node.name.node)
                        .or_else(|| d.node.default_value())
                })
                .cloned()
                .ok_or(())
        })?;
        match value {
            Value::Null => Ok(None),
            Value::Number(n) => n
                .as_i64()
                .and_then(|n| i32::try_from(n).ok())
                .map(Some)
                .ok_or(()),
            _ => Err(()),
        }
    }
}

fn count_aliases(set: &SelectionSet) -> usize {
    set.items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(f) => {
                usize::from(f.node.alias.is_some()) + count_aliases(&f.node.selection_set.node)
            }
            Selection::InlineFragment(f) => count_aliases(&f.node.selection_set.node),
            Selection::FragmentSpread(_) => 0,
        })
        .sum()
}

/// Fields of a selection set, inline fragments' included (a fragment spread counts as one).
pub(crate) fn count_fields(set: &SelectionSet) -> usize {
    set.items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(_) => 1,
            Selection::InlineFragment(f) => count_fields(&f.node.selection_set.node),
            Selection::FragmentSpread(_) => 1,
        })
        .sum()
}

/// Counts aliases and root fields of a parsed document; refuses it over `limits`.
/// Errors: `TOO_MANY_ROOT_FIELDS`, `TOO_MANY_ALIASES`.
pub fn check_shape(doc: &ExecutableDocument, limits: QueryLimits) -> ServerResult<()> {
    let mut aliases: usize = doc
        .fragments
        .values()
        .map(|f| count_aliases(&f.node.selection_set.node))
        .sum();
    for (_, op) in doc.operations.iter() {
        aliases += count_aliases(&op.node.selection_set.node);
        let roots = count_fields(&op.node.selection_set.node);
        if roots > limits.max_root_fields {
            return Err(ErrorCode::TooManyRootFields.server_error(format!(
                "an operation may select at most {} root fields",
                limits.max_root_fields
            )));
        }
    }
    if aliases > limits.max_aliases {
        return Err(ErrorCode::TooManyAliases.server_error(format!(
            "a document may use at most {} aliases",
            limits.max_aliases
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    /// Query, variables, and (complexity, depth) as async-graphql 7.2 measured them with
    /// `#[graphql(complexity = ...)]` on the paged fields (checked against its
    /// `limit_complexity` / `limit_depth` when the measure moved here).
    const MEASURED: &[(&str, &str, usize, usize)] = &[
        ("{ viewer { role } }", "{}", 2, 2),
        (
            "{ contacts(first: 100) { nodes { id requests(first: 20) { totalCount nodes { id contact { id } } } } } }",
            "{}",
            10301,
            6,
        ),
        (
            "{ contacts(first: 100) { nodes { requests(first: 100) { nodes { contact { requests(first: 100) { nodes { id } } } } } } } }",
            "{}",
            2030201,
            8,
        ),
        (
            "query($n: Int) { contacts(first: $n) { nodes { id __typename timeline(first: 7) { nodes { __typename } } } } }",
            r#"{"n": 50}"#,
            501,
            4,
        ),
        (
            "query($n: Int = 3) { contacts(last: $n) { nodes { id } } }",
            "{}",
            7,
            3,
        ),
        (
            "query($n: Int = 3) { contacts(first: null, last: $n) { nodes { id } } }",
            r#"{"n": 9}"#,
            19,
            3,
        ),
        (
            "{ contacts(first: 5000) { nodes { id } } duplicateContacts { nodes { contacts { id } } } }",
            "{}",
            262,
            4,
        ),
        (
            "{ node(id: \"x\") { id ... on Contact { requests(first: 40) { nodes { id } } } } }",
            "{}",
            83,
            4,
        ),
        (
            "{ ...F } fragment F on Query { contacts(first: 30) { nodes { ...G } } } fragment G on Contact { requests(first: 2) { nodes { id } } }",
            "{}",
            181,
            5,
        ),
        (
            "query A { viewer { role } } query B { contacts(first: 10) { nodes { id } } }",
            "{}",
            23,
            3,
        ),
        ("{ contacts(first: \"x\") { nodes { id } } }", "{}", 0, 3),
        (
            "{ contacts(first: 10, last: \"x\") { nodes { id } } }",
            "{}",
            0,
            3,
        ),
        ("mutation { signOut }", "{}", 1, 1),
        (
            "{ __schema { types { name fields { name type { name ofType { name } } } } } }",
            "{}",
            9,
            6,
        ),
    ];

    #[test]
    fn measures_as_async_graphql_did() {
        let measure = Measure::new();
        for (query, vars, complexity, depth) in MEASURED {
            let doc = async_graphql::parser::parse_query(query).unwrap();
            let vars = Variables::from_json(serde_json::from_str(vars).unwrap());
            assert_eq!(
                measure.measure(&doc, &vars),
                (*complexity, *depth),
                "{query}"
            );
        }
    }

    #[test]
    fn complexity_is_checked_before_depth() {
        let measure = Measure::new();
        let doc = async_graphql::parser::parse_query(MEASURED[2].0).unwrap();
        let limits = |c, d| QueryLimits {
            max_depth: d,
            max_complexity: c,
            max_aliases: 30,
            max_root_fields: 20,
        };
        let code = |l| {
            let err = measure.check(&doc, &Variables::default(), l).unwrap_err();
            err.extensions.unwrap().get("code").cloned().unwrap()
        };
        assert_eq!(code(limits(10, 1)), Value::from("QUERY_TOO_COMPLEX"));
        assert_eq!(code(limits(2_030_201, 7)), Value::from("QUERY_TOO_DEEP"));
        measure
            .check(&doc, &Variables::default(), limits(2_030_201, 8))
            .unwrap();
    }

    /// Every paged field exists on its object type with `Int` size arguments (a rename in the
    /// schema fails here rather than silently costing the field 1).
    #[test]
    fn paged_fields_exist() {
        let measure = Measure::new();
        for paged in PAGED_FIELDS {
            let ty = measure.registry.types.get(paged.parent).unwrap();
            assert!(matches!(ty, MetaType::Object { .. }), "{}", paged.parent);
            let field = ty.field_by_name(paged.field).unwrap();
            for arg in paged.size_args {
                assert_eq!(
                    field.args.get(*arg).unwrap().ty,
                    "Int",
                    "{}.{}({arg})",
                    paged.parent,
                    paged.field
                );
            }
        }
    }

    #[test]
    fn recursion_is_bounded_like_async_graphql() {
        let chain = |links: usize| {
            let mut text = String::from("query { ...F0 }\n");
            for i in 0..links {
                text.push_str(&format!("fragment F{i} on Query {{ ...F{} }}\n", i + 1));
            }
            text.push_str(&format!("fragment F{links} on Query {{ __typename }}"));
            async_graphql::parser::parse_query(text).unwrap()
        };
        // The operation's set is level 0; each spread one more.
        check_recursion(&chain(MAX_RECURSION - 1)).unwrap();
        assert!(check_recursion(&chain(MAX_RECURSION)).is_err());
        let cycle = async_graphql::parser::parse_query(
            "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }",
        )
        .unwrap();
        let err = check_recursion(&cycle).unwrap_err();
        assert_eq!(
            err.message,
            "The recursion depth of the query cannot be greater than `32`"
        );
    }
}
