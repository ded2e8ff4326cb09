//! `kdfs sql "QUERY"` and `kdfs klong "CODE"`: run a query on the server and print its result.

use anyhow::Context;
use arrow::record_batch::RecordBatch;
use clap::{Args, ValueEnum};
use std::io::Write;
use std::time::{Duration, Instant};

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
    /// An Arrow IPC file (binary; redirect it or use -o), readable by pyarrow, polars, DuckDB.
    Arrow,
}

/// Options of `kdfs sql`.
#[derive(Debug, Args)]
pub struct SqlArgs {
    /// The query, e.g. "SELECT * FROM historical.minute.AAPL LIMIT 5".
    pub query: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = SqlFormat::Table)]
    pub format: SqlFormat,
    /// Write the result to this file instead of stdout.
    #[arg(short, long)]
    pub output: Option<std::path::PathBuf>,
    /// Print the server-side and round-trip times on stderr.
    #[arg(long)]
    pub timing: bool,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// Options of `kdfs klong`.
#[derive(Debug, Args)]
pub struct KlongArgs {
    /// Klong code, e.g. '.keys("historical/minute")'.
    pub code: String,
    /// Print the server-side and round-trip times on stderr.
    #[arg(long)]
    pub timing: bool,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// Run the query and print the result on stdout.
pub async fn sql(args: SqlArgs) -> anyhow::Result<i32> {
    let mut client = args.connect.connect().await?;
    let started = Instant::now();
    let result = client.sql(&args.query).await.context("the query failed")?;
    if args.timing {
        print_timing(result.elapsed, started.elapsed());
    }
    let mut batches = result.batches;
    if batches.is_empty() {
        // Writers emit the header with the first batch.
        batches.push(RecordBatch::new_empty(result.schema.clone()));
    }
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => Box::new(std::io::stdout().lock()),
    };
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
        SqlFormat::Arrow => write(&mut out, ExportFormat::Arrow, &result.schema, &batches)?,
    }
    out.flush().context("writing the result")?;
    Ok(0)
}

/// Evaluate the code and print the Klong display of its value.
pub async fn klong(args: KlongArgs) -> anyhow::Result<i32> {
    let mut client = args.connect.connect().await?;
    let started = Instant::now();
    let result = client
        .klong(&args.code)
        .await
        .context("the klong evaluation failed")?;
    if args.timing {
        print_timing(result.elapsed, started.elapsed());
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", result.display).context("writing to stdout")?;
    out.flush().context("writing to stdout")?;
    Ok(0)
}

/// `--timing`: on stderr, so that stdout stays the result alone.
fn print_timing(server: Duration, round_trip: Duration) {
    eprintln!(
        "server: {:.3} ms, round trip: {:.3} ms",
        server.as_secs_f64() * 1e3,
        round_trip.as_secs_f64() * 1e3
    );
}
