//! `contacts-server`: load the configuration (flags, environment, optional TOML file), start
//! tracing, then serve or run an operator subcommand.

use std::process::ExitCode;

use contacts_server::config::{Command, ConfigError};
use contacts_server::{Application, Config, ops, telemetry};

/// mimalloc instead of glibc's malloc: the allocator was 23 % (Q1) to 35 % (Q2) of the
/// server's CPU under load (perf profile in bench/RESULTS.md, where the gain is measured).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let loaded = match Config::load() {
        Ok(loaded) => loaded,
        Err(ConfigError::Clap(err)) => err.exit(),
        Err(err) => {
            eprintln!("contacts-server: {err}");
            return ExitCode::from(2);
        }
    };
    let config = loaded.config.clone();
    match config.command.clone() {
        Some(Command::ExportSchema) => {
            print!("{}", contacts_server::schema_sdl());
            return ExitCode::SUCCESS;
        }
        Some(Command::ShowConfig) => {
            print!("{}", loaded.to_toml());
            return ExitCode::SUCCESS;
        }
        _ => {}
    }
    // Traces only for a serving process (not an operator subcommand).
    let serving = matches!(config.command, None | Some(Command::Serve));
    let traces = match config.otel_exporter_otlp_endpoint.as_deref() {
        Some(endpoint) if serving => {
            match contacts_server::traces::Traces::start(endpoint, &config.otel_service_name) {
                Ok(traces) => Some(traces),
                Err(err) => {
                    eprintln!("contacts-server: {err}");
                    return ExitCode::from(2);
                }
            }
        }
        _ => None,
    };
    telemetry::init_with_traces(config.log_format, traces.as_ref());
    match config.command.clone() {
        Some(Command::Migrate { action }) => {
            return match contacts_server::db::run_migrate(&config, action).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => {
                    eprintln!("contacts-server migrate: {err}");
                    ExitCode::FAILURE
                }
            };
        }
        Some(
            command
            @ (Command::Seed { .. } | Command::ImportCsv { .. } | Command::ExportCsv { .. }),
        ) => {
            return ops::run(&config, command).await;
        }
        Some(Command::Serve | Command::ExportSchema | Command::ShowConfig) | None => {}
    }
    let app = match Application::build(config).await {
        Ok(app) => app,
        Err(err) => {
            tracing::error!("startup failed: {err}");
            eprintln!("contacts-server: {err}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "contacts-server listening on http://{} (GraphiQL: http://{}/graphql)",
        app.local_addr(),
        app.local_addr()
    );
    let ended = match app.run_until_stopped(telemetry::shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("server error: {err}");
            ExitCode::FAILURE
        }
    };
    if let Some(traces) = traces {
        traces.shutdown().await;
    }
    ended
}
