//! Frame schemas: the index column, schema extension, and fitting batches to a schema.
//!
//! A frame's schema always has the index column first (non-nullable); every other column is
//! nullable, because rows written before a column existed, and updates that leave a column out,
//! hold nulls there. Schemas only ever grow by appending columns, so the columns of any older
//! chunk are a prefix of the current schema.

use std::collections::HashSet;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, new_null_array};
use arrow::buffer::ScalarBuffer;
use arrow::datatypes::{
    DataType, Field, Int64Type, Schema, SchemaRef, TimeUnit, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType, UInt64Type,
};
use arrow::record_batch::{RecordBatch, RecordBatchOptions};

use crate::error::StoreError;

/// Whether `dt` can be an index column.
pub(crate) fn is_index_type(dt: &DataType) -> bool {
    matches!(
        dt,
        DataType::Int64 | DataType::UInt64 | DataType::Timestamp(_, _)
    )
}

/// The index values of `array` as `i64`, sharing the array's buffer.
///
/// All three index types are 8-byte integers; `UInt64` values above `i64::MAX` are refused so
/// that reinterpreting the bits keeps the order.
pub(crate) fn index_keys(column: &str, array: &dyn Array) -> Result<ScalarBuffer<i64>, StoreError> {
    let bad = |reason: String| StoreError::BadIndex {
        column: column.to_string(),
        reason,
    };
    if !is_index_type(array.data_type()) {
        return Err(bad(format!(
            "type {} is not supported; use Int64, UInt64 or Timestamp",
            array.data_type()
        )));
    }
    if array.null_count() > 0 {
        return Err(bad("the index column contains nulls".into()));
    }
    // The values buffer straight from the typed array: going through `to_data` built (and
    // dropped) an `ArrayData` per call, and this runs for every update and chunk.
    let values = match array.data_type() {
        DataType::Int64 => array.as_primitive::<Int64Type>().values().inner(),
        DataType::UInt64 => array.as_primitive::<UInt64Type>().values().inner(),
        DataType::Timestamp(TimeUnit::Second, _) => {
            array.as_primitive::<TimestampSecondType>().values().inner()
        }
        DataType::Timestamp(TimeUnit::Millisecond, _) => array
            .as_primitive::<TimestampMillisecondType>()
            .values()
            .inner(),
        DataType::Timestamp(TimeUnit::Microsecond, _) => array
            .as_primitive::<TimestampMicrosecondType>()
            .values()
            .inner(),
        DataType::Timestamp(TimeUnit::Nanosecond, _) => array
            .as_primitive::<TimestampNanosecondType>()
            .values()
            .inner(),
        other => return Err(bad(format!("type {other} is not supported"))),
    };
    // A typed array's values buffer is already sliced to the array.
    let keys = ScalarBuffer::<i64>::new(values.clone(), 0, array.len());
    if *array.data_type() == DataType::UInt64 && keys.iter().any(|k| *k < 0) {
        return Err(bad("UInt64 index values must be at most i64::MAX".into()));
    }
    Ok(keys)
}

