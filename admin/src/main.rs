//! `optout-admin`: the operator's command line, on the same shared crate and table as the Lambdas.
//!
//! The DynamoDB endpoint comes from the SDK's standard configuration (`AWS_ENDPOINT_URL_DYNAMODB`
//! for a local server), the table name from `--table` or `TABLE_NAME`.
//!
//! Output: results on stdout (a JSON report, or CSV for `export` without `--output`); progress,
//! bad rows and JSON log lines on stderr. Exit codes: 0 done; 1 failed (nothing or only part
//! done: running the same command again is safe and completes it); 2 done, but some CSV rows were
//! bad and skipped (`import`, `import-consents`), or the run stopped before the end of the list
//! and will resume (`reconcile`, `migrate`), or review items are overdue (`reviews check`); 3 the
//! evidence file's state check failed (`evidence`); 64 bad command line.

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use optout_admin::export;
use optout_admin::import;
use optout_admin::import_consents;
use optout_admin::migrate;
use shared::adapters::config::Settings;
use shared::adapters::store::Store;
use shared::handlers::reconcile::Reconciler;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use testkit::table::TableSpec;
use time::OffsetDateTime;

#[derive(Parser)]
#[command(version, about = "Admin tool for the SMS opt-out record")]
struct Cli {
    /// DynamoDB table name.
    #[arg(
        long,
        env = "TABLE_NAME",
        global = true,
        default_value = "optout-local"
    )]
    table: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum KeysWhat {
    /// Make a key for `name` with `role` (website, sender, reviewer, admin); the key is printed
    /// once, only its SHA-256 is kept.
    Add {
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = parse_role)]
        role: shared::domain::access::Role,
        #[arg(long, default_value = "api-keys.json")]
        file: PathBuf,
    },
    /// The keys' names and roles.
    List {
        #[arg(long, default_value = "api-keys.json")]
        file: PathBuf,
    },
    /// Remove the key named `name`.
    Revoke {
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "api-keys.json")]
        file: PathBuf,
    },
}

fn parse_role(text: &str) -> Result<shared::domain::access::Role, String> {
    shared::domain::access::Role::parse(text)
        .ok_or_else(|| "one of website, sender, reviewer, admin".into())
}

