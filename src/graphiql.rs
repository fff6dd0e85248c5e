//! The GraphiQL IDE, self-hosted: the page `GET /graphql` shows to a browser, and the files
//! it loads from `GET /graphiql/assets/{version}/{file}`, all embedded in the binary at
//! compile time (no CDN: the page works offline).
//!
//! The vendored GraphiQL, React and graphql-ws builds live in `assets/graphiql/` (refreshed by
//! its `vendor.sh`); the page mounts GraphiQL with the example tabs of [`EXAMPLES`] preloaded,
//! queries and mutations over HTTP and subscriptions over a WebSocket to `/graphql`
//! (graphql-ws, the Headers editor's `Authorization` in `connection_init`).

use std::sync::LazyLock;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// The page's Content-Security-Policy for one response: scripts, styles and requests from
/// this origin only (`connect-src 'self'` covers the page's own `ws:`/`wss:` origin too,
/// which GraphiQL's subscriptions use; fonts and icons also as `data:` URLs, which the
/// GraphiQL stylesheet embeds); no inline scripts, no `eval`, no framing. The one inline style allowed is the
/// `<style>` element GraphiQL's dialogs add for their scroll lock, which carries `nonce` (a
/// fresh random value per response; `init.js` hands it to GraphiQL).
pub fn content_security_policy(nonce: &str) -> String {
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self' 'nonce-{nonce}'; \
         img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; \
         form-action 'none'; frame-ancestors 'none'"
    )
}

/// A static file the page loads.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// Every file served under `/graphiql/assets/{version}/`.
const ASSETS: &[Asset] = &[
    Asset {
        name: "react.production.min.js",
        content_type: JS,
        body: include_bytes!("../assets/graphiql/react.production.min.js"),
    },
    Asset {
        name: "react-dom.production.min.js",
        content_type: JS,
        body: include_bytes!("../assets/graphiql/react-dom.production.min.js"),
    },
    Asset {
        name: "graphiql.min.js",
        content_type: JS,
        body: include_bytes!("../assets/graphiql/graphiql.min.js"),
    },
    Asset {
        name: "graphiql.min.css",
        content_type: CSS,
        body: include_bytes!("../assets/graphiql/graphiql.min.css"),
    },
    Asset {
        name: "graphql-ws.min.js",
        content_type: JS,
        body: include_bytes!("../assets/graphiql/graphql-ws.min.js"),
    },
    Asset {
        name: "init.js",
        content_type: JS,
        body: include_bytes!("../assets/graphiql/init.js"),
    },
    Asset {
        name: "page.css",
        content_type: CSS,
        body: include_bytes!("../assets/graphiql/page.css"),
    },
];

/// One preloaded GraphiQL tab: an operation of `assets/graphiql/examples/`, with the
/// variables and headers (JSON text, `""` for none) the tab opens with. `<...>` placeholders
/// in them (`<project id>`, `<visitor token>`, ...) are for the user to replace with values
/// from earlier tabs.
#[derive(Clone, Copy, Debug)]
pub struct Example {
    /// The file under `assets/graphiql/examples/`.
    pub file: &'static str,
    /// The operation (GraphQL document, one named operation).
    pub query: &'static str,
    /// The variables editor's text (JSON).
    pub variables: &'static str,
    /// The headers editor's text (JSON), `""` for no headers.
    pub headers: &'static str,
}

const AGENT_HEADERS: &str = "{\n  \"Authorization\": \"Bearer <agent token>\"\n}";
const VISITOR_HEADERS: &str = "{\n  \"Authorization\": \"Bearer <visitor token>\"\n}";

