//! `kdfs sql "QUERY"` and `kdfs klong "CODE"`: run a query on the server and print its result.

use anyhow::Context;
use arrow::record_batch::RecordBatch;
use clap::{Args, ValueEnum};
use std::io::Write;

use super::connect::ConnectArgs;
use super::export::{ExportFormat, write};

/// How `kdfs sql` prints its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SqlFormat {
    /// An aligned table.
    Table,
    /// CSV with a header line.
    Csv,
    /// A JSON array of row objects.
    Json,
}

/// Options of `kdfs sql`.
#[derive(Debug, Args)]
pub struct SqlArgs {
    /// The query, e.g. "SELECT * FROM historical.minute.AAPL LIMIT 5".
    pub query: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = SqlFormat::Table)]
    pub format: SqlFormat,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// Options of `kdfs klong`.
#[derive(Debug, Args)]
pub struct KlongArgs {
    /// Klong code, e.g. '.keys("historical/minute")'.
    pub code: String,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// Run the query and print the result on stdout.
pub async fn sql(args: SqlArgs) -> anyhow::Result<i32> {
    let mut client = args.connect.connect().await?;
    let result = client.sql(&args.query).await.context("the query failed")?;
    let mut batches = result.batches;
    if batches.is_empty() {
        // Writers emit the header with the first batch.
        batches.push(RecordBatch::new_empty(result.schema.clone()));
    }
    let mut out = std::io::stdout().lock();
    match args.format {
        SqlFormat::Table => {
            let table = arrow::util::pretty::pretty_format_batches(&batches)
                .context("formatting the result")?;
            writeln!(out, "{table}").context("writing to stdout")?;
        }
        SqlFormat::Csv => write(&mut out, ExportFormat::Csv, &result.schema, &batches)?,
        SqlFormat::Json => {
            write(&mut out, ExportFormat::Json, &result.schema, &batches)?;
            writeln!(out).context("writing to stdout")?;
        }
    }
    out.flush().context("writing to stdout")?;
    Ok(0)
}

/// Evaluate the code and print the Klong display of its value.
pub async fn klong(args: KlongArgs) -> anyhow::Result<i32> {
    let mut client = args.connect.connect().await?;
    let result = client
        .klong(&args.code)
        .await
        .context("the klong evaluation failed")?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", result.display).context("writing to stdout")?;
    out.flush().context("writing to stdout")?;
    Ok(0)
}
