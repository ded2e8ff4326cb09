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
    /// Run it this many times on one connection and print the last result; with --timing,
    /// the median times (a warm server, as a dashboard sees it).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub repeat: u32,
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
    /// Run it this many times on one connection and print the last result; with --timing,
    /// the median times (a warm server, as a dashboard sees it).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub repeat: u32,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// Run the query and print the result on stdout.
pub async fn sql(args: SqlArgs) -> anyhow::Result<i32> {
    let mut client = args.connect.connect().await?;
    let mut times = Timings::default();
    let mut last = None;
    for _ in 0..args.repeat {
        let started = Instant::now();
        let result = client.sql(&args.query).await.context("the query failed")?;
        times.push(result.elapsed, started.elapsed());
        last = Some(result);
    }
    let result = last.context("--repeat must be at least 1")?;
    if args.timing {
        times.print();
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
    let mut times = Timings::default();
    let mut last = None;
    for _ in 0..args.repeat {
        let started = Instant::now();
        let result = client
            .klong(&args.code)
            .await
            .context("the klong evaluation failed")?;
        times.push(result.elapsed, started.elapsed());
        last = Some(result);
    }
    let result = last.context("--repeat must be at least 1")?;
    if args.timing {
        times.print();
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", result.display).context("writing to stdout")?;
    out.flush().context("writing to stdout")?;
    Ok(0)
}

/// Server-side and round-trip times of each run, for `--timing`.
#[derive(Debug, Default)]
struct Timings {
    server: Vec<Duration>,
    round_trip: Vec<Duration>,
}

impl Timings {
    fn push(&mut self, server: Duration, round_trip: Duration) {
        self.server.push(server);
        self.round_trip.push(round_trip);
    }

    /// On stderr, so that stdout stays the result alone.
    fn print(&self) {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let line = format!(
            "server: {:.3} ms, round trip: {:.3} ms",
            ms(median(&self.server)),
            ms(median(&self.round_trip))
        );
        match (self.server.iter().min(), self.server.iter().max()) {
            (Some(min), Some(max)) if self.server.len() > 1 => eprintln!(
                "{line} (medians of {} runs; server min {:.3} ms, max {:.3} ms)",
                self.server.len(),
                ms(*min),
                ms(*max)
            ),
            _ => eprintln!("{line}"),
        }
    }
}

fn median(times: &[Duration]) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort_unstable();
    sorted.get(sorted.len() / 2).copied().unwrap_or_default()
}