/// The example tabs, in the order of the README's product scenario: an agent signs up, a
/// visitor signs in anonymously, starts a request and leaves its details, the agent searches
/// by email and opens the contact, the visitor reads its own contact, and the agent watches
/// the project's contact events live (a subscription, which the page runs over a WebSocket);
/// then organises the contact: an owner and a note, a company, a typed attribute, a saved
/// segment and a bulk job over it.
/// A test runs them all against the real server (`tests/api/graphiql.rs`; the subscription
/// over a WebSocket as the page sends it), so they cannot drift from the schema.
pub const EXAMPLES: &[Example] = &[
    Example {
        file: "1-sign-up.graphql",
        query: include_str!("../assets/graphiql/examples/1-sign-up.graphql"),
        variables: "{\n  \"input\": {\n    \"email\": \"agent@example.com\",\n    \"password\": \"correct horse\",\n    \"fullname\": \"Agent Smith\",\n    \"projectName\": \"Acme support\"\n  }\n}",
        headers: "",
    },
    Example {
        file: "2-sign-in-anonymously.graphql",
        query: include_str!("../assets/graphiql/examples/2-sign-in-anonymously.graphql"),
        variables: "{\n  \"projectId\": \"<project id>\"\n}",
        headers: "",
    },
    Example {
        file: "3-create-request.graphql",
        query: include_str!("../assets/graphiql/examples/3-create-request.graphql"),
        variables: "{\n  \"firstText\": \"Hello, I need help with my order\"\n}",
        headers: VISITOR_HEADERS,
    },
    Example {
        file: "4-capture-metadata.graphql",
        query: include_str!("../assets/graphiql/examples/4-capture-metadata.graphql"),
        variables: "{\n  \"input\": {\n    \"fullname\": \"Andrea Sponziello\",\n    \"email\": \"andrea1@example.com\",\n    \"phone\": \"+39 06 6988 1234\",\n    \"attributes\": { \"plan\": \"pro\" }\n  }\n}",
        headers: VISITOR_HEADERS,
    },
    Example {
        file: "5-search-by-email.graphql",
        query: include_str!("../assets/graphiql/examples/5-search-by-email.graphql"),
        variables: "{\n  \"email\": \"andrea1@example.com\"\n}",
        headers: AGENT_HEADERS,
    },
    Example {
        file: "6-contact-detail.graphql",
        query: include_str!("../assets/graphiql/examples/6-contact-detail.graphql"),
        variables: "{\n  \"id\": \"<contact id>\"\n}",
        headers: AGENT_HEADERS,
    },
    Example {
        file: "7-viewer.graphql",
        query: include_str!("../assets/graphiql/examples/7-viewer.graphql"),
        variables: "",
        headers: VISITOR_HEADERS,
    },
    Example {
        file: "8-contact-events.graphql",
        query: include_str!("../assets/graphiql/examples/8-contact-events.graphql"),
        variables: "{\n  \"after\": \"0\"\n}",
        headers: AGENT_HEADERS,
    },
    Example {
        file: "9-assign-and-note.graphql",
        query: include_str!("../assets/graphiql/examples/9-assign-and-note.graphql"),
        variables: "{\n  \"contactId\": \"<contact id>\",\n  \"ownerId\": \"<agent user id>\"\n}",
        headers: AGENT_HEADERS,
    },
    Example {
        file: "10-company.graphql",
        query: include_str!("../assets/graphiql/examples/10-company.graphql"),
        variables: "{\n  \"contactId\": \"<contact id>\"\n}",
        headers: AGENT_HEADERS,
    },
    Example {
        file: "11-typed-attribute.graphql",
        query: include_str!("../assets/graphiql/examples/11-typed-attribute.graphql"),
        variables: "",
        headers: AGENT_HEADERS,
    },
    Example {
        file: "12-segment.graphql",
        query: include_str!("../assets/graphiql/examples/12-segment.graphql"),
        variables: "",
        headers: AGENT_HEADERS,
    },
    Example {
        file: "13-bulk-by-segment.graphql",
        query: include_str!("../assets/graphiql/examples/13-bulk-by-segment.graphql"),
        variables: "{\n  \"segment\": \"<segment id>\"\n}",
        headers: AGENT_HEADERS,
    },
    Example {
        file: "14-bulk-job.graphql",
        query: include_str!("../assets/graphiql/examples/14-bulk-job.graphql"),
        variables: "{\n  \"id\": \"<job id>\"\n}",
        headers: AGENT_HEADERS,
    },
];

/// The assets' version: a hash of every asset's name and bytes, so each build that changes
/// one gets new URLs and browsers may cache them forever.
static VERSION: LazyLock<String> = LazyLock::new(|| {
    // FNV-1a (64 bit): stable, dependency-free, plenty for cache busting.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for asset in ASSETS {
        for byte in asset.name.bytes().chain(asset.body.iter().copied()) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
});

/// The page, made once: the template with the assets' path and the example tabs filled in
/// (the nonce is per response: [`page_html`]).
static PAGE: LazyLock<String> = LazyLock::new(|| {
    let tabs: Vec<serde_json::Value> = EXAMPLES
        .iter()
        .map(|e| serde_json::json!({ "query": e.query, "variables": e.variables, "headers": e.headers }))
        .collect();
    // Inside `<script type="application/json">` a `</script>` in a string would end the
    // element: `<` never occurs in JSON outside strings, so escaping it everywhere is safe.
    let tabs = serde_json::Value::Array(tabs)
        .to_string()
        .replace('<', "\\u003c");
    include_str!("../assets/graphiql/index.html")
        .replace("{{assets}}", &assets_base())
        .replace("{{tabs}}", &tabs)
});

/// The URL path the page loads its assets from: `/graphiql/assets/{version}`.
pub fn assets_base() -> String {
    format!("/graphiql/assets/{}", *VERSION)
}

/// The GraphiQL page's HTML (endpoint `/graphql` over HTTP and WebSocket, the header editor
/// on, the [`EXAMPLES`] as tabs), with `nonce` as the style nonce of
/// [`content_security_policy`].
pub fn page_html(nonce: &str) -> String {
    PAGE.replace("{{nonce}}", nonce)
}

/// The GraphiQL page as a response: `text/html`, its [`content_security_policy`] with a new
/// nonce, not cached (it names the current assets' version).
pub fn page() -> Response {
    let nonce = format!("{:032x}", rand::random::<u128>());
    let csp = content_security_policy(&nonce);
    let mut response = (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        page_html(&nonce),
    )
        .into_response();
    match HeaderValue::try_from(csp) {
        Ok(value) => {
            response
                .headers_mut()
                .insert(header::CONTENT_SECURITY_POLICY, value);
        }
        // Unreachable (hex and ASCII only), but never serve the page without its policy.
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
    response
}

/// `GET /graphiql/assets/{version}/{file}`: an embedded asset with its content type, cached
/// for a year (`immutable`: the version is in the path). 404 for an unknown file or a version
/// other than this build's (a stale page; reloading it gets the current one).
async fn asset(Path((version, file)): Path<(String, String)>) -> Response {
    let found = ASSETS.iter().find(|a| a.name == file);
    match found {
        Some(asset) if version == *VERSION => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(asset.content_type),
                ),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=31536000, immutable"),
                ),
                (
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ),
            ],
            asset.body,
        )
            .into_response(),
        _ => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

/// The routes of the GraphiQL assets (`/graphiql/assets/{version}/{file}`), to merge into
/// the application's router. The page itself is served by `GET /graphql` through [`page`].
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/graphiql/assets/{version}/{file}", get(asset))
}
