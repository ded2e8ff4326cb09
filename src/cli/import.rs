//! `kdfs import KEY FILE`: load a CSV or Arrow IPC file into a frame.

use anyhow::{Context, bail};
use arrow::csv::ReaderBuilder;
use arrow::csv::reader::Format;
use arrow::ipc::reader::{FileReader, StreamReader};
use arrow::record_batch::RecordBatch;
use clap::Args;
use kdfs_client::{UpdateOptions, UpdateSummary};
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::connect::ConnectArgs;

/// Rows sent per update request.
const BATCH_ROWS: usize = 64 * 1024;
/// Files larger than this report progress on stderr.
const PROGRESS_BYTES: u64 = 16 << 20;

/// Options of `kdfs import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Key path, e.g. historical/minute/AAPL.
    pub key: String,
    /// CSV file (with a header line) or Arrow IPC file/stream (.arrow, .ipc, .feather).
    pub file: PathBuf,
    /// Index column.
    #[arg(long, default_value = "t")]
    pub index: String,
    /// Replace stored rows with the same index (default: keep the stored row).
    #[arg(long)]
    pub upsert: bool,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// Import the file.
pub async fn run(args: ImportArgs) -> anyhow::Result<i32> {
    let path = args.file.clone();
    let size = std::fs::metadata(&path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .len();
    let batches = open(&path)?;
    let mut client = args.connect.connect().await?;
    let options = UpdateOptions {
        index: args.index.clone(),
        upsert: args.upsert,
    };
    let mut total = UpdateSummary::default();
    let mut sent = 0u64;
    let show_progress = size >= PROGRESS_BYTES;
    for batch in batches {
        let batch = batch.with_context(|| format!("cannot read {}", path.display()))?;
        if batch.num_rows() == 0 {
            continue;
        }
        let summary = client
            .update(&args.key, &batch, options.clone())
            .await
            .with_context(|| format!("importing into {} failed after {sent} rows", args.key))?;
        sent += batch.num_rows() as u64;
        total.inserted += summary.inserted;
        total.replaced += summary.replaced;
        total.ignored += summary.ignored;
        total.rows = summary.rows;
        if show_progress {
            eprint!("\rimported {sent} rows");
        }
    }
    if show_progress {
        eprintln!();
    }
    println!(
        "{}: {sent} rows read, {} inserted, {} replaced, {} ignored; the frame has {} rows",
        args.key, total.inserted, total.replaced, total.ignored, total.rows
    );
    Ok(0)
}

type Batches = Box<dyn Iterator<Item = Result<RecordBatch, arrow::error::ArrowError>>>;

/// Open `path` as batches of about [`BATCH_ROWS`] rows, by its content.
fn open(path: &Path) -> anyhow::Result<Batches> {
    let mut file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut magic = [0u8; 6];
    let n = file.read(&mut magic)?;
    file.seek(SeekFrom::Start(0))?;
    if n == 6 && &magic == b"ARROW1" {
        let reader = FileReader::try_new(BufReader::new(file), None)
            .with_context(|| format!("{} is not a valid Arrow IPC file", path.display()))?;
        return Ok(Box::new(rebatch(reader)));
    }
    // The IPC stream format starts with a continuation marker (or, in old writers, a length).
    if n >= 4 && magic[..4] == [0xff, 0xff, 0xff, 0xff] {
        let reader = StreamReader::try_new(BufReader::new(file), None)
            .with_context(|| format!("{} is not a valid Arrow IPC stream", path.display()))?;
        return Ok(Box::new(rebatch(reader)));
    }
    // Otherwise CSV: infer the column types from the whole file so a late float in an
    // integer-looking column does not fail halfway through the import.
    let format = Format::default().with_header(true);
    let (schema, records) = format
        .infer_schema(BufReader::new(&mut file), None)
        .with_context(|| format!("cannot read {} as CSV", path.display()))?;
    if schema.fields().is_empty() {
        bail!(
            "{} has no columns (a CSV file needs a header line)",
            path.display()
        );
    }
    tracing::debug!(records, ?schema, "CSV schema inferred");
    file.seek(SeekFrom::Start(0))?;
    let reader = ReaderBuilder::new(Arc::new(schema))
        .with_format(format)
        .with_batch_size(BATCH_ROWS)
        .build(BufReader::new(file))
        .with_context(|| format!("cannot read {} as CSV", path.display()))?;
    Ok(Box::new(reader))
}

/// Cut (possibly huge) IPC batches into pieces of at most [`BATCH_ROWS`] rows.
fn rebatch<I>(reader: I) -> impl Iterator<Item = Result<RecordBatch, arrow::error::ArrowError>>
where
    I: Iterator<Item = Result<RecordBatch, arrow::error::ArrowError>>,
{
    reader.flat_map(|batch| {
        let pieces: Vec<Result<RecordBatch, arrow::error::ArrowError>> = match batch {
            Ok(b) => (0..b.num_rows())
                .step_by(BATCH_ROWS)
                .map(|at| Ok(b.slice(at, BATCH_ROWS.min(b.num_rows() - at))))
                .collect(),
            Err(e) => vec![Err(e)],
        };
        pieces
    })
}
