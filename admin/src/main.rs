//! `optout-admin`: the operator's command line, on the same shared crate and table as the Lambdas.
//!
//! The DynamoDB endpoint comes from the SDK's standard configuration (`AWS_ENDPOINT_URL_DYNAMODB`
//! for a local server), the table name from `--table` or `TABLE_NAME`.

use clap::{Parser, Subcommand};
use shared::table::TableSpec;
use std::path::PathBuf;
use std::process::ExitCode;

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
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let sdk = shared::config::aws_sdk_config().await;
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    let result = match cli.command {
        Command::CreateTable {
            template,
            if_not_exists,
        } => create_table(&client, &cli.table, &template, if_not_exists).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn create_table(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    template: &std::path::Path,
    if_not_exists: bool,
) -> Result<(), String> {
    let spec = TableSpec::from_template_file(template).map_err(|e| e.to_string())?;
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
    spec.create(client, table)
        .await
        .map_err(|e| e.to_string())?;
    println!("created table {table} from {}", template.display());
    Ok(())
}
