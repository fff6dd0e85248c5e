//! `import-csv` and `export-csv`: contacts as CSV (the `csv` crate), validated and merged by
//! the service layer ([`crate::service::transfer`]).
//!
//! Format: UTF-8, a header row, then one contact a row. Columns (any order, any subset, names
//! case-insensitive): [`COLUMNS`]. `company` is the linked company's name and
//! `company_domain` its domain (an import links by domain first, else by name, creating the
//! company when the project has none). `tags` are separated by `|` (or, when a tag itself contains
//! `|`, written as a JSON array of strings); `attributes` is a JSON object; `status` is
//! `NORMAL`, `DELETED` or `TEMP`; `created_at` is RFC 3339; `additional_emails` (emails
//! absorbed by merges) are listed like tags. An empty cell leaves the stored value alone (a CSV
//! import never clears a field).
//!
//! Formula injection (OWASP "CSV Injection"): a spreadsheet runs a cell that starts with `=`,
//! `+`, `-`, `@`, tab or carriage return as a formula, so `export-csv` writes such a cell with
//! a leading `'` (which spreadsheets show as text, e.g. a phone `+390669881001`), and a cell
//! that already starts with `'`s before one of those characters with one `'` more;
//! `import-csv` removes that one `'` ([`defuse`] / [`restore`]), so export → import gives
//! back exactly what was exported. (A third-party file's cell `'=x` hence imports as `=x`.)

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use entity::lead;
use sea_orm::DatabaseConnection;
use serde_json::Value;
use uuid::Uuid;

use super::describe;
use crate::error::AppError;
use crate::service::fields::{ContactField, Patch};
use crate::service::transfer::{self, ImportContact, Upserted, ValidImport};
use crate::service::{ProjectScope, begin_write};

/// The columns, in the order `export-csv` writes them.
pub const COLUMNS: [&str; 18] = [
    "lead_id",
    "fullname",
    "email",
    "phone",
    "company",
    "company_domain",
    "tags",
    "status",
    "attributes",
    "created_at",
    "note",
    "street",
    "city",
    "region",
    "zipcode",
    "country",
    "additional_emails",
    "owner",
];

/// The characters that make a spreadsheet read a cell as a formula (OWASP).
const FORMULA_START: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Whether `cell` is a run of `'` (possibly empty) then a formula character.
fn quoted_formula(cell: &str) -> bool {
    cell.trim_start_matches('\'').starts_with(FORMULA_START)
}

/// The cell as `export-csv` writes it: a `'` before a cell that would start a formula (and one
/// more before one that already looks escaped), so no spreadsheet evaluates it.
pub fn defuse(cell: String) -> String {
    if quoted_formula(&cell) {
        format!("'{cell}")
    } else {
        cell
    }
}

/// The inverse of [`defuse`], applied by `import-csv` to every cell: one leading `'` removed
/// from a cell that is `'`s then a formula character.
pub fn restore(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if quoted_formula(rest) => rest,
        _ => cell,
    }
}

/// The separator of tags in the `tags` column.
pub const TAG_SEPARATOR: char = '|';

/// How progress is shown on standard error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// An `indicatif` progress bar (standard error is a terminal).
    Bar,
    /// A plain line every 2 seconds (logs, pipes).
    Lines,
    /// Nothing.
    Quiet,
}

impl Progress {
    /// [`Progress::Bar`] when standard error is a terminal, else [`Progress::Lines`].
    pub fn detect() -> Self {
        if std::io::stderr().is_terminal() {
            Self::Bar
        } else {
            Self::Lines
        }
    }
}

/// Options of [`import_file`].
#[derive(Clone, Copy, Debug)]
pub struct ImportOptions {
    /// All or nothing: the first failing row stops the import and nothing is written.
    pub strict: bool,
    /// Rows per transaction (at least 1); each row runs in its own savepoint.
    pub batch_size: usize,
    /// Progress display.
    pub progress: Progress,
}

/// The outcome of an import.
#[derive(Clone, Debug, Default)]
pub struct ImportReport {
    /// Data rows read.
    pub rows: usize,
    /// New contacts.
    pub created: usize,
    /// Existing contacts that changed.
    pub updated: usize,
    /// Existing contacts that already had the row's values.
    pub unchanged: usize,
    /// Rows not written.
    pub failed: usize,
    /// `(line, message)` of each failed row (line 1 is the header).
    pub errors: Vec<(u64, String)>,
    /// Whether a strict import was rolled back.
    pub rolled_back: bool,
    /// Wall time.
    pub elapsed: Duration,
}