/// The schema a frame has after taking `batch`: `current` extended by the batch's new columns.
///
/// Returns `Ok(None)` when the schema does not change. Fails, changing nothing, on a missing or
/// badly typed index column, duplicate column names, or a type conflict.
pub(crate) fn extended_schema(
    current: Option<&SchemaRef>,
    index_column: &str,
    batch: &Schema,
) -> Result<Option<SchemaRef>, StoreError> {
    let mut seen = HashSet::new();
    for f in batch.fields() {
        if !seen.insert(f.name().as_str()) {
            return Err(StoreError::BadBatch {
                reason: format!("column {:?} appears twice", f.name()),
            });
        }
    }
    let Ok(index) = batch.field_with_name(index_column) else {
        return Err(StoreError::BadIndex {
            column: index_column.to_string(),
            reason: "the batch has no such column; name the index column of the update".into(),
        });
    };
    if !is_index_type(index.data_type()) {
        return Err(StoreError::BadIndex {
            column: index_column.to_string(),
            reason: format!(
                "type {} is not supported; use Int64, UInt64 or Timestamp",
                index.data_type()
            ),
        });
    }
    let Some(current) = current else {
        let mut fields = vec![Field::new(index_column, index.data_type().clone(), false)];
        for f in batch.fields() {
            if f.name() != index_column {
                fields.push(Field::new(f.name(), f.data_type().clone(), true));
            }
        }
        return Ok(Some(Arc::new(Schema::new(fields))));
    };
    let mut added = Vec::new();
    for f in batch.fields() {
        match current.field_with_name(f.name()) {
            Ok(stored) if stored.data_type() == f.data_type() => {}
            Ok(stored) if f.name() == index_column => {
                return Err(StoreError::BadIndex {
                    column: index_column.to_string(),
                    reason: format!(
                        "the frame's index is {} but the update has {}",
                        stored.data_type(),
                        f.data_type()
                    ),
                });
            }
            Ok(stored) => {
                return Err(StoreError::TypeConflict {
                    column: f.name().clone(),
                    stored: stored.data_type().clone(),
                    given: f.data_type().clone(),
                });
            }
            Err(_) => added.push(Field::new(f.name(), f.data_type().clone(), true)),
        }
    }
    if added.is_empty() {
        return Ok(None);
    }
    let mut fields: Vec<Field> = current
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields.extend(added);
    Ok(Some(Arc::new(Schema::new(fields))))
}

