//! What happens to a GraphQL request before async-graphql executes it, once per request and
//! outside the schema. The schema has **no extension**: as soon as one is registered,
//! async-graphql routes every field of every response through the extension chain (a registry
//! lookup and a boxed future per extension per field), whatever the extensions do. So every
//! transport (POST and GET today; a WebSocket transport must do the same) calls
//! [`Gate::prepare`], then [`Gate::charge`], then executes the request it returns.
//!
//! In order:
//! 1. automatic persisted queries (Apollo's protocol: `extensions.persistedQuery.sha256Hash`
//!    alone runs a stored query; with the text, the text is checked against the hash and
//!    stored; an unknown hash is `PERSISTED_QUERY_NOT_FOUND`, the client then resends the text);
//! 2. the nesting bound of [`super::nesting`], before anything recursive sees the text;
//! 3. the document cache: a document is parsed once, checked against the shape limits
//!    ([`super::limits`]: aliases, root fields, fragment recursion) and kept (LRU) keyed by
//!    its exact text, so a dashboard's repeated queries skip parsing;
//! 4. complexity, then depth ([`super::limits::Measure`]), for every request (the page sizes
//!    may be variables); async-graphql then validates every request (types, variables);
//! 5. the operation's name and kind (for the metrics, GET's refusal of mutations and the
//!    mutation budget).
//!
//! Errors (request-level, no path): `QUERY_TOO_DEEP`, `QUERY_TOO_COMPLEX`, `TOO_MANY_ALIASES`,
//! `TOO_MANY_ROOT_FIELDS`, `PERSISTED_QUERY_NOT_FOUND`, `BAD_REQUEST` (a persisted-query
//! extension of another version, a hash that does not match the text),
//! `GRAPHQL_VALIDATION_FAILED` (syntax), `RATE_LIMITED` ([`Gate::charge`]).

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationType};
use async_graphql::{Request, ServerError};
use lru::LruCache;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::limits::{Measure, QueryLimits, check_recursion, check_shape, count_fields};
use super::nesting;
use crate::error::ErrorCode;
use crate::ratelimit::RateLimits;

/// Documents kept parsed.
pub const CACHED_DOCUMENTS: usize = 256;
/// Longest query text kept parsed, in bytes (longer ones are parsed every time).
pub const MAX_CACHED_TEXT: usize = 8 * 1024;
/// Persisted-query hashes remembered.
pub const PERSISTED_QUERIES: usize = 1000;
/// Longest query text stored for a persisted-query hash, in bytes.
pub const MAX_PERSISTED_TEXT: usize = 64 * 1024;

/// The executed operation, as the request names it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Operation {
    /// Its name (`query Name { ... }`), if it has one.
    pub name: Option<String>,
    /// Whether it is a mutation.
    pub is_mutation: bool,
    /// Whether it is a subscription.
    pub is_subscription: bool,
    /// Its root fields (a fragment spread at the root counts as one).
    pub root_fields: usize,
}

/// A request ready to execute: its document parsed (and attached), its operation known.
pub struct Prepared {
    /// The request to give to `Schema::execute`.
    pub request: Request,
    /// The operation it selects; `None` when the document has no such operation (execution
    /// then answers with async-graphql's own error).
    pub operation: Option<Operation>,
}