#[derive(Subcommand)]
enum Command {
    /// Create the table exactly as template.yaml defines it (for local servers).
    CreateTable {
        /// The SAM template holding the table definition.
        #[arg(long, default_value = "template.yaml")]
        template: PathBuf,
        /// Succeed without changes when the table already exists.
        #[arg(long)]
        if_not_exists: bool,
    },
    /// Import a CSV of opt-outs (msisdn[,opt_out_date[,source]]) with source "import".
    Import {
        /// The CSV file ("-" for standard input).
        file: PathBuf,
        /// Country for numbers written without a country code (ISO 3166 code).
        #[arg(long, default_value = "US")]
        country: String,
        /// Check every row and report, but write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Batch transactions in flight at once.
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
    },
    /// Import a CSV of consents with their evidence (header row required: msisdn, captured_at,
    /// and program, channel, wording, wording_sha256, wording_version, url, ip, user_agent,
    /// agent_id, platform). Never ends an opt-out we hold.
    ImportConsents {
        /// The CSV file ("-" for standard input).
        file: PathBuf,
        /// Country for numbers written without a country code (ISO 3166 code).
        #[arg(long, default_value = "US")]
        country: String,
        /// Check every row and report, but write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Batch transactions in flight at once.
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
    },
    /// Export the current opt-out list, or the history between two instants, as CSV.
    Export {
        #[command(subcommand)]
        what: ExportWhat,
    },
    /// The current state and recent history of one number, as JSON.
    Status {
        /// The number, e.g. +14155550100 or (415) 555-0100.
        number: String,
        #[arg(long, default_value = "US")]
        country: String,
        /// History entries shown, newest first.
        #[arg(long, default_value_t = 20)]
        history: i32,
    },
    /// Replies the notify function will not settle on its own.
    Replies {
        #[command(subcommand)]
        what: RepliesWhat,
    },
    /// The evidence file of one number: everything we hold under it, oldest first, its state and
    /// a check that the state is the one the history implies. Exit 3 when the check fails.
    Evidence {
        /// The number, e.g. "+1 415 555 0100", 15559301529 or (415) 555-0100.
        number: String,
        /// Country for numbers written without a country code (ISO 3166 code).
        #[arg(long, default_value = "US")]
        country: String,
        /// json (for machines) or text (for a person).
        #[arg(long, value_enum, default_value_t = EvidenceFormat::Json)]
        format: EvidenceFormat,
    },
    /// A person's request to be forgotten: keep the number, its states and every event (the
    /// proof of their opt-out), replace what they wrote and what identifies their device with
    /// its SHA-256, delete a waiting join. Run with --dry-run first: it prints the counts.
    Forget {
        /// The number, e.g. +14155550100 or (415) 555-0100.
        number: String,
        #[arg(long, default_value = "US")]
        country: String,
        /// Count what would change, change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// The website API's named keys with their roles (API_KEY_ROLES), in a JSON file to put in
    /// the deployment's secret: docs/operations.md "API keys".
    Keys {
        #[command(subcommand)]
        what: KeysWhat,
    },
    /// Catch up with Vonage's opt-out list now (what the scheduled function does).
    /// Needs VONAGE_API_KEY, VONAGE_API_SECRET and VONAGE_API_BASE_URL (or SECRET_ARNS).
    Reconcile {
        #[arg(long, env = "RECONCILE_PAGE_SIZE", default_value_t = shared::handlers::reconcile::DEFAULT_PAGE_SIZE)]
        page_size: u32,
        /// Stop (resumably) after this many pages.
        #[arg(long)]
        max_pages: Option<u32>,
        /// Stop (resumably) after this many minutes.
        #[arg(long, default_value_t = 60)]
        max_minutes: u64,
        /// Start from page 0 even if an interrupted run left a checkpoint.
        #[arg(long)]
        restart: bool,
    },
    /// Assign the state items written before programs existed (which end every program) to the
    /// program they belonged to. Run with --dry-run first: it prints the counts and what moves.
    Migrate {
        /// The program (an id in PROGRAMS) the old items belong to.
        #[arg(long)]
        to: String,
        /// When PROGRAMS was turned on (YYYY-MM-DD or RFC 3339): items written since (a STOP ALL)
        /// are kept for every program.
        #[arg(long)]
        written_before: String,
        /// Count and report, write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Stop (resumably) after this many pages of 500 state items.
        #[arg(long)]
        max_pages: Option<u32>,
        /// Start from the first page even if an interrupted run left a checkpoint.
        #[arg(long)]
        restart: bool,
    },
    /// Review items: messages that may be a revocation, awaiting a person's decision.
    Reviews {
        #[command(subcommand)]
        what: ReviewsWhat,
    },
}

#[derive(Subcommand)]
enum ReviewsWhat {
    /// What the daily review-check function reports: open, due within 2 business days, overdue
    /// (exit code 2 when any is overdue).
    Check,
}

#[derive(Subcommand)]
enum RepliesWhat {
    /// Replies claimed but never settled (an invocation stopped between claiming and recording
    /// Vonage's answer) or whose outcome is unknown: whether the text went out is not known, so
    /// they are never sent again on their own. One JSON object per line; a person decides (the
    /// history shows the inbound message; Vonage's delivery receipts show what was delivered).
    Stuck {
        /// Claims younger than this are still in flight, not stuck.
        #[arg(long, default_value_t = 15)]
        older_than_minutes: i64,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum EvidenceFormat {
    Json,
    Text,
}

#[derive(Subcommand)]
enum ExportWhat {
    /// The numbers opted out now: msisdn,opt_out_date,source,event_id,program (importable as
    /// is).
    List {
        /// Write here instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// The program (an id in PROGRAMS); the default program if left out.
        #[arg(long)]
        program: Option<String>,
    },
    /// The numbers that must not be texted, for a sending platform's suppression list: one
    /// column, phone_number, as +E.164.
    Suppression {
        /// Write here instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// The program (an id in PROGRAMS); the default program if left out.
        #[arg(long)]
        program: Option<String>,
    },
    /// Every history entry with an event time in [from, to).
    History {
        /// Start, inclusive: YYYY-MM-DD (midnight UTC) or RFC 3339.
        #[arg(long)]
        from: String,
        /// End, exclusive: YYYY-MM-DD (midnight UTC) or RFC 3339.
        #[arg(long)]
        to: String,
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

/// A failure and its exit code.
struct Failure(u8, String);

fn fail(message: impl std::fmt::Display) -> Failure {
    Failure(1, message.to_string())
}

fn usage(message: impl std::fmt::Display) -> Failure {
    Failure(64, message.to_string())
}

#[tokio::main]
async fn main() -> ExitCode {
    // A bad command line is 64, as documented (clap's own code, 2, means "rows skipped" here).
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            let shown = matches!(
                e.kind(),
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion
            );
            return ExitCode::from(if shown { 0 } else { 64 });
        }
    };
    // import-consents: its info lines name the rows left out because an opt-out stands.
    init_logging(matches!(
        cli.command,
        Command::Reconcile { .. } | Command::ImportConsents { .. }
    ));
    let sdk = shared::adapters::config::aws_sdk_config().await;
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    let store = Store::new(client.clone(), cli.table.clone());
    let result = match cli.command {
        Command::CreateTable {
            template,
            if_not_exists,
        } => create_table(&client, &cli.table, &template, if_not_exists)
            .await
            .map(|()| 0),
        Command::Import {
            file,
            country,
            dry_run,
            concurrency,
        } => run_import(&sdk, &store, &file, &country, dry_run, concurrency).await,
        Command::ImportConsents {
            file,
            country,
            dry_run,
            concurrency,
        } => run_import_consents(&sdk, &store, &file, &country, dry_run, concurrency).await,
        Command::Export { what } => run_export(&sdk, &store, what).await.map(|()| 0),
        Command::Status {
            number,
            country,
            history,
        } => status(&store, &number, &country, history).await.map(|()| 0),
        Command::Replies {
            what: RepliesWhat::Stuck { older_than_minutes },
        } => stuck_replies(&store, older_than_minutes).await,
        Command::Evidence {
            number,
            country,
            format,
        } => evidence(&store, &number, &country, format).await,
        Command::Keys { what } => run_keys(what),
        Command::Forget {
            number,
            country,
            dry_run,
        } => forget(&store, &number, &country, dry_run).await,
        Command::Reconcile {
            page_size,
            max_pages,
            max_minutes,
            restart,
        } => {
            run_reconcile(
                &sdk,
                store,
                page_size,
                max_pages,
                Duration::from_secs(max_minutes.saturating_mul(60)),
                restart,
            )
            .await
        }
        Command::Reviews {
            what: ReviewsWhat::Check,
        } => review_check(&store).await,
        Command::Migrate {
            to,
            written_before,
            dry_run,
            max_pages,
            restart,
        } => {
            let run = MigrateRun {
                to: &to,
                written_before: &written_before,
                dry_run,
                max_pages,
                restart,
            };
            migrate(&sdk, &store, run).await
        }
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(Failure(code, message)) => {
            eprintln!("error: {message}");
            ExitCode::from(code)
        }
    }
}

/// JSON log lines on stderr (stdout is for results). `RUST_LOG` filters; by default warnings,
/// and for `reconcile` also its info lines.
fn init_logging(verbose: bool) {
    use tracing_subscriber::util::SubscriberInitExt;
    let default = if verbose { "info" } else { "warn" };
    let _ = shared::adapters::config::log_subscriber(
        std::io::stderr,
        shared::adapters::config::log_filter(default),
    )
    .try_init();
}

fn region(country: &str) -> Result<shared::domain::msisdn::Region, Failure> {
    country.parse().map_err(|_| {
        usage(format!(
            "--country {country:?} is not an ISO 3166 country code"
        ))
    })
}

fn print_json<T: serde::Serialize>(value: &T) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
        Err(e) => eprintln!("error: cannot print the report: {e}"),
    }
}

/// The CSV to import (`-`: standard input), and the name its events record.
fn open_csv(file: &std::path::Path) -> Result<(String, Box<dyn std::io::Read>), Failure> {
    let label = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "stdin".into());
    if file.as_os_str() == "-" {
        return Ok((label, Box::new(std::io::stdin().lock())));
    }
    let reader = std::fs::File::open(file)
        .map_err(|e| fail(format!("cannot open {}: {e}", file.display())))?;
    Ok((label, Box::new(std::io::BufReader::new(reader))))
}

