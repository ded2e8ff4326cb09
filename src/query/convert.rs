//! Conversions between stored frames (Arrow) and Klong values for the natives and replies.
//!
//! The column conversions themselves are `klong::arrow_conv`'s (they move unshared buffers
//! without copying); this module adapts the Arrow types that conversion does not know, and
//! decides which Klong values have an Arrow form in a reply.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, RecordBatch};
use arrow::compute::{cast, concat_batches};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use klong::{ErrorKind, KlongError, Value};

/// Name of the single column of a reply whose value is a plain vector.
pub const VECTOR_COLUMN: &str = "value";

/// A Klong error of kind `Other` with `msg`.
pub(crate) fn kerr(msg: impl Into<String>) -> KlongError {
    KlongError::new(ErrorKind::Other, msg)
}

/// Arrow types `klong::arrow_conv::from_arrow` does not take, cast to ones it does.
fn klong_compatible(col: &ArrayRef) -> Result<ArrayRef, KlongError> {
    let target = match col.data_type() {
        DataType::UInt64 | DataType::Null => DataType::Int64,
        DataType::LargeUtf8 | DataType::Utf8View => DataType::Utf8,
        DataType::Dictionary(_, v) if v.is_string() => DataType::Utf8,
        DataType::Float16 | DataType::Decimal128(_, _) | DataType::Decimal256(_, _) => {
            DataType::Float64
        }
        _ => return Ok(Arc::clone(col)),
    };
    cast(col, &target).map_err(|e| {
        kerr(format!(
            "cannot convert a {} column to Klong: {e}",
            col.data_type()
        ))
    })
}

/// Rows of a frame or query result as a Klong dictionary of column name → vector.
pub fn batches_to_dict(schema: &SchemaRef, batches: &[RecordBatch]) -> Result<Value, KlongError> {
    let all = concat_batches(schema, batches).map_err(|e| kerr(e.to_string()))?;
    let cols = all
        .columns()
        .iter()
        .map(klong_compatible)
        .collect::<Result<Vec<_>, _>>()?;
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .zip(&cols)
        .map(|(f, c)| Field::new(f.name(), c.data_type().clone(), true))
        .collect();
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), cols)
        .map_err(|e| kerr(e.to_string()))?;
    drop(all);
    klong::arrow_conv::batch_to_dict(&batch)
}

/// Bytes of Arrow data in `batches` (slices count only their own rows).
pub fn batches_bytes(batches: &[RecordBatch]) -> usize {
    batches
        .iter()
        .flat_map(|b| b.columns())
        .map(|c| {
            c.to_data()
                .get_slice_memory_size()
                .unwrap_or_else(|_| c.get_array_memory_size())
        })
        .sum()
}

/// A rough size of a value in bytes (8 per number, 4 per character), computed without
/// formatting it, so a huge result is refused before its display string is built.
pub fn estimate_bytes(v: &Value) -> usize {
    match v {
        Value::Ints(x) => x.len() * 8,
        Value::Reals(x) => x.len() * 8,
        Value::Str(s) => s.len() * 4 + 2,
        Value::Sym(s) => s.len() + 1,
        Value::Big(b) => (b.bits() as usize) / 3 + 1,
        Value::List(items) => items.iter().map(estimate_bytes).sum::<usize>() + items.len() + 2,
        Value::Dict(d) => d
            .borrow()
            .iter()
            .map(|(k, v)| estimate_bytes(k) + estimate_bytes(v) + 2)
            .sum(),
        _ => 8,
    }
}

/// The Arrow form of a reply value, if it has one: a dictionary of equal-length column
/// vectors keyed by strings or symbols becomes a batch with those columns; a vector of
/// numbers or strings becomes a one-column batch named [`VECTOR_COLUMN`]. Other values
/// (atoms, nested or mixed lists, functions) have none.
pub fn reply_batch(v: &Value) -> Option<RecordBatch> {
    match v {
        Value::Dict(d) => {
            let d = d.borrow();
            if d.is_empty() {
                return None;
            }
            let mut len = None;
            for (k, col) in d.iter() {
                if !matches!(k, Value::Str(_) | Value::Sym(_)) || !is_column(col) {
                    return None;
                }
                let n = col.len();
                if len.is_some_and(|l| Some(l) != n) {
                    return None;
                }
                len = n;
            }
            drop(d);
            klong::arrow_conv::dict_to_batch(v).ok()
        }
        v if is_column(v) => {
            let arr = klong::arrow_conv::to_arrow(v).ok()?;
            let schema = Schema::new(vec![Field::new(
                VECTOR_COLUMN,
                arr.data_type().clone(),
                arr.null_count() > 0,
            )]);
            RecordBatch::try_new(Arc::new(schema), vec![arr]).ok()
        }
        _ => None,
    }
}

/// True for a non-empty vector whose elements are all numbers or all strings/symbols.
fn is_column(v: &Value) -> bool {
    match v {
        Value::Ints(_) | Value::Reals(_) => true,
        Value::List(items) => {
            !items.is_empty()
                && (items
                    .iter()
                    .all(|x| matches!(x, Value::Int(_) | Value::Real(_) | Value::Undefined))
                    || items
                        .iter()
                        .all(|x| matches!(x, Value::Str(_) | Value::Sym(_))))
        }
        _ => false,
    }
}

/// A dictionary of equal-length columns as a batch for `.put`, with columns the stored frame
/// already has cast to their stored types (Klong integers into a float or timestamp column).
pub fn dict_to_frame_batch(
    dict: &Value,
    index_column: &str,
    stored: Option<&SchemaRef>,
) -> Result<RecordBatch, KlongError> {
    if !matches!(dict, Value::Dict(_)) {
        return Err(kerr(
            ".put: expected a dictionary of columns, e.g. :{[\"t\" [1 2]] [\"c\" [1.5 2.5]]}",
        ));
    }
    let batch = klong::arrow_conv::dict_to_batch(dict)?;
    if batch.column_by_name(index_column).is_none() {
        return Err(kerr(format!(
            ".put: the dictionary needs an index column \"{index_column}\" of integers"
        )));
    }
    let Some(stored) = stored else {
        return Ok(batch);
    };
    let mut fields = Vec::with_capacity(batch.num_columns());
    let mut cols = Vec::with_capacity(batch.num_columns());
    for (f, col) in batch.schema().fields().iter().zip(batch.columns()) {
        let stored_field = stored.field_with_name(f.name()).ok();
        let col = match stored_field {
            Some(sf) if sf.data_type() != col.data_type() => {
                cast(col, sf.data_type()).map_err(|e| {
                    kerr(format!(
                        ".put: column \"{}\" is stored as {}, cannot convert {}: {e}",
                        f.name(),
                        sf.data_type(),
                        col.data_type()
                    ))
                })?
            }
            _ => Arc::clone(col),
        };
        // Keep the stored nullability so the schema matches the stored one exactly.
        let nullable =
            stored_field.map_or(f.is_nullable(), |sf| sf.is_nullable()) || col.null_count() > 0;
        fields.push(Field::new(f.name(), col.data_type().clone(), nullable));
        cols.push(col);
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), cols).map_err(|e| kerr(e.to_string()))
}