impl ImportReport {
    /// Rows per second over the whole import.
    pub fn rows_per_sec(&self) -> f64 {
        self.rows as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The final line: counts, time and rows/s.
    pub fn summary(&self) -> String {
        format!(
            "import-csv: {} rows in {:.2} s ({:.0} rows/s): {} created, {} updated, {} unchanged, {} failed{}",
            self.rows,
            self.elapsed.as_secs_f64(),
            self.rows_per_sec(),
            self.created,
            self.updated,
            self.unchanged,
            self.failed,
            if self.rolled_back {
                " (strict: rolled back, nothing written)"
            } else {
                ""
            }
        )
    }
}

/// Why an import or export could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    /// No such project.
    #[error("project {0} not found")]
    UnknownProject(Uuid),
    /// The header row is unusable.
    #[error("header: {0}")]
    Header(String),
    /// Reading or writing a file.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The CSV layer (I/O while reading or writing).
    #[error("{0}")]
    Csv(#[from] csv::Error),
    /// The database.
    #[error("{}", describe(.0))]
    Service(#[from] AppError),
}

impl From<sea_orm::DbErr> for TransferError {
    fn from(err: sea_orm::DbErr) -> Self {
        Self::Service(AppError::internal(err))
    }
}

/// Imports the CSV file `path` into `project`: each row is validated like the API's input
/// (its `attributes` against the project's attribute definitions, read once at the start),
/// then created or merged on (project, `lead_id`) by [`transfer::upsert`]; batches of
/// `options.batch_size` rows share a transaction, each row in a savepoint, so a failing row
/// writes nothing and the others go on. Failed rows are printed to standard error as
/// `line N: field: message` and counted. Errors (nothing imported): [`TransferError`]: an
/// unknown project, an unreadable file, a header with an unknown or repeated column, or a
/// database failure outside a row.
pub async fn import_file(
    db: &DatabaseConnection,
    project: Uuid,
    path: &Path,
    options: ImportOptions,
) -> Result<ImportReport, TransferError> {
    let file = std::fs::File::open(path)?;
    let total_bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
    import_reader(db, project, file, total_bytes, options).await
}

/// [`import_file`] over any reader; `total_bytes` sizes the progress bar (0: unknown).
pub async fn import_reader(
    db: &DatabaseConnection,
    project: Uuid,
    input: impl std::io::Read,
    total_bytes: u64,
    options: ImportOptions,
) -> Result<ImportReport, TransferError> {
    let started = Instant::now();
    if !transfer::project_exists(db, project).await? {
        return Err(TransferError::UnknownProject(project));
    }
    let scope = ProjectScope::operator(project);
    // The project's attribute definitions, read once: every row is checked against them.
    let rules = transfer::import_rules(db, scope).await?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(LineTracker::new(input));
    let columns = header_columns(reader.headers()?)?;
    let mut report = ImportReport::default();
    let mut meter = Meter::new(options.progress, total_bytes);
    let batch_size = if options.strict {
        usize::MAX
    } else {
        options.batch_size.max(1)
    };
    let mut batch: Vec<(u64, ValidImport)> = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        let start = reader.position().byte();
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                report.rows += 1;
                let start = record.position().map_or(start, |p| p.byte());
                let line = reader.get_mut().line_at(start);
                let parsed = parse_row(&columns, &record)
                    .and_then(|row| row.validate(&rules).map_err(|e| describe(&e)));
                match parsed {
                    Ok(row) => batch.push((line, row)),
                    Err(message) => {
                        fail(&mut report, &meter, line, message);
                        if options.strict {
                            report.rolled_back = true;
                            break;
                        }
                    }
                }
            }
            Err(err) => {
                // A malformed record (wrong number of fields, invalid UTF-8): that row fails.
                let Some(pos) = err.position().cloned() else {
                    return Err(err.into());
                };
                report.rows += 1;
                let line = reader.get_mut().line_at(pos.byte());
                fail(&mut report, &meter, line, csv_message(&err));
                if options.strict {
                    report.rolled_back = true;
                    break;
                }
            }
        }
        if batch.len() >= batch_size {
            write_batch(
                db,
                scope,
                std::mem::take(&mut batch),
                &mut report,
                &meter,
                false,
            )
            .await?;
        }
        meter.tick(reader.position().byte(), &report);
    }
    if !report.rolled_back && !batch.is_empty() {
        write_batch(db, scope, batch, &mut report, &meter, options.strict).await?;
    }
    if report.rolled_back {
        report.created = 0;
        report.updated = 0;
        report.unchanged = 0;
    }
    report.elapsed = started.elapsed();
    meter.finish();
    Ok(report)
}

