//! Compacted frame files: Arrow IPC *file* format, one per key, readable by pyarrow/polars.
//!
//! The schema metadata records which frame the file belongs to (`kdfs.frame_id`) and the last
//! log sequence number folded into it (`kdfs.seq`). That makes a file self-describing: if the
//! store dies between renaming a new file into place and updating the catalog, the next load
//! still knows exactly which log entries the file already contains.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{BufReader, BufWriter};
use std::path::Path;
use std::sync::Arc;

use arrow::compute::concat_batches;
use arrow::datatypes::{Schema, SchemaRef};
use arrow::ipc::reader::FileReader;
use arrow::ipc::writer::FileWriter;
use arrow::record_batch::RecordBatch;

use crate::error::StoreError;
use crate::frame::{Chunk, MAX_CHUNK_ROWS};
use crate::schema::conform;

const META_ID: &str = "kdfs.frame_id";
const META_SEQ: &str = "kdfs.seq";

/// Writes `chunks` (sorted) to `tmp` as an Arrow IPC file and fsyncs it. Returns its size.
pub(crate) fn write_file(
    tmp: &Path,
    schema: &SchemaRef,
    chunks: &[Chunk],
    id: u64,
    seq: u64,
) -> Result<u64, StoreError> {
    if let Some(parent) = tmp.parent() {
        fs::create_dir_all(parent)?;
    }
    let meta = HashMap::from([
        (META_ID.to_string(), id.to_string()),
        (META_SEQ.to_string(), seq.to_string()),
    ]);
    let file_schema = Arc::new(Schema::new_with_metadata(schema.fields().clone(), meta));
    let file = File::create(tmp)?;
    let mut w = FileWriter::try_new(BufWriter::new(file), &file_schema)?;
    // Small tail chunks are gathered into batches of up to MAX_CHUNK_ROWS rows.
    let mut pending: Vec<RecordBatch> = Vec::new();
    let mut pending_rows = 0;
    let flush = |w: &mut FileWriter<BufWriter<File>>,
                 pending: &mut Vec<RecordBatch>|
     -> Result<(), StoreError> {
        if pending.is_empty() {
            return Ok(());
        }
        let b = concat_batches(schema, pending.iter())?;
        w.write(&b.with_schema(file_schema.clone())?)?;
        pending.clear();
        Ok(())
    };
    for c in chunks {
        let b = conform(&c.batch, schema)?;
        if pending_rows + b.num_rows() > MAX_CHUNK_ROWS {
            flush(&mut w, &mut pending)?;
            pending_rows = 0;
        }
        pending_rows += b.num_rows();
        pending.push(b);
    }
    flush(&mut w, &mut pending)?;
    w.finish()?;
    let file = w
        .into_inner()?
        .into_inner()
        .map_err(|e| StoreError::Io(e.into_error()))?;
    file.sync_all()?;
    Ok(file.metadata()?.len())
}

/// Renames `tmp` over `dest` and fsyncs the directory so the rename itself is durable.
pub(crate) fn install(tmp: &Path, dest: &Path) -> Result<(), StoreError> {
    fs::rename(tmp, dest)?;
    if let Some(parent) = dest.parent() {
        File::open(parent)?.sync_all()?;
    }
    Ok(())
}

/// A frame file's contents.
pub(crate) struct FileContents {
    /// Last log sequence number folded into the file.
    pub seq: u64,
    /// Sorted batches, with the file's schema minus metadata.
    pub batches: Vec<RecordBatch>,
}

/// Opens the file of frame `id`. `Ok(None)` when there is no file, or it belongs to another
/// (deleted) frame of the same key.
type Reader = FileReader<BufReader<File>>;

fn open(path: &Path, id: u64) -> Result<Option<(u64, Reader)>, StoreError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let reader = FileReader::try_new(BufReader::new(file), None)?;
    let meta = reader.schema().metadata().clone();
    let num = |k: &str| meta.get(k).and_then(|v| v.parse::<u64>().ok());
    if num(META_ID) != Some(id) {
        tracing::warn!(path = %path.display(), "ignoring a frame file left by a deleted frame");
        return Ok(None);
    }
    let seq = num(META_SEQ)
        .ok_or_else(|| StoreError::Corrupt(format!("{} has no kdfs.seq", path.display())))?;
    Ok(Some((seq, reader)))
}

