//! One-pass resolution of the hot objects (`Contact`, `Request`) from their rows.
//!
//! async-graphql's executor builds, boxes and joins one future per selected field of every
//! object, where most fields are a copy out of the row (one pass for Requests cut SQLite's
//! Q2 server CPU by a fifth; for Contacts too, the gain was within the noise, and pages no
//! longer copy their rows: bench/RESULTS.md 2026-12-03). An object
//! resolved here answers its plain fields inline, in selection order, and runs the derived
//! resolver of each other field (a relation, a guarded field), concurrently, through
//! async-graphql's own `resolve_field`, so errors, null handling and batching stay the same.
//! Fragments on the object's own type are flattened; any other shape (a directive, a fragment
//! on an interface, a response key selected twice) goes through the derived resolvers whole.

use async_graphql::parser::types::{Field, Selection, SelectionSet};
use async_graphql::resolver_utils::ContainerType;
use async_graphql::{ContextSelectionSet, OutputType, Positioned, ServerResult, Value};

/// Resolves `ctx`'s selection on an object: each field `plain` answers (`Some`) inline, the
/// others through `resolvers` (the derived object of the type, also used whole for the shapes
/// this does not flatten). Returns the object value; a field error is recorded in the
/// response and the field left out, as async-graphql does.
pub(crate) async fn resolve_inline<'a, R>(
    ctx: &ContextSelectionSet<'a>,
    field: &Positioned<Field>,
    resolvers: &R,
    plain: impl Fn(&str) -> Option<Value>,
) -> ServerResult<Value>
where
    R: ContainerType + OutputType,
{
    let type_name = R::type_name();
    let mut fields = Vec::with_capacity(ctx.item.node.items.len());
    if !flatten(ctx, &ctx.item.node, &type_name, &mut fields) || repeats_a_key(&fields) {
        return OutputType::resolve(resolvers, ctx, field).await;
    }
    let mut out = async_graphql::indexmap::IndexMap::with_capacity(fields.len());
    let mut deferred = Vec::new();
    for f in &fields {
        let key = f.node.response_key().node.clone();
        match plain(f.node.name.node.as_str()) {
            Some(value) => {
                out.insert(key, value);
            }
            None => {
                // Keeps the selection's order; filled (or removed on error) below.
                out.insert(key, Value::Null);
                deferred.push(*f);
            }
        }
    }
    let resolve = |f: &'a Positioned<Field>| async move {
        let ctx_field = ctx.with_field(f);
        resolvers.resolve_field(&ctx_field).await
    };
    let answers = match deferred.as_slice() {
        [] => Vec::new(),
        // The common case (a page's `requests`): no join.
        [only] => vec![resolve(only).await],
        several => futures_util::future::join_all(several.iter().map(|&f| resolve(f))).await,
    };
    for (f, answer) in deferred.into_iter().zip(answers) {
        let key = &f.node.response_key().node;
        match answer {
            Ok(value) => {
                if let Some(slot) = out.get_mut(key) {
                    *slot = value.unwrap_or_default();
                }
            }
            Err(err) => {
                out.shift_remove(key);
                ctx.add_error(err);
            }
        }
    }
    Ok(if out.is_empty() {
        Value::Null
    } else {
        Value::Object(out)
    })
}

/// Appends the fields of `set` to `out`, through fragments on `type_name` (or without a type
/// condition); false when a selection needs the general executor (a directive anywhere, a
/// fragment on another type, an unknown fragment).
fn flatten<'a>(
    ctx: &ContextSelectionSet<'a>,
    set: &'a SelectionSet,
    type_name: &str,
    out: &mut Vec<&'a Positioned<Field>>,
) -> bool {
    for item in &set.items {
        let inner = match &item.node {
            Selection::Field(f) if f.node.directives.is_empty() => {
                out.push(f);
                continue;
            }
            Selection::Field(_) => return false,
            Selection::InlineFragment(fragment) => {
                let fragment = &fragment.node;
                let applies = fragment
                    .type_condition
                    .as_ref()
                    .is_none_or(|c| c.node.on.node.as_str() == type_name);
                if !applies || !fragment.directives.is_empty() {
                    return false;
                }
                &fragment.selection_set.node
            }
            Selection::FragmentSpread(spread) => {
                let Some(fragment) = ctx.query_env.fragments.get(&spread.node.fragment_name.node)
                else {
                    return false;
                };
                let fragment = &fragment.node;
                if fragment.type_condition.node.on.node.as_str() != type_name
                    || !spread.node.directives.is_empty()
                    || !fragment.directives.is_empty()
                {
                    return false;
                }
                &fragment.selection_set.node
            }
        };
        if !flatten(ctx, inner, type_name, out) {
            return false;
        }
    }
    true
}

/// Whether two fields answer under one response key (async-graphql merges those).
fn repeats_a_key(fields: &[&Positioned<Field>]) -> bool {
    fields.iter().enumerate().any(|(i, a)| {
        let key = &a.node.response_key().node;
        fields[..i]
            .iter()
            .any(|b| &b.node.response_key().node == key)
    })
}

/// Implements the schema type of `$resolvers` (a `#[repr(transparent)]`, `RefCast` newtype of
/// the row with the derived `#[Object]`) for `$owned` (a newtype of the row; also a
/// `ContainerType` and `ObjectType`, for interfaces) and `$borrowed` (a newtype of `&row`):
/// `$borrowed` resolves by [`resolve_inline`] with `$plain(&row, field_name)`, `$owned`
/// through `$borrowed`.
macro_rules! inline_object {
    ($owned:ident, $borrowed:ident, $resolvers:ident, $plain:ident) => {
        impl async_graphql::OutputType for $owned {
            fn type_name() -> std::borrow::Cow<'static, str> {
                <$resolvers as async_graphql::OutputType>::type_name()
            }

            fn create_type_info(registry: &mut async_graphql::registry::Registry) -> String {
                <$resolvers as async_graphql::OutputType>::create_type_info(registry)
            }

            async fn resolve(
                &self,
                ctx: &async_graphql::ContextSelectionSet<'_>,
                field: &async_graphql::Positioned<async_graphql::parser::types::Field>,
            ) -> async_graphql::ServerResult<async_graphql::Value> {
                async_graphql::OutputType::resolve(&$borrowed(&self.0), ctx, field).await
            }
        }

        impl async_graphql::resolver_utils::ContainerType for $owned {
            async fn resolve_field(
                &self,
                ctx: &async_graphql::Context<'_>,
            ) -> async_graphql::ServerResult<Option<async_graphql::Value>> {
                <$resolvers as ref_cast::RefCast>::ref_cast(&self.0)
                    .resolve_field(ctx)
                    .await
            }
        }

        impl async_graphql::ObjectType for $owned {}

        impl async_graphql::OutputType for $borrowed<'_> {
            fn type_name() -> std::borrow::Cow<'static, str> {
                <$resolvers as async_graphql::OutputType>::type_name()
            }

            fn create_type_info(registry: &mut async_graphql::registry::Registry) -> String {
                <$resolvers as async_graphql::OutputType>::create_type_info(registry)
            }

            async fn resolve(
                &self,
                ctx: &async_graphql::ContextSelectionSet<'_>,
                field: &async_graphql::Positioned<async_graphql::parser::types::Field>,
            ) -> async_graphql::ServerResult<async_graphql::Value> {
                let row = self.0;
                $crate::graphql::types::inline::resolve_inline(
                    ctx,
                    field,
                    <$resolvers as ref_cast::RefCast>::ref_cast(row),
                    |name| $plain(row, name),
                )
                .await
            }
        }
    };
}
pub(crate) use inline_object;
