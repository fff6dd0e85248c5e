//! Test harness: a real server on a free port over a fresh database (`support::TestDb`: a
//! SQLite file in a temp dir, or a new PostgreSQL database, removed after the test), with a
//! counter of the SQL statements it runs.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use contacts_server::{Application, Config, db};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde_json::{Value, json};

/// The secret every test server signs with (so tests can forge expired tokens with it).
pub const TEST_SECRET: &str = "test-secret-test-secret-test-secret-0123456789";

pub(crate) use crate::support::db_test;
pub use crate::support::{Backend, TestDb};

pub struct TestApp {
    pub base: String,
    /// The server's writer handle (on SQLite its one writer connection: direct writes by a
    /// test queue with the server's).
    pub db: DatabaseConnection,
    /// The server's handles, reader and writer.
    pub pools: db::Db,
    statements: Arc<AtomicUsize>,
    /// Statements of the server that broke the tenancy rule (`support::tenant_sql`): the test
    /// fails when it ends with any.
    violations: Arc<Mutex<Vec<String>>>,
    /// Every statement the server ran (SQL and values), in order (`sql_since`,
    /// `statements_since`).
    sql_log: Arc<Mutex<Vec<sea_orm::Statement>>>,
    client: reqwest::Client,
    /// Dropped last: removes the database after the server's handles.
    _db: TestDb,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let violations = std::mem::take(&mut *self.violations.lock().unwrap());
        assert!(
            violations.is_empty(),
            "statements on tenant tables without a project_id filter:\n{}",
            violations.join("\n")
        );
    }
}

/// The settings of every test server over `url`.
fn test_config(url: &str) -> Config {
    let mut config = Config::defaults();
    config.database_url = url.to_owned();
    config.bind = "127.0.0.1:0".parse().unwrap();
    config.jwt_secret = Some(TEST_SECRET.into());
    config.db_max_connections = 8;
    // Rate limits are off unless a test turns them on (tests/api/ratelimit.rs).
    config.rate_limit_anonymous_per_min = 0;
    config.rate_limit_sign_in_per_min = 0;
    config.rate_limit_mutations_per_min = 0;
    config
}

