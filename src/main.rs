//! `contacts-server`: parse the configuration, start tracing, build the application, serve.

use clap::Parser;
use contacts_server::config::Command;
use contacts_server::{Application, Config, telemetry};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = Config::parse();
    if let Some(Command::ExportSchema) = config.command {
        print!("{}", contacts_server::schema_sdl());
        return std::process::ExitCode::SUCCESS;
    }
    telemetry::init_with(config.log_format);
    if let Some(Command::Migrate { action }) = config.command {
        return match contacts_server::db::run_migrate(&config, action).await {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("contacts-server migrate: {err}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    let app = match Application::build(config).await {
        Ok(app) => app,
        Err(err) => {
            tracing::error!("startup failed: {err}");
            eprintln!("contacts-server: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    println!(
        "contacts-server listening on http://{} (GraphiQL: http://{}/graphql)",
        app.local_addr(),
        app.local_addr()
    );
    match app.run_until_stopped(telemetry::shutdown_signal()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("server error: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}