fn strip(batch: RecordBatch) -> Result<RecordBatch, StoreError> {
    let schema = Arc::new(Schema::new(batch.schema().fields().clone()));
    let rows = batch.num_rows();
    let options = arrow::record_batch::RecordBatchOptions::new().with_row_count(Some(rows));
    Ok(RecordBatch::try_new_with_options(
        schema,
        batch.columns().to_vec(),
        &options,
    )?)
}

/// Reads the whole file of frame `id`.
pub(crate) fn read_file(path: &Path, id: u64) -> Result<Option<FileContents>, StoreError> {
    let Some((seq, reader)) = open(path, id)? else {
        return Ok(None);
    };
    let batches = reader
        .map(|b| strip(b?))
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(Some(FileContents { seq, batches }))
}

/// Reads only the rows with index in `lo..=hi`, one file batch at a time, so a frame larger
/// than memory can still be read by range.
pub(crate) fn read_file_range(
    path: &Path,
    id: u64,
    lo: i64,
    hi: i64,
) -> Result<Option<FileContents>, StoreError> {
    let Some((seq, reader)) = open(path, id)? else {
        return Ok(None);
    };
    let mut batches = Vec::new();
    for b in reader {
        let b = strip(b?)?;
        if b.num_rows() == 0 {
            continue;
        }
        let name = b.schema().field(0).name().clone();
        let keys = crate::schema::index_keys(&name, b.column(0).as_ref())?;
        if keys[0] > hi {
            break;
        }
        let s = keys.partition_point(|k| *k < lo);
        let e = keys.partition_point(|k| *k <= hi);
        if e > s {
            batches.push(b.slice(s, e - s));
        }
    }
    Ok(Some(FileContents { seq, batches }))
}

/// The frame id written into the file at `path`, if there is a readable file.
pub(crate) fn file_frame_id(path: &Path) -> Result<Option<u64>, StoreError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let Ok(reader) = FileReader::try_new(BufReader::new(file), None) else {
        return Ok(None);
    };
    Ok(reader
        .schema()
        .metadata()
        .get(META_ID)
        .and_then(|v| v.parse().ok()))
}

/// Removes the file of a key and any temporary files left next to it.
pub(crate) fn remove_files(path: &Path) -> Result<(), StoreError> {
    match fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e.into()),
    }
    remove_temps(path);
    Ok(())
}

/// Best-effort removal of `.<name>.tmp-*` files next to `path` (left by interrupted compactions).
pub(crate) fn remove_temps(path: &Path) {
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
        return;
    };
    let prefix = format!(".{}.tmp-", name.to_string_lossy());
    if let Ok(entries) = fs::read_dir(parent) {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = fs::remove_file(e.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{ArrayRef, Int64Array};
    use arrow::datatypes::{DataType, Field};

    #[test]
    fn write_read_and_range() {
        let dir = tempfile::tempdir().unwrap();
        let schema = Arc::new(Schema::new(vec![Field::new("t", DataType::Int64, false)]));
        let chunks: Vec<Chunk> = (0..3)
            .map(|c| {
                let a: ArrayRef = Arc::new(Int64Array::from_iter_values(c * 10..c * 10 + 10));
                Chunk::new(RecordBatch::try_new(schema.clone(), vec![a]).unwrap()).unwrap()
            })
            .collect();
        let tmp = dir.path().join("sub/.x.arrow.tmp-1");
        let dest = dir.path().join("sub/x.arrow");
        write_file(&tmp, &schema, &chunks, 7, 42).unwrap();
        install(&tmp, &dest).unwrap();
        let all = read_file(&dest, 7).unwrap().unwrap();
        assert_eq!(all.seq, 42);
        assert_eq!(all.batches.iter().map(|b| b.num_rows()).sum::<usize>(), 30);
        assert_eq!(all.batches[0].schema(), schema);
        let part = read_file_range(&dest, 7, 5, 12).unwrap().unwrap();
        assert_eq!(part.batches.iter().map(|b| b.num_rows()).sum::<usize>(), 8);
        assert!(read_file(&dest, 8).unwrap().is_none());
        assert!(
            read_file(&dir.path().join("none.arrow"), 7)
                .unwrap()
                .is_none()
        );
        remove_files(&dest).unwrap();
        assert!(!dest.exists());
    }
}