/// Writes `rows` in one transaction, each in a savepoint. With `all_or_nothing`, the first
/// failing row rolls the whole transaction back (`report.rolled_back`).
async fn write_batch(
    db: &DatabaseConnection,
    scope: ProjectScope,
    rows: Vec<(u64, ValidImport)>,
    report: &mut ImportReport,
    meter: &Meter,
    all_or_nothing: bool,
) -> Result<(), TransferError> {
    let txn = begin_write(db).await?;
    let mut counts = (0, 0, 0);
    for (line, valid) in rows {
        let savepoint = txn.savepoint().await?;
        match transfer::upsert(&savepoint, scope, valid).await {
            Ok((outcome, _)) => {
                savepoint.commit().await?;
                match outcome {
                    Upserted::Created => counts.0 += 1,
                    Upserted::Updated => counts.1 += 1,
                    Upserted::Unchanged => counts.2 += 1,
                }
            }
            Err(err) => {
                savepoint.rollback().await?;
                fail(report, meter, line, describe(&err));
                if all_or_nothing {
                    txn.rollback().await?;
                    report.rolled_back = true;
                    return Ok(());
                }
            }
        }
    }
    txn.commit().await?;
    report.created += counts.0;
    report.updated += counts.1;
    report.unchanged += counts.2;
    Ok(())
}

/// A reader that notes where each line feed passes, so that a record's physical line can be
/// told from its byte offset: the `csv` crate's own line count is one low for CRLF files (it
/// reports a record as starting at the `\n` of the previous line's `\r\n`).
struct LineTracker<R> {
    inner: R,
    /// Bytes read so far.
    read: u64,
    /// Offsets of line feeds read but not yet passed by a [`LineTracker::line_at`] query.
    pending: std::collections::VecDeque<u64>,
    /// Line feeds already passed.
    passed: u64,
}

impl<R> LineTracker<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            read: 0,
            pending: Default::default(),
            passed: 0,
        }
    }

    /// The 1-based physical line of a record that the parser says starts at `byte`: one more
    /// than the line feeds at or before it (at it: the `\n` of a CRLF, which the record's text
    /// follows). Queries must not go backwards.
    fn line_at(&mut self, byte: u64) -> u64 {
        while self.pending.front().is_some_and(|&at| at <= byte) {
            self.pending.pop_front();
            self.passed += 1;
        }
        self.passed + 1
    }
}

impl<R: std::io::Read> std::io::Read for LineTracker<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let start = self.read;
        self.pending.extend(
            buf[..n]
                .iter()
                .enumerate()
                .filter(|(_, b)| **b == b'\n')
                .map(|(i, _)| start + i as u64),
        );
        self.read += n as u64;
        Ok(n)
    }
}

fn fail(report: &mut ImportReport, meter: &Meter, line: u64, message: String) {
    meter.println(&format!("line {line}: {message}"));
    report.failed += 1;
    report.errors.push((line, message));
}

fn csv_message(err: &csv::Error) -> String {
    match err.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("expected {expected_len} fields, found {len}"),
        csv::ErrorKind::Utf8 { .. } => "not valid UTF-8".into(),
        _ => err.to_string(),
    }
}

/// Maps each header cell to its column index in [`COLUMNS`]. Errors: an unknown or repeated
/// column name, or a header with no column.
fn header_columns(header: &csv::StringRecord) -> Result<Vec<usize>, TransferError> {
    let mut out = Vec::with_capacity(header.len());
    for cell in header {
        let name = cell
            .trim()
            .trim_start_matches('\u{feff}')
            .to_ascii_lowercase();
        let index = COLUMNS.iter().position(|c| *c == name).ok_or_else(|| {
            TransferError::Header(format!(
                "unknown column `{name}` (known: {})",
                COLUMNS.join(", ")
            ))
        })?;
        if out.contains(&index) {
            return Err(TransferError::Header(format!("column `{name}` repeated")));
        }
        out.push(index);
    }
    if out.is_empty() {
        return Err(TransferError::Header("no columns".into()));
    }
    Ok(out)
}