/// `batch` with exactly the columns of `schema`, matched by name; missing columns are null.
pub(crate) fn conform(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch, StoreError> {
    if Arc::ptr_eq(&batch.schema(), schema) {
        return Ok(batch.clone());
    }
    let rows = batch.num_rows();
    let columns: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .map(|f| match batch.column_by_name(f.name()) {
            Some(c) => c.clone(),
            None => new_null_array(f.data_type(), rows),
        })
        .collect();
    let options = RecordBatchOptions::new().with_row_count(Some(rows));
    Ok(RecordBatch::try_new_with_options(
        schema.clone(),
        columns,
        &options,
    )?)
}

/// `batch` restricted to `columns` (in that order), or all columns when `None`.
pub(crate) fn project(
    batch: &RecordBatch,
    schema: &SchemaRef,
    columns: Option<&[usize]>,
) -> Result<RecordBatch, StoreError> {
    let full = conform(batch, schema)?;
    match columns {
        None => Ok(full),
        Some(cols) => Ok(full.project(cols)?),
    }
}

/// Estimated bytes held by `batch` (only the sliced part of shared buffers counts).
pub(crate) fn batch_bytes(batch: &RecordBatch) -> u64 {
    batch
        .columns()
        .iter()
        .map(|c| array_bytes(c.as_ref()))
        .sum()
}

/// [`arrow::array::ArrayData::get_slice_memory_size`] of `array`, computed directly for
/// fixed-width columns: building the `ArrayData` for it cost an allocation per column, for
/// every chunk of every one-row update.
fn array_bytes(array: &dyn Array) -> u64 {
    match array.data_type().primitive_width() {
        Some(width) => {
            let validity = array.nulls().map_or(0, |_| array.len().div_ceil(8));
            (array.len() * width + validity) as u64
        }
        None => array.to_data().get_slice_memory_size().unwrap_or(0) as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Float64Array, Int64Array, StringArray, UInt64Array};

    fn schema(fields: Vec<(&str, DataType)>) -> Schema {
        Schema::new(
            fields
                .into_iter()
                .map(|(n, t)| Field::new(n, t, true))
                .collect::<Vec<_>>(),
        )
    }

    #[test]
    fn creation_puts_index_first() {
        let s = schema(vec![("px", DataType::Float64), ("t", DataType::Int64)]);
        let out = extended_schema(None, "t", &s).unwrap().unwrap();
        assert_eq!(out.field(0).name(), "t");
        assert!(!out.field(0).is_nullable());
        assert_eq!(out.field(1).name(), "px");
    }

    #[test]
    fn extension_and_conflicts() {
        let base = extended_schema(
            None,
            "t",
            &schema(vec![("t", DataType::Int64), ("a", DataType::Float64)]),
        )
        .unwrap()
        .unwrap();
        let same = schema(vec![("a", DataType::Float64), ("t", DataType::Int64)]);
        assert!(extended_schema(Some(&base), "t", &same).unwrap().is_none());
        let wider = schema(vec![("t", DataType::Int64), ("b", DataType::Utf8)]);
        let ext = extended_schema(Some(&base), "t", &wider).unwrap().unwrap();
        assert_eq!(ext.fields().len(), 3);
        let conflict = schema(vec![("t", DataType::Int64), ("a", DataType::Utf8)]);
        assert!(matches!(
            extended_schema(Some(&base), "t", &conflict),
            Err(StoreError::TypeConflict { .. })
        ));
        let bad_index = schema(vec![("t", DataType::UInt64)]);
        assert!(matches!(
            extended_schema(Some(&base), "t", &bad_index),
            Err(StoreError::BadIndex { .. })
        ));
        let no_index = schema(vec![("a", DataType::Float64)]);
        assert!(matches!(
            extended_schema(Some(&base), "t", &no_index),
            Err(StoreError::BadIndex { .. })
        ));
        let float_index = schema(vec![("t", DataType::Float64)]);
        assert!(extended_schema(None, "t", &float_index).is_err());
    }

    #[test]
    fn conform_fills_nulls() {
        let base = extended_schema(
            None,
            "t",
            &schema(vec![
                ("t", DataType::Int64),
                ("a", DataType::Float64),
                ("s", DataType::Utf8),
            ]),
        )
        .unwrap()
        .unwrap();
        let b = RecordBatch::try_from_iter(vec![
            ("a", Arc::new(Float64Array::from(vec![1.5])) as ArrayRef),
            ("t", Arc::new(Int64Array::from(vec![3])) as ArrayRef),
        ])
        .unwrap();
        let c = conform(&b, &base).unwrap();
        assert_eq!(c.schema(), base);
        assert_eq!(c.column(2).null_count(), 1);
        let s = c.column(2).as_any().downcast_ref::<StringArray>().unwrap();
        assert!(s.is_null(0));
    }

    #[test]
    fn index_keys_checks_values() {
        let a = UInt64Array::from(vec![1, u64::MAX]);
        assert!(index_keys("t", &a).is_err());
        let a = Int64Array::from(vec![Some(1), None]);
        assert!(index_keys("t", &a).is_err());
        let a = Int64Array::from(vec![5, 6, 7]).slice(1, 2);
        assert_eq!(index_keys("t", &a).unwrap().to_vec(), vec![6, 7]);
        let a = arrow::array::TimestampMillisecondArray::from(vec![1, 2, 3]).slice(2, 1);
        assert_eq!(index_keys("t", &a).unwrap().to_vec(), vec![3]);
    }

    #[test]
    fn array_bytes_is_the_slice_memory_size() {
        let arrays: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(vec![1, 2, 3, 4, 5])),
            Arc::new(Float64Array::from(vec![Some(1.0), None, Some(3.0)])),
            Arc::new(StringArray::from(vec![Some("ab"), None, Some("cde")])),
            Arc::new(arrow::array::BooleanArray::from(vec![true, false, true])),
        ];
        for a in arrays {
            for s in [a.clone(), a.slice(1, 2), a.slice(0, 0)] {
                let expected = s.to_data().get_slice_memory_size().unwrap() as u64;
                assert_eq!(array_bytes(s.as_ref()), expected, "{:?}", s.data_type());
            }
        }
    }
}