impl TestApp {
    /// Another server over this one's database (a second instance behind a load balancer),
    /// with the test settings and `tweak`; its base URL. It serves until the test ends.
    pub async fn beside(&self, tweak: impl FnOnce(&mut Config)) -> String {
        let mut config = test_config(&self._db.url);
        tweak(&mut config);
        let app = Application::build(config).await.unwrap();
        let base = format!("http://{}", app.local_addr());
        tokio::spawn(app.run_until_stopped(std::future::pending()));
        base
    }

    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, |_| {}).await
    }

    pub async fn spawn_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Self {
        contacts_server::telemetry::init();
        let test_db = TestDb::new(backend).await;
        let mut config = test_config(&test_db.url);
        tweak(&mut config);
        // The server's own handles: on SQLite a one-connection writer pool and a reader pool.
        let mut pools = db::connect_pools(&config).await.unwrap();
        db::migrate(&pools.write).await.unwrap();
        let statements = Arc::new(AtomicUsize::new(0));
        let violations = Arc::new(Mutex::new(Vec::new()));
        let sql_log = Arc::new(Mutex::new(Vec::new()));
        for conn in [&mut pools.read, &mut pools.write] {
            let counter = statements.clone();
            let violations = violations.clone();
            let sql_log = sql_log.clone();
            conn.set_metric_callback(move |info| {
                counter.fetch_add(1, Ordering::SeqCst);
                // The server's statements run in tasks; the test's own (setup, counting rows)
                // in the test's `block_on` future, outside any task: only the former must keep
                // the tenancy rule.
                if tokio::task::try_id().is_none() {
                    return;
                }
                sql_log.lock().unwrap().push(info.statement.clone());
                if let Some(why) = crate::support::tenant_sql::violation(&info.statement.sql) {
                    violations
                        .lock()
                        .unwrap()
                        .push(format!("{why}: {}", info.statement.sql));
                }
            });
        }
        let app = Application::build_with_db(config, pools.clone())
            .await
            .unwrap();
        let base = format!("http://{}", app.local_addr());
        tokio::spawn(app.run_until_stopped(std::future::pending()));
        Self {
            base,
            db: pools.write.clone(),
            pools,
            statements,
            violations,
            sql_log,
            client: reqwest::Client::new(),
            _db: test_db,
        }
    }

    /// Statements run so far.
    pub fn statements(&self) -> usize {
        self.statements.load(Ordering::SeqCst)
    }

    /// How many statements the server has run so far (a mark for [`Self::sql_since`]).
    pub fn sql_mark(&self) -> usize {
        self.sql_log.lock().unwrap().len()
    }

    /// The SQL text of the statements the server ran since `mark`, in order.
    pub fn sql_since(&self, mark: usize) -> Vec<String> {
        self.sql_log.lock().unwrap()[mark..]
            .iter()
            .map(|s| s.sql.clone())
            .collect()
    }

    /// The statements (SQL and bound values) the server ran since `mark`, in order.
    pub fn statements_since(&self, mark: usize) -> Vec<sea_orm::Statement> {
        self.sql_log.lock().unwrap()[mark..].to_vec()
    }

    /// The URL of the test's database (for the binary's subcommands).
    pub fn database_url(&self) -> &str {
        &self._db.url
    }

    /// POSTs a GraphQL operation; returns the whole response body (`data` and `errors`).
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut req = self
            .client
            .post(format!("{}/graphql", self.base))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        let resp = req.send().await.unwrap();
        resp.json().await.unwrap()
    }

    /// Like [`gql`], asserting there are no errors; returns `data`.
    pub async fn ok(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let body = self.gql(token, query, variables).await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body:#}");
        body["data"].clone()
    }

    /// Signs up an agent with a new project; returns (token, project id).
    pub async fn sign_up(&self, email: &str) -> (String, String) {
        let data = self
            .ok(
                None,
                "mutation($i: SignUpInput!) { signUp(input: $i) { token project { id } } }",
                json!({ "i": { "email": email, "password": "correct horse", "fullname": "Agent", "projectName": format!("Project of {email}") } }),
            )
            .await;
        (
            data["signUp"]["token"].as_str().unwrap().to_owned(),
            data["signUp"]["project"]["id"].as_str().unwrap().to_owned(),
        )
    }

    /// Signs a visitor in anonymously; returns (token, user id).
    pub async fn visitor(&self, project_id: &str) -> (String, String) {
        let data = self
            .ok(
                None,
                "mutation($i: SignInAnonymouslyInput!) { signInAnonymously(input: $i) { token user { id } } }",
                json!({ "i": { "projectId": project_id } }),
            )
            .await;
        (
            data["signInAnonymously"]["token"]
                .as_str()
                .unwrap()
                .to_owned(),
            data["signInAnonymously"]["user"]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        )
    }

    /// Starts a request as a visitor; returns the `createRequest` payload.
    pub async fn create_request(&self, token: &str, text: &str) -> Value {
        self.ok(
            Some(token),
            "mutation($i: CreateRequestInput!) { createRequest(input: $i) { request { id requestId status firstText } contact { id leadId } } }",
            json!({ "i": { "firstText": text } }),
        )
        .await["createRequest"]
            .clone()
    }

    /// Captures metadata as a visitor; returns the whole response.
    pub async fn capture(&self, token: &str, input: Value) -> Value {
        self.gql(
            Some(token),
            "mutation($i: CaptureContactMetadataInput!) { captureContactMetadata(input: $i) { id leadId fullname email phone attributes version } }",
            json!({ "i": input }),
        )
        .await
    }

    /// Counts rows of a table straight from the database.
    pub async fn count_rows(&self, table: &str) -> i64 {
        let backend = self.db.get_database_backend();
        let row = self
            .db
            .query_one_raw(sea_orm::Statement::from_string(
                backend,
                format!("SELECT COUNT(*) AS n FROM \"{table}\""),
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get::<i64>("", "n").unwrap()
    }
}

/// Asserts the server still answers a plain query with data and no error.
pub async fn still_serving(app: &TestApp) {
    let body = app.gql(None, "{ __typename }", json!({})).await;
    assert!(body.get("errors").is_none(), "not serving: {body:#}");
    assert_eq!(body["data"]["__typename"], "Query", "not serving: {body:#}");
}

/// The `extensions.code` of the first error of a response.
pub fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code in {body:#}"))
}

impl TestApp {
    /// Makes a new user a member of `project_id` with `role` (AGENT, ADMIN, OWNER) and returns
    /// its token for that project. (Inviting members is not part of the API yet: the row is
    /// inserted directly, the sign-in is real.)
    pub async fn member(&self, project_id: &str, email: &str, role: &str) -> String {
        use sea_orm::{ActiveModelTrait, IntoActiveModel};
        let (_, own_project) = self.sign_up(email).await;
        let user_id = self
            .ok(None, "mutation($i: SignInInput!) { signIn(input: $i) { user { id } } }", json!({ "i": { "email": email, "password": "correct horse", "projectId": own_project } }))
            .await["signIn"]["user"]["id"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        entity::project_member::Model {
            project_id: project_id.parse().unwrap(),
            user_id,
            role: role.into(),
            created_at: chrono::Utc::now(),
        }
        .into_active_model()
        .insert(&self.db)
        .await
        .unwrap();
        self.ok(None, "mutation($i: SignInInput!) { signIn(input: $i) { token role } }", json!({ "i": { "email": email, "password": "correct horse", "projectId": project_id } }))
            .await["signIn"]["token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Creates a contact as an agent; returns the contact (id, version, ...).
    pub async fn create_contact(&self, token: &str, input: Value) -> Value {
        self.ok(
            Some(token),
            "mutation($i: CreateContactInput!) { createContact(input: $i) { id leadId fullname email phone company { id name } tags attributes version status } }",
            json!({ "i": input }),
        )
        .await["createContact"]
            .clone()
    }
}
