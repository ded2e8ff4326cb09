//! Arbitrary bytes as a CSV file given to `kdfs import`: reading must give batches or an
//! error, never a panic.
//!
//! `kdfs import` (src/cli/import.rs, in the DataFusion crate this workspace does not build)
//! reads CSV with arrow-csv alone; this target makes the same calls with the same settings:
//! a header line, column types inferred from every record, then a reader with that schema.
//! The batches it yields are then encoded as an update payload, as the import does.
#![no_main]

use arrow::csv::ReaderBuilder;
use arrow::csv::reader::Format;
use kdfs_client::ipc;
use libfuzzer_sys::fuzz_target;
use std::io::Cursor;
use std::sync::Arc;

/// Rows per batch: small, so inputs of a few lines span several batches.
const BATCH_ROWS: usize = 4;

fuzz_target!(|data: &[u8]| {
    let format = Format::default().with_header(true);
    let Ok((schema, _records)) = format.infer_schema(Cursor::new(data), None) else {
        return;
    };
    if schema.fields().is_empty() {
        return;
    }
    let Ok(reader) = ReaderBuilder::new(Arc::new(schema))
        .with_format(format)
        .with_batch_size(BATCH_ROWS)
        .build(Cursor::new(data))
    else {
        return;
    };
    for batch in reader {
        let Ok(batch) = batch else {
            return;
        };
        let bytes = ipc::encode_batch(&batch).expect("a CSV batch encodes");
        let (_, batches) = ipc::decode(&bytes).expect("an encoded CSV batch decodes");
        assert_eq!(
            batches.iter().map(|b| b.num_rows()).sum::<usize>(),
            batch.num_rows()
        );
    }
});
