//! Operator subcommands that work on the database without serving HTTP: `seed --demo`,
//! `import-csv` and `export-csv`. Each goes through the service layer (the API's validation).

pub mod csv_io;
pub mod seed;

use std::process::ExitCode;

use crate::config::{Command, Config};
use crate::error::AppError;

/// Runs an operator subcommand against `config.database_url` (pending migrations are applied
/// first) and returns the process exit code: 0 on success, 1 when some rows failed or the
/// command refused, 2 when it could not run at all (database, file, unknown project). Other
/// commands return 2.
pub async fn run(config: &Config, command: Command) -> ExitCode {
    let db = match crate::db::connect(config).await {
        Ok(db) => db,
        Err(err) => {
            eprintln!("contacts-server: database: {err}");
            return ExitCode::from(2);
        }
    };
    if let Err(err) = crate::db::migrate(&db).await {
        eprintln!("contacts-server: migrations: {err}");
        return ExitCode::from(2);
    }
    let code = match command {
        Command::Seed { demo: _, password } => match seed::seed_demo(&db, password).await {
            Ok(summary) => {
                print!("{summary}");
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("contacts-server seed: {err}");
                ExitCode::FAILURE
            }
        },
        Command::ImportCsv {
            file,
            project,
            strict,
            batch_size,
        } => {
            let options = csv_io::ImportOptions {
                strict,
                batch_size,
                progress: csv_io::Progress::detect(),
            };
            match csv_io::import_file(&db, project, &file, options).await {
                Ok(report) => {
                    println!("{}", report.summary());
                    if report.failed > 0 {
                        ExitCode::FAILURE
                    } else {
                        ExitCode::SUCCESS
                    }
                }
                Err(err) => {
                    eprintln!("contacts-server import-csv: {err}");
                    ExitCode::from(2)
                }
            }
        }
        Command::ExportCsv {
            project,
            out,
            segment,
            filter,
        } => {
            let filter = match csv_io::export_filter(filter) {
                Ok(filter) => filter,
                Err(message) => {
                    eprintln!("contacts-server export-csv: {message}");
                    return ExitCode::from(2);
                }
            };
            let selection = csv_io::ExportSelection { segment, filter };
            match csv_io::export_to(&db, project, selection, out.as_deref()).await {
                Ok(report) => {
                    eprintln!("{}", report.summary());
                    ExitCode::SUCCESS
                }
                Err(err) => {
                    eprintln!("contacts-server export-csv: {err}");
                    ExitCode::from(2)
                }
            }
        }
        _ => ExitCode::from(2),
    };
    if let Err(err) = db.close().await {
        tracing::warn!("closing the database pool: {err}");
    }
    code
}

/// A service error as an operator reads it: the field and message of a `BAD_USER_INPUT`,
/// the detail of an `INTERNAL` (this is the operator's own terminal, not an API client).
pub fn describe(err: &AppError) -> String {
    match err {
        AppError::BadUserInput { .. } | AppError::BadAttribute { .. } => {
            format!("{}: {err}", err.input_field().unwrap_or_default())
        }
        AppError::Internal(detail) => format!("internal error: {detail}"),
        other => format!("{}: {other}", other.code().as_str()),
    }
}
