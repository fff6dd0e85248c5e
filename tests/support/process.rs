//! The server binary as a child process, for the tests that run whole processes
//! (`tests/instances.rs`, `tests/traces.rs`): on a free loopback port over a database URL,
//! rate limits off, killed and reaped when dropped (also when the test panics).

use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The secret every test server signs with.
pub const SECRET: &str = "test-secret-test-secret-test-secret-0123456789";

/// One server process.
pub struct ServerProcess {
    pub child: Child,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
}

impl ServerProcess {
    /// Starts the server over `url` with the extra environment `env`, and waits (at most
    /// 10 s) until `/ready` answers 200.
    pub async fn start(url: &str, env: &[(&str, &str)]) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_contacts-server"))
            .env("DATABASE_URL", url)
            .env("BIND", format!("127.0.0.1:{port}"))
            .env("JWT_SECRET", SECRET)
            .env("RUST_LOG", "warn")
            .env("RATE_LIMIT_ANONYMOUS_PER_MIN", "0")
            .env("RATE_LIMIT_SIGN_IN_PER_MIN", "0")
            .env("RATE_LIMIT_MUTATIONS_PER_MIN", "0")
            .envs(env.iter().copied())
            .env_remove("CONTACTS_CONFIG")
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        // Owned at once, so a panic below still kills and reaps it (Drop).
        let server = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let client = reqwest::Client::new();
        for _ in 0..200 {
            if let Ok(r) = client.get(format!("{}/ready", server.base)).send().await
                && r.status().is_success()
            {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the server on {} did not become ready", server.base);
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