/// Bad rows (skipped) and unused columns, on stderr before anything is written.
fn list_skipped(bad: &[import::BadRow], ignored_columns: &[String]) {
    for bad in bad {
        eprintln!("line {}: {} (skipped)", bad.line, bad.reason);
    }
    if !ignored_columns.is_empty() {
        eprintln!("ignored columns: {}", ignored_columns.join(", "));
    }
}

/// An import's progress: the bar on a terminal, else a line every 10,000 rows.
fn import_progress(bar: &ProgressBar, chunk: usize) -> impl FnMut(usize, usize) + '_ {
    move |done, total| {
        bar.set_position(done as u64);
        if bar.is_hidden() && (done == total || done % 10_000 < chunk) {
            eprintln!("progress: {done}/{total} rows");
        }
    }
}

/// 1 when a write stopped the import (a re-run completes it), 2 when rows were skipped.
fn import_exit(
    command: &str,
    error: Option<&String>,
    failed: u64,
    bad: u64,
) -> Result<u8, Failure> {
    if let Some(error) = error {
        return Err(fail(format!(
            "{command} stopped, {failed} rows not written: {error}; running it again is safe and completes it"
        )));
    }
    Ok(if bad > 0 { 2 } else { 0 })
}

async fn run_import(
    sdk: &aws_config::SdkConfig,
    store: &Store,
    file: &std::path::Path,
    country: &str,
    dry_run: bool,
    concurrency: usize,
) -> Result<u8, Failure> {
    let region = region(country)?;
    let programs = load_programs(sdk).await?;
    let (label, reader) = open_csv(file)?;
    let parsed = import::parse_csv(reader, &label, region, &programs, OffsetDateTime::now_utc())
        .map_err(fail)?;
    list_skipped(&parsed.bad, &parsed.ignored_columns);
    let report = if dry_run {
        import::summary(&parsed, true)
    } else {
        let bar = progress_bar(parsed.rows.len() as u64);
        let progress = import_progress(&bar, import::CHUNK_ROWS);
        let report = import::import(store, &parsed, &programs, concurrency, progress).await;
        bar.finish_and_clear();
        report
    };
    print_json(&report);
    import_exit("import", report.error.as_ref(), report.failed, report.bad)
}