/// The per-process caches and limits of [`Gate::prepare`] and [`Gate::charge`].
pub struct Gate {
    documents: Mutex<LruCache<Arc<str>, Arc<ExecutableDocument>>>,
    persisted: Mutex<LruCache<String, Arc<str>>>,
    limits: QueryLimits,
    measure: Measure,
    rate_limits: Arc<RateLimits>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Gate {
    /// A gate with empty caches, refusing documents over `limits`, charging mutations to
    /// `rate_limits`.
    pub fn new(limits: QueryLimits, rate_limits: Arc<RateLimits>) -> Self {
        let size = |n| NonZeroUsize::new(n).unwrap_or(NonZeroUsize::MIN);
        Self {
            documents: Mutex::new(LruCache::new(size(CACHED_DOCUMENTS))),
            persisted: Mutex::new(LruCache::new(size(PERSISTED_QUERIES))),
            limits,
            measure: Measure::new(),
            rate_limits,
        }
    }

    /// Resolves a persisted query, bounds the nesting, parses (or finds the parsed document),
    /// checks its shape, complexity and depth; attaches the document to the request. Errors:
    /// see the module.
    pub fn prepare(&self, mut request: Request) -> Result<Prepared, ServerError> {
        let mut register = None;
        if let Some(value) = request.extensions.remove("persistedQuery") {
            let (text, hash) = self.persisted_query(value, std::mem::take(&mut request.query))?;
            request.query = text;
            register = hash;
        }
        nesting::check_request(&request.query, &request.variables)?;
        let doc = self.document(&request.query)?;
        self.measure.check(&doc, &request.variables, self.limits)?;
        // A hash is remembered only for a text that passed the checks above.
        if let Some(hash) = register
            && request.query.len() <= MAX_PERSISTED_TEXT
        {
            lock(&self.persisted).put(hash, Arc::from(request.query.as_str()));
        }
        let operation = operation(&doc, request.operation_name.as_deref());
        request.set_parsed_query(ExecutableDocument::clone(&doc));
        Ok(Prepared { request, operation })
    }

    /// Charges a mutation's root fields to `user`'s mutation budget (queries cost nothing).
    /// Errors: `RATE_LIMITED` (with `extensions.retryAfter`): nothing of the operation runs.
    pub async fn charge(&self, prepared: &Prepared, user: Option<Uuid>) -> Result<(), ServerError> {
        let (Some(operation), Some(user)) = (&prepared.operation, user) else {
            return Ok(());
        };
        if !operation.is_mutation {
            return Ok(());
        }
        let cost = u32::try_from(operation.root_fields.max(1)).unwrap_or(u32::MAX);
        self.rate_limits.mutation(user, cost).await.map_err(|err| {
            let err: async_graphql::Error = err.into();
            err.into_server_error(Default::default())
        })
    }

    /// The query text of a persisted-query extension `value` (with `text` as the request's
    /// own query, possibly empty), and the hash to remember it by when the request gave the
    /// text (verified against the hash).
    fn persisted_query(
        &self,
        value: async_graphql::Value,
        text: String,
    ) -> Result<(String, Option<String>), ServerError> {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct PersistedQuery {
            version: i32,
            sha256_hash: String,
        }
        let bad = |message: &str| ErrorCode::BadRequest.server_error(message);
        let pq: PersistedQuery = async_graphql::from_value(value)
            .map_err(|_| bad("invalid `persistedQuery` extension"))?;
        if pq.version != 1 {
            return Err(bad(
                "only version 1 of the `persistedQuery` extension is supported",
            ));
        }
        if text.is_empty() {
            return lock(&self.persisted)
                .get(&pq.sha256_hash)
                .map(|t| (t.to_string(), None))
                .ok_or_else(|| {
                    ErrorCode::PersistedQueryNotFound.server_error("PersistedQueryNotFound")
                });
        }
        let hash = format!("{:x}", Sha256::digest(text.as_bytes()));
        if hash != pq.sha256_hash {
            return Err(bad("the `sha256Hash` does not match the query"));
        }
        Ok((text, Some(hash)))
    }

    /// The parsed, shape-checked document of `text`, from the cache or parsed now (and cached
    /// when short enough). Errors: syntax (`GRAPHQL_VALIDATION_FAILED`), shape limits,
    /// fragment recursion (`QUERY_TOO_DEEP`).
    fn document(&self, text: &str) -> Result<Arc<ExecutableDocument>, ServerError> {
        if let Some(doc) = lock(&self.documents).get(text) {
            return Ok(doc.clone());
        }
        let doc = async_graphql::parser::parse_query(text).map_err(|e| {
            let mut err = ServerError::from(e);
            err.extensions
                .get_or_insert_with(Default::default)
                .set("code", ErrorCode::GraphqlValidationFailed.as_str());
            err
        })?;
        check_shape(&doc, self.limits)?;
        check_recursion(&doc)?;
        let doc = Arc::new(doc);
        if text.len() <= MAX_CACHED_TEXT {
            lock(&self.documents).put(Arc::from(text), doc.clone());
        }
        Ok(doc)
    }

    /// Documents held parsed (for tests and metrics).
    pub fn cached_documents(&self) -> usize {
        lock(&self.documents).len()
    }
}

/// The operation `name` selects in `doc`, by async-graphql's rules: the single operation when
/// no name is given, else the named one.
fn operation(doc: &ExecutableDocument, name: Option<&str>) -> Option<Operation> {
    let (name, op) = match (&doc.operations, name) {
        (DocumentOperations::Single(op), None) => (None, op),
        (DocumentOperations::Single(_), Some(_)) => return None,
        (DocumentOperations::Multiple(ops), Some(name)) => {
            let (n, op) = ops.iter().find(|(n, _)| n.as_str() == name)?;
            (Some(n.to_string()), op)
        }
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
            let (n, op) = ops.iter().next()?;
            (Some(n.to_string()), op)
        }
        (DocumentOperations::Multiple(_), None) => return None,
    };
    Some(Operation {
        name,
        is_mutation: op.node.ty == OperationType::Mutation,
        is_subscription: op.node.ty == OperationType::Subscription,
        root_fields: count_fields(&op.node.selection_set.node),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::ratelimit::RateLimitConfig;

    fn gate() -> Gate {
        let limits = QueryLimits {
            max_aliases: 2,
            max_root_fields: 3,
            ..crate::Config::defaults().query_limits()
        };
        let rates = RateLimitConfig {
            anonymous_per_ip: 0,
            sign_in_per_email: 0,
            mutations_per_token: 5,
        };
        Gate::new(limits, Arc::new(RateLimits::new(rates)))
    }

    fn code(err: &ServerError) -> String {
        match err.extensions.as_ref().and_then(|e| e.get("code")) {
            Some(async_graphql::Value::String(s)) => s.clone(),
            other => panic!("no code: {other:?}"),
        }
    }

    #[test]
    fn parses_each_document_once_and_checks_every_new_one() {
        let gate = gate();
        let text = "query Q { a: viewer { role } }";
        for _ in 0..3 {
            let p = gate.prepare(Request::new(text)).unwrap();
            let op = p.operation.unwrap();
            assert_eq!(
                (op.name.as_deref(), op.is_mutation, op.root_fields),
                (Some("Q"), false, 1)
            );
        }
        assert_eq!(gate.cached_documents(), 1);
        // Over the alias limit: refused every time, never cached.
        let aliased = "{ a: viewer { role } b: viewer { role } c: viewer { role } }";
        for _ in 0..2 {
            let err = gate.prepare(Request::new(aliased)).err().unwrap();
            assert_eq!(code(&err), "TOO_MANY_ALIASES");
        }
        let deep = format!("{{ viewer(x: {}1{}) }}", "[".repeat(100), "]".repeat(100));
        assert_eq!(
            code(&gate.prepare(Request::new(deep)).err().unwrap()),
            "QUERY_TOO_DEEP"
        );
        let broken = gate.prepare(Request::new("{ viewer {")).err().unwrap();
        assert_eq!(code(&broken), "GRAPHQL_VALIDATION_FAILED");
        assert_eq!(gate.cached_documents(), 1);
    }

    #[tokio::test]
    async fn persisted_queries_and_the_mutation_budget() {
        let gate = gate();
        let text = "mutation { a: createRequest(input: {firstText: \"x\"}) { __typename } b: createRequest(input: {firstText: \"y\"}) { __typename } }";
        let hash = format!("{:x}", Sha256::digest(text.as_bytes()));
        let apq = |query: &str, hash: &str| {
            let mut r = Request::new(query);
            r.extensions.insert(
                "persistedQuery".into(),
                async_graphql::value!({ "version": 1, "sha256Hash": hash }),
            );
            r
        };
        let miss = gate.prepare(apq("", &hash)).err().unwrap();
        assert_eq!(code(&miss), "PERSISTED_QUERY_NOT_FOUND");
        let wrong = gate.prepare(apq(text, "00")).err().unwrap();
        assert_eq!(code(&wrong), "BAD_REQUEST");
        gate.prepare(apq(text, &hash)).unwrap();
        let hit = gate.prepare(apq("", &hash)).unwrap();
        assert_eq!(hit.operation.as_ref().unwrap().root_fields, 2);
        // Two root mutations cost two of the five a minute; anonymous callers are not charged.
        let user = Uuid::new_v4();
        // A third charge of two finds one left and spends nothing (all or nothing).
        gate.charge(&hit, user.into()).await.unwrap();
        gate.charge(&hit, user.into()).await.unwrap();
        gate.charge(&hit, None).await.unwrap();
        assert_eq!(
            code(&gate.charge(&hit, user.into()).await.err().unwrap()),
            "RATE_LIMITED"
        );
    }
}
