//! The redb database: catalog, schemas, and the durable write log.
//!
//! Tables:
//! * `catalog`: key → [`CatalogRecord`] (bincode), rewritten by every commit touching the frame;
//! * `schemas`: key → schema (Arrow IPC), written only when a frame's schema changes;
//! * `wal`: the write log, one blob per group commit (see [`crate::log`]);
//! * `meta`: `next_id` → the next frame id, so ids are never reused (a file left behind by a
//!   deleted frame can then never be mistaken for a new frame's file).

use std::path::Path;

use arrow::datatypes::SchemaRef;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use crate::codec::{CatalogRecord, decode_schema};
use crate::error::{StoreError, db};
use crate::key::KeyPath;

pub(crate) const CATALOG: TableDefinition<&str, &[u8]> = TableDefinition::new("catalog");
pub(crate) const SCHEMAS: TableDefinition<&str, &[u8]> = TableDefinition::new("schemas");
pub(crate) const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
pub(crate) const NEXT_ID: &str = "next_id";

/// Memory redb may hold for its page cache and write buffer. Its default (1 GiB) let the
/// server's resident memory grow far past `--memory` as the write log grew, since redb keeps
/// every page it wrote cached; this bounds it. The log is written once and read back only by
/// compactions, so a small cache costs little.
pub const DB_CACHE_BYTES: usize = 64 << 20;

/// Opens (or creates) the database and makes sure every table exists.
pub(crate) fn open_db(path: &Path) -> Result<Database, StoreError> {
    let database = Database::builder()
        .set_cache_size(DB_CACHE_BYTES)
        .create(path)
        .map_err(db)?;
    let txn = database.begin_write().map_err(db)?;
    {
        txn.open_table(CATALOG).map_err(db)?;
        txn.open_table(SCHEMAS).map_err(db)?;
        txn.open_table(crate::log::LOG).map_err(db)?;
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