async fn run_import_consents(
    sdk: &aws_config::SdkConfig,
    store: &Store,
    file: &std::path::Path,
    country: &str,
    dry_run: bool,
    concurrency: usize,
) -> Result<u8, Failure> {
    let region = region(country)?;
    let programs = load_programs(sdk).await?;
    let (label, reader) = open_csv(file)?;
    let now = OffsetDateTime::now_utc();
    let parsed = import_consents::parse_consents_csv(reader, &label, region, &programs, now)
        .map_err(fail)?;
    list_skipped(&parsed.bad, &parsed.ignored_columns);
    let report = if dry_run {
        import_consents::summary(&parsed, true)
    } else {
        let bar = progress_bar(parsed.rows.len() as u64);
        let progress = import_progress(&bar, import_consents::CHUNK_ROWS);
        let report = import_consents::import_consents(store, &parsed, concurrency, progress).await;
        bar.finish_and_clear();
        report
    };
    if report.opt_out_stands > 0 {
        eprintln!(
            "{} consents not written: the number opted out before the consent, and an import never ends an opt-out (each is logged above with its line)",
            report.opt_out_stands
        );
    }
    print_json(&report);
    import_exit(
        "import-consents",
        report.error.as_ref(),
        report.failed,
        report.bad,
    )
}