/// One record as an [`ImportContact`] (shape only; the values are validated by the service).
/// Errors: `column: message` for a cell that does not parse (JSON, timestamp, tags).
fn parse_row(columns: &[usize], record: &csv::StringRecord) -> Result<ImportContact, String> {
    let mut row = ImportContact::default();
    for (cell, &column) in record.iter().zip(columns) {
        let cell = restore(cell);
        if cell.trim().is_empty() {
            continue;
        }
        let set = || Patch::Set(cell.to_owned());
        let name = COLUMNS[column];
        if let Some(field) = ContactField::from_name(name) {
            row.fields.set(field, set());
            continue;
        }
        match name {
            "lead_id" => row.lead_id = Some(cell.to_owned()),
            "owner" => row.owner = Some(cell.to_owned()),
            "company_domain" => row.company_domain = Some(cell.to_owned()),
            "status" => row.status = Some(cell.to_owned()),
            "tags" => row.tags = parse_list("tags", cell)?,
            "additional_emails" => row.additional_emails = parse_list("additional_emails", cell)?,
            "attributes" => {
                let value: Value = serde_json::from_str(cell)
                    .map_err(|e| format!("attributes: not valid JSON: {e}"))?;
                row.attributes = Some(value);
            }
            "created_at" => {
                let at = DateTime::parse_from_rfc3339(cell.trim())
                    .map_err(|e| format!("created_at: not an RFC 3339 timestamp: {e}"))?;
                row.created_at = Some(at.with_timezone(&Utc));
            }
            _ => {}
        }
    }
    Ok(row)
}

/// Tags (or additional emails) of a cell: a JSON array of strings when it starts with `[`,
/// else split on `|`.
fn parse_list(column: &str, cell: &str) -> Result<Vec<String>, String> {
    if cell.trim_start().starts_with('[') {
        return serde_json::from_str::<Vec<String>>(cell)
            .map_err(|e| format!("{column}: not a JSON array of strings: {e}"));
    }
    Ok(cell
        .split(TAG_SEPARATOR)
        .filter(|t| !t.trim().is_empty())
        .map(str::to_owned)
        .collect())
}

/// The `tags` cell of stored tags: `|`-separated, or a JSON array when a tag contains `|` or
/// the first starts with `[` (so that [`parse_list`] reads back the same tags).
fn format_tags(tags: &[String]) -> String {
    let needs_json = tags.iter().any(|t| t.contains(TAG_SEPARATOR))
        || tags
            .first()
            .is_some_and(|t| t.trim_start().starts_with('['));
    if needs_json {
        serde_json::to_string(tags).unwrap_or_default()
    } else {
        tags.join("|")
    }
}

/// The outcome of an export.
#[derive(Clone, Debug, Default)]
pub struct ExportReport {
    /// Contacts written.
    pub rows: usize,
    /// Wall time.
    pub elapsed: Duration,
}

impl ExportReport {
    /// The final line: count, time and rows/s.
    pub fn summary(&self) -> String {
        format!(
            "export-csv: {} rows in {:.2} s ({:.0} rows/s)",
            self.rows,
            self.elapsed.as_secs_f64(),
            self.rows as f64 / self.elapsed.as_secs_f64().max(1e-9)
        )
    }
}

/// Which contacts `export-csv` writes: without a segment or filter, every contact of the
/// project except erased ones (any status); with them, the contacts `contacts(segment:,
/// ...)` would list (NORMAL only unless a status filter says otherwise), erased ones left out.
#[derive(Clone, Debug, Default)]
pub struct ExportSelection {
    /// A saved segment of the project (its id).
    pub segment: Option<Uuid>,
    /// Filters, as the arguments of `contacts`.
    pub filter: Option<crate::service::contact_search::ContactQuery>,
}

