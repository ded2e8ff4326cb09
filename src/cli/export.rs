//! `kdfs export KEY`: write a frame (or part of it) as CSV, JSON or Arrow IPC.

use anyhow::Context;
use arrow::record_batch::RecordBatch;
use clap::{Args, ValueEnum};
use kdfs_client::ReadOptions;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use super::connect::ConnectArgs;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// CSV with a header line.
    Csv,
    /// A JSON array of row objects.
    Json,
    /// Arrow IPC file (readable by pyarrow, polars, `kdfs import`).
    Arrow,
}

/// Options of `kdfs export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Key path, e.g. historical/minute/AAPL.
    pub key: String,
    /// Smallest index value (inclusive).
    #[arg(long, allow_negative_numbers = true)]
    pub from: Option<i64>,
    /// Largest index value (inclusive).
    #[arg(long, allow_negative_numbers = true)]
    pub to: Option<i64>,
    /// Comma-separated columns (default: all).
    #[arg(long, value_delimiter = ',')]
    pub columns: Option<Vec<String>>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ExportFormat::Csv)]
    pub format: ExportFormat,
    /// Output file (default: stdout).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// Export the frame.
pub async fn run(args: ExportArgs) -> anyhow::Result<i32> {
    let mut client = args.connect.connect().await?;
    let options = ReadOptions {
        start: args.from,
        end: args.to,
        columns: args.columns.clone(),
        rows: None,
    };
    let table = client
        .read_table(&args.key, options)
        .await
        .with_context(|| format!("cannot read {}", args.key))?;
    let out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut out = BufWriter::new(out);
    let mut batches = table.batches;
    if batches.is_empty() {
        // Writers emit the header / schema with the first batch.
        batches.push(RecordBatch::new_empty(table.schema.clone()));
    }
    write(&mut out, args.format, &table.schema, &batches).context("writing the export")?;
    out.flush().context("writing the export")?;
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    tracing::info!(rows, key = args.key, "exported");
    Ok(0)
}

/// Write `batches` to `out` in `format`.
pub(crate) fn write(
    out: &mut dyn Write,
    format: ExportFormat,
    schema: &arrow::datatypes::SchemaRef,
    batches: &[RecordBatch],
) -> anyhow::Result<()> {
    match format {
        ExportFormat::Csv => {
            let mut writer = arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(out);
            for batch in batches {
                writer.write(batch)?;
            }
        }
        ExportFormat::Json => {
            let mut writer = arrow::json::ArrayWriter::new(out);
            for batch in batches {
                writer.write(batch)?;
            }
            writer.finish()?;
        }
        ExportFormat::Arrow => {
            let mut writer = arrow::ipc::writer::FileWriter::try_new(out, schema)?;
            for batch in batches {
                writer.write(batch)?;
            }
            writer.finish()?;
        }
    }
    Ok(())
}