/// A bar on a terminal; hidden (and replaced by plain lines) otherwise.
fn progress_bar(total: u64) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if !std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    if let Ok(style) =
        ProgressStyle::with_template("{bar:40} {pos}/{len} rows, {per_sec}, eta {eta}")
    {
        bar.set_style(style);
    }
    bar
}

fn parse_instant(text: &str, flag: &str) -> Result<OffsetDateTime, Failure> {
    let t = text.trim();
    let is_date = t.len() == 10;
    let parsed = if is_date {
        import::parse_date(t)
    } else {
        shared::domain::timestamp::parse_rfc3339(t)
    };
    parsed.ok_or_else(|| usage(format!("{flag} {text:?}: use YYYY-MM-DD or RFC 3339")))
}

fn output(path: Option<&PathBuf>) -> Result<Box<dyn Write>, Failure> {
    Ok(match path {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path)
                .map_err(|e| fail(format!("cannot create {}: {e}", path.display())))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    })
}

/// `PROGRAMS` from the usual settings (the environment and `SECRET_ARNS`).
async fn load_programs(
    sdk: &aws_config::SdkConfig,
) -> Result<shared::domain::program::Programs, Failure> {
    let settings = Settings::load(sdk).await.map_err(fail)?;
    shared::domain::program::Programs::from_settings(&settings).map_err(fail)
}

/// The scopes reaching `program` (`PROGRAMS` from the usual settings; without it, the one
/// program), and its id for an export's `program` column (empty without programs: every one).
async fn program_scopes(
    sdk: &aws_config::SdkConfig,
    program: Option<&str>,
) -> Result<(Vec<shared::domain::program::Scope>, String), Failure> {
    let programs = load_programs(sdk).await?;
    let program = match program {
        None => programs.default_program(),
        Some(id) => shared::domain::program::ProgramId::parse(id)
            .ok()
            .and_then(|id| programs.get(&id))
            .ok_or_else(|| usage(format!("--program {id}: no such program")))?,
    };
    let column = match programs.declared() {
        true => program.id.to_string(),
        false => String::new(),
    };
    Ok((programs.scopes_reaching(program), column))
}