/// The service's query of `export-csv`'s filter flags; `None` when no flag is given.
/// Errors: a message naming a bad `--status` or `--attribute-filter`.
pub fn export_filter(
    flags: crate::config::ExportFilter,
) -> Result<Option<crate::service::contact_search::ContactQuery>, String> {
    let statuses = flags
        .statuses
        .iter()
        .map(|s| {
            transfer::status_code(s)
                .ok_or_else(|| format!("--status {s}: expected normal, deleted or temp"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let attribute_filters = flags
        .attribute_filters
        .iter()
        .map(|f| serde_json::from_str(f).map_err(|e| format!("--attribute-filter {f}: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let query = crate::service::contact_search::ContactQuery {
        search: flags.search,
        email: flags.email,
        tags: flags.tags,
        statuses,
        created_after: flags.created_after,
        created_before: flags.created_before,
        has_email: flags.has_email,
        owner: flags.owner,
        unassigned: flags.unassigned,
        company_id: flags.company.map(|id| id.to_string()),
        attribute_filters,
        ..Default::default()
    };
    Ok((query != Default::default()).then_some(query))
}

/// Writes the contacts `selection` picks of `project`, in the import format ([`COLUMNS`],
/// header first), ordered by creation time (then `lead_id`, or the id with a filter), to `out`
/// (standard output when `None`). Errors: [`TransferError`] (unknown project or segment, a
/// bad filter, I/O, database).
pub async fn export_to(
    db: &DatabaseConnection,
    project: Uuid,
    selection: ExportSelection,
    out: Option<&Path>,
) -> Result<ExportReport, TransferError> {
    let sink: Box<dyn Write> = match out {
        Some(path) => Box::new(std::fs::File::create(path)?),
        None => Box::new(std::io::stdout().lock()),
    };
    export_writer(db, project, selection, sink).await
}

/// [`export_to`] into any writer.
pub async fn export_writer(
    db: &DatabaseConnection,
    project: Uuid,
    selection: ExportSelection,
    sink: impl Write,
) -> Result<ExportReport, TransferError> {
    use crate::service::contact_search::{self, Direction, OrderField, PageRequest};
    const PAGE: u64 = 1000;
    let started = Instant::now();
    if !transfer::project_exists(db, project).await? {
        return Err(TransferError::UnknownProject(project));
    }
    let scope = ProjectScope::operator(project);
    let owners = transfer::agent_emails(db, scope).await?;
    let mut writer = csv::Writer::from_writer(std::io::BufWriter::new(sink));
    writer.write_record(COLUMNS)?;
    let mut report = ExportReport::default();
    if selection.segment.is_none() && selection.filter.is_none() {
        let mut after = None;
        loop {
            let page = transfer::export_page(db, scope, after.clone(), PAGE).await?;
            let domains = transfer::company_domains(db, scope, &page).await?;
            for contact in &page {
                writer.write_record(export_row(contact, &owners, &domains))?;
            }
            report.rows += page.len();
            match page.last() {
                Some(last) if page.len() as u64 == PAGE => {
                    after = Some((last.created_at, last.lead_id.clone()))
                }
                _ => break,
            }
        }
    } else {
        let mut query = crate::service::segments::within(
            db,
            scope,
            selection.segment,
            selection.filter.unwrap_or_default(),
        )
        .await?;
        query.order = Some((OrderField::CreatedAt, Direction::Asc));
        let mut after = None;
        loop {
            let page = PageRequest::Forward {
                first: crate::service::pagination::MAX_PAGE_SIZE,
                after: after.take(),
            };
            let page = contact_search::list(db, scope, &query, page, &Default::default()).await?;
            let domains = transfer::company_domains(db, scope, &page.rows).await?;
            for contact in page.rows.iter().filter(|c| c.erased_at.is_none()) {
                writer.write_record(export_row(contact, &owners, &domains))?;
                report.rows += 1;
            }
            if !page.has_next_page {
                break;
            }
            after = page.cursors.last().cloned();
        }
    }
    writer.flush()?;
    report.elapsed = started.elapsed();
    Ok(report)
}

/// The cells of contact `c` in [`COLUMNS`] order: `owners` gives its owner's email, `domains`
/// its company's domain.
fn export_row(
    c: &lead::Model,
    owners: &HashMap<Uuid, String>,
    domains: &HashMap<Uuid, String>,
) -> [String; COLUMNS.len()] {
    COLUMNS.map(|column| {
        let cell = match column {
            "lead_id" => c.lead_id.clone(),
            "company_domain" => c
                .company_id
                .and_then(|id| domains.get(&id).cloned())
                .unwrap_or_default(),
            "tags" => format_tags(&crate::normalize::stored_tags(&c.tags)),
            "status" => transfer::status_name(c.status).to_owned(),
            "attributes" => match &c.attributes {
                Value::Object(map) if map.is_empty() => String::new(),
                other => other.to_string(),
            },
            "created_at" => c.created_at.to_rfc3339_opts(SecondsFormat::Micros, true),
            "additional_emails" => {
                format_tags(&crate::normalize::stored_tags(&c.additional_emails))
            }
            "owner" => c
                .owner_id
                .and_then(|id| owners.get(&id).cloned())
                .unwrap_or_default(),
            name => ContactField::from_name(name)
                .and_then(|f| f.get(c).cloned())
                .unwrap_or_default(),
        };
        defuse(cell)
    })
}

/// Progress on standard error: an `indicatif` bar over the file's bytes, or a plain line
/// every 2 seconds.
struct Meter {
    mode: Progress,
    bar: Option<indicatif::ProgressBar>,
    started: Instant,
    last_line: Instant,
}

impl Meter {
    fn new(mode: Progress, total_bytes: u64) -> Self {
        let bar = (mode == Progress::Bar).then(|| {
            let bar = indicatif::ProgressBar::new(total_bytes);
            if let Ok(style) =
                indicatif::ProgressStyle::with_template("{bar:40} {percent:>3}% {elapsed} {msg}")
            {
                bar.set_style(style);
            }
            bar
        });
        let now = Instant::now();
        Self {
            mode,
            bar,
            started: now,
            last_line: now,
        }
    }

    fn tick(&mut self, byte: u64, report: &ImportReport) {
        match (&self.bar, self.mode) {
            (Some(bar), _) if report.rows.is_multiple_of(100) => {
                bar.set_position(byte);
                bar.set_message(format!("{} rows, {} failed", report.rows, report.failed));
            }
            (None, Progress::Lines) if self.last_line.elapsed() >= Duration::from_secs(2) => {
                self.last_line = Instant::now();
                let secs = self.started.elapsed().as_secs_f64().max(1e-9);
                eprintln!(
                    "import-csv: {} rows read, {} failed ({:.0} rows/s)",
                    report.rows,
                    report.failed,
                    report.rows as f64 / secs
                );
            }
            _ => {}
        }
    }

    fn println(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_contact_field_is_a_column_and_round_trips() {
        let scope = crate::service::ProjectScope::operator(uuid::Uuid::new_v4());
        let mut c = crate::service::store::leads::blank(scope, "x".into(), Utc::now());
        for f in ContactField::ALL {
            assert!(
                COLUMNS.contains(&f.name()),
                "{} has no CSV column",
                f.name()
            );
            let value = match f.spec().rule {
                crate::service::fields::Rule::Email => "ann@example.com".to_owned(),
                crate::service::fields::Rule::Phone => "+14155552671".to_owned(),
                _ => format!("value of {}", f.name()),
            };
            f.set(&mut c, Some(value));
        }
        let company = uuid::Uuid::new_v4();
        let owner = uuid::Uuid::new_v4();
        c.company_id = Some(company);
        c.owner_id = Some(owner);
        let owners = HashMap::from([(owner, "agent@example.com".to_owned())]);
        let domains = HashMap::from([(company, "acme.io".to_owned())]);
        let cells = export_row(&c, &owners, &domains);
        let columns: Vec<usize> = (0..COLUMNS.len()).collect();
        let record = csv::StringRecord::from(cells.to_vec());
        let row = parse_row(&columns, &record).unwrap();
        assert_eq!(row.company_domain.as_deref(), Some("acme.io"));
        assert_eq!(row.owner.as_deref(), Some("agent@example.com"));
        let fields = row.fields.validate().unwrap();
        let mut back = crate::service::store::leads::blank(scope, "y".into(), Utc::now());
        assert!(fields.apply(&mut back));
        for f in ContactField::ALL {
            assert_eq!(f.get(&back), f.get(&c), "{}", f.name());
        }
    }
}
