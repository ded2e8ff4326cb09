//! The redb database: catalog, schemas, and the durable write log.
//!
//! Tables:
//! * `catalog`: key → [`CatalogRecord`] (bincode), rewritten by every commit touching the frame;
//! * `schemas`: key → schema (Arrow IPC), written only when a frame's schema changes;
//! * `log`: (frame id, sequence number) → one update as sent (mode tag + Arrow IPC batch);
//! * `meta`: `next_id` → the next frame id, so ids are never reused (a file left behind by a
//!   deleted frame can then never be mistaken for a new frame's file).

use std::path::Path;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};

use crate::codec::{CatalogRecord, decode_log, decode_schema};
use crate::error::{StoreError, db};
use crate::key::KeyPath;
use crate::types::UpdateMode;

pub(crate) const CATALOG: TableDefinition<&str, &[u8]> = TableDefinition::new("catalog");
pub(crate) const SCHEMAS: TableDefinition<&str, &[u8]> = TableDefinition::new("schemas");
pub(crate) const LOG: TableDefinition<(u64, u64), &[u8]> = TableDefinition::new("log");
pub(crate) const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
pub(crate) const NEXT_ID: &str = "next_id";

/// Opens (or creates) the database and makes sure every table exists.
pub(crate) fn open_db(path: &Path) -> Result<Database, StoreError> {
    let database = Database::create(path).map_err(db)?;
    let txn = database.begin_write().map_err(db)?;
    {
        txn.open_table(CATALOG).map_err(db)?;
        txn.open_table(SCHEMAS).map_err(db)?;
        txn.open_table(LOG).map_err(db)?;
        txn.open_table(META).map_err(db)?;
    }
    txn.commit().map_err(db)?;
    Ok(database)
}

/// One frame as the catalog knows it.
pub(crate) struct Stored {
    pub key: KeyPath,
    pub record: CatalogRecord,
    pub schema: SchemaRef,
}

/// Everything in the catalog, and the next free frame id.
pub(crate) fn load_catalog(database: &Database) -> Result<(Vec<Stored>, u64), StoreError> {
    let txn = database.begin_read().map_err(db)?;
    let catalog = txn.open_table(CATALOG).map_err(db)?;
    let schemas = txn.open_table(SCHEMAS).map_err(db)?;
    let meta = txn.open_table(META).map_err(db)?;
    let mut next_id = meta
        .get(NEXT_ID)
        .map_err(db)?
        .map(|v| v.value())
        .unwrap_or(1);
    let mut out = Vec::new();
    for entry in catalog.iter().map_err(db)? {
        let (k, v) = entry.map_err(db)?;
        let key = KeyPath::parse(k.value())
            .map_err(|e| StoreError::Corrupt(format!("catalog holds an invalid key: {e}")))?;
        let record = CatalogRecord::decode(v.value())?;
        let schema_bytes = schemas
            .get(k.value())
            .map_err(db)?
            .ok_or_else(|| StoreError::Corrupt(format!("no schema stored for {key}")))?;
        let schema = decode_schema(schema_bytes.value())?;
        next_id = next_id.max(record.id + 1);
        out.push(Stored {
            key,
            record,
            schema,
        });
    }
    Ok((out, next_id))
}

/// The log entries of frame `id` with a sequence number above `after`, in order.
pub(crate) fn read_log(
    database: &Database,
    id: u64,
    after: u64,
) -> Result<Vec<(u64, UpdateMode, RecordBatch)>, StoreError> {
    if after == u64::MAX {
        return Ok(Vec::new());
    }
    let txn = database.begin_read().map_err(db)?;
    let log = txn.open_table(LOG).map_err(db)?;
    let mut out = Vec::new();
    for entry in log.range((id, after + 1)..=(id, u64::MAX)).map_err(db)? {
        let (k, v) = entry.map_err(db)?;
        let (mode, batch) = decode_log(v.value())?;
        out.push((k.value().1, mode, batch));
    }
    Ok(out)
}

/// Number of entries in the whole write log (for tests and diagnostics).
pub(crate) fn log_len(database: &Database) -> Result<u64, StoreError> {
    let txn = database.begin_read().map_err(db)?;
    let log = txn.open_table(LOG).map_err(db)?;
    log.len().map_err(db)
}