async fn run_export(
    sdk: &aws_config::SdkConfig,
    store: &Store,
    what: ExportWhat,
) -> Result<(), Failure> {
    let started = Instant::now();
    let rows = match what {
        ExportWhat::List {
            output: path,
            program,
        } => {
            let (scopes, column) = program_scopes(sdk, program.as_deref()).await?;
            let out = output(path.as_ref())?;
            export::export_list(store, &scopes, &column, out, |rows| {
                if rows > 0 && rows % 50_000 < 1000 {
                    eprintln!("progress: {rows} rows");
                }
            })
            .await
        }
        ExportWhat::Suppression {
            output: path,
            program,
        } => {
            let (scopes, _) = program_scopes(sdk, program.as_deref()).await?;
            let out = output(path.as_ref())?;
            export::export_suppression(store, &scopes, out, |rows| {
                if rows > 0 && rows % 50_000 < 1000 {
                    eprintln!("progress: {rows} rows");
                }
            })
            .await
        }
        ExportWhat::History {
            from,
            to,
            output: path,
        } => {
            let (from, to) = (parse_instant(&from, "--from")?, parse_instant(&to, "--to")?);
            if from >= to {
                return Err(usage("--from must be before --to"));
            }
            let out = output(path.as_ref())?;
            export::export_history(store, from, to, out).await
        }
    }
    .map_err(fail)?;
    eprintln!(
        "exported {rows} rows in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `replies stuck`: exit 0 when there are none, 2 when some need a person.
async fn stuck_replies(store: &Store, older_than_minutes: i64) -> Result<u8, Failure> {
    let before =
        shared::domain::timestamp::now() - time::Duration::minutes(older_than_minutes.max(0));
    let stuck = store.unsettled_replies(before).await.map_err(fail)?;
    let mut out = std::io::stdout().lock();
    for reply in &stuck {
        let line = serde_json::to_string(reply).map_err(fail)?;
        writeln!(out, "{line}").map_err(fail)?;
    }
    eprintln!(
        "{} stuck repl{}",
        stuck.len(),
        if stuck.len() == 1 { "y" } else { "ies" }
    );
    Ok(if stuck.is_empty() { 0 } else { 2 })
}

async fn status(store: &Store, number: &str, country: &str, history: i32) -> Result<(), Failure> {
    let msisdn = import::parse_number(number, region(country)?)
        .map_err(|e| usage(format!("{}: {e}", shared::domain::msisdn::mask(number))))?;
    let state = store.state(&msisdn).await.map_err(fail)?;
    let entries = store
        .history(&msisdn, history.clamp(1, 1000))
        .await
        .map_err(fail)?;
    print_json(&serde_json::json!({
        "msisdn": msisdn.as_str(),
        "status": state.as_ref().map(|s| s.status.as_str()).unwrap_or("unknown"),
        "state": state,
        "history": entries,
    }));
    Ok(())
}

/// The evidence file, as the API's `GET /subscriptions/{msisdn}/evidence` builds it (every
/// reading of the number looked up, `shared::domain::evidence`). 0: the check passed; 3: the
/// record needs attention (the file is printed all the same).
async fn evidence(
    store: &Store,
    number: &str,
    country: &str,
    format: EvidenceFormat,
) -> Result<u8, Failure> {
    let readings = shared::domain::msisdn::Msisdn::readings(number, region(country)?)
        .map_err(|e| usage(format!("{}: {e}", shared::domain::msisdn::mask(number))))?;
    let file = store
        .evidence(&readings, shared::domain::timestamp::now())
        .await
        .map_err(fail)?
        .ok_or_else(|| usage("not a phone number"))?;
    match format {
        EvidenceFormat::Json => print_json(&file),
        EvidenceFormat::Text => print!("{}", shared::domain::evidence::render_text(&file)),
    }
    if file.check.ok {
        Ok(0)
    } else {
        eprintln!("state check: {}", file.check.message);
        Ok(3)
    }
}

fn run_keys(what: KeysWhat) -> Result<u8, Failure> {
    use optout_admin::keys;
    match what {
        KeysWhat::Add { name, role, file } => {
            let key = keys::add(&file, &name, role).map_err(fail)?;
            eprintln!(
                "the key for {name} is printed once, here; {} keeps only its SHA-256",
                file.display()
            );
            print_json(&serde_json::json!({"name": name, "role": role, "key": key}));
        }
        KeysWhat::List { file } => print_json(&keys::list(&file).map_err(fail)?),
        KeysWhat::Revoke { name, file } => {
            if !keys::revoke(&file, &name).map_err(fail)? {
                return Err(usage(format!("no key named {name} in {}", file.display())));
            }
            print_json(&serde_json::json!({"revoked": name}));
        }
    }
    Ok(0)
}

async fn forget(store: &Store, number: &str, country: &str, dry_run: bool) -> Result<u8, Failure> {
    let msisdn = import::parse_number(number, region(country)?)
        .map_err(|e| usage(format!("{}: {e}", shared::domain::msisdn::mask(number))))?;
    let done = store.forget(&msisdn, dry_run).await.map_err(fail)?;
    print_json(&done);
    Ok(0)
}

async fn run_reconcile(
    sdk: &aws_config::SdkConfig,
    store: Store,
    page_size: u32,
    max_pages: Option<u32>,
    max_time: Duration,
    restart: bool,
) -> Result<u8, Failure> {
    let settings = Settings::load(sdk).await.map_err(fail)?;
    let mut reconciler = Reconciler::from_settings(store, &settings).map_err(fail)?;
    if !(1..=1000).contains(&page_size) {
        return Err(usage("--page-size must be from 1 to 1000"));
    }
    reconciler.page_size = page_size;
    reconciler.max_pages = max_pages;
    reconciler.ignore_checkpoint = restart;
    // No Lambda deadline here: stop after `max_time`, keeping the usual margin meaningful.
    reconciler.stop_margin = Duration::from_secs(5);
    let report = reconciler
        .run(shared::domain::deadline::Deadline::after(max_time))
        .await;
    print_json(&report);
    if let Some(error) = &report.error {
        return Err(fail(format!(
            "reconcile stopped at page {}: {error}; running it again resumes",
            report.next_page.unwrap_or(0)
        )));
    }
    Ok(if report.complete { 0 } else { 2 })
}

/// `migrate`'s command line.
struct MigrateRun<'a> {
    to: &'a str,
    written_before: &'a str,
    dry_run: bool,
    max_pages: Option<u32>,
    restart: bool,
}

async fn migrate(
    sdk: &aws_config::SdkConfig,
    store: &Store,
    run: MigrateRun<'_>,
) -> Result<u8, Failure> {
    let programs = &load_programs(sdk).await?;
    if !programs.declared() {
        return Err(usage(
            "PROGRAMS is not set: there is no program to assign the old items to",
        ));
    }
    let program = shared::domain::program::ProgramId::parse(run.to)
        .ok()
        .and_then(|id| programs.get(&id))
        .ok_or_else(|| usage(format!("--to {}: no such program in PROGRAMS", run.to)))?;
    let written_before = import::parse_date(run.written_before).ok_or_else(|| {
        usage("--written-before: YYYY-MM-DD or RFC 3339 (when PROGRAMS was turned on)")
    })?;
    let migration = migrate::Migration {
        store,
        programs,
        program,
        written_before,
        page_size: migrate::PAGE,
        max_pages: run.max_pages,
        restart: run.restart,
    };
    let bar = progress_bar(0);
    let report = migration
        .run(run.dry_run, |done, total| {
            bar.set_length(total);
            bar.set_position(done);
        })
        .await;
    bar.finish_and_clear();
    print_json(&report);
    if let Some(error) = &report.error {
        return Err(fail(format!(
            "migrate stopped: {error}; running it again resumes"
        )));
    }
    Ok(if report.complete { 0 } else { 2 })
}

async fn review_check(store: &Store) -> Result<u8, Failure> {
    let report = shared::handlers::review_check::check(store, shared::domain::timestamp::now())
        .await
        .map_err(fail)?;
    print_json(&report);
    Ok(if report.overdue > 0 { 2 } else { 0 })
}

async fn create_table(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    template: &std::path::Path,
    if_not_exists: bool,
) -> Result<(), Failure> {
    let spec = TableSpec::from_template_file(template).map_err(fail)?;
    if if_not_exists {
        let exists = client
            .describe_table()
            .table_name(table)
            .send()
            .await
            .is_ok();
        if exists {
            println!("table {table} already exists");
            return Ok(());
        }
    }
    spec.create(client, table).await.map_err(fail)?;
    println!("created table {table} from {}", template.display());
    Ok(())
}
