//! Conversions between Klong vectors and Arrow arrays (feature `arrow`).
//!
//! * `Int64`, `Timestamp(*)` (as epoch integers in the array's unit), and other integer
//!   types → integer vectors; `Float64`/`Float32` → real vectors; `Utf8` → list of strings;
//!   `Boolean` → 0/1 integers. Null entries become `:undefined` (the list is then generic).
//! * Integer vectors → `Int64Array`, real vectors → `Float64Array`, lists of strings or
//!   symbols → `StringArray`.
//! * A `RecordBatch` ↔ a dictionary of columns keyed by column name (a string).
//!
//! No copy is made when the types allow it: an unshared Klong vector is moved into the
//! Arrow buffer, and an Arrow buffer owned only by the array is moved into the Klong vector.

use crate::dict::Dict;
use crate::error::{ErrorKind, KResult, KlongError, err};
use crate::value::Value;
use arrow::array::{
    Array, ArrayRef, BooleanArray, Float32Array, Float64Array, Int8Array, Int16Array, Int32Array,
    Int64Array, StringArray, UInt8Array, UInt16Array, UInt32Array,
};
use arrow::buffer::{Buffer, ScalarBuffer};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

fn conv_err<T>(msg: impl Into<String>) -> KResult<T> {
    err(ErrorKind::Type, msg)
}

/// Take the vector out of an `Rc` without copying when it is unshared.
fn unwrap_vec<T: Clone>(rc: Rc<Vec<T>>) -> Vec<T> {
    Rc::try_unwrap(rc).unwrap_or_else(|rc| rc.as_ref().clone())
}

/// Take a buffer's contents as a `Vec` without copying when it is uniquely owned.
fn buffer_vec<T: arrow::datatypes::ArrowNativeType>(
    b: Buffer,
    len: usize,
    offset: usize,
) -> Vec<T> {
    if offset == 0 {
        match b.into_vec::<T>() {
            Ok(mut v) => {
                v.truncate(len);
                return v;
            }
            Err(b) => return ScalarBuffer::<T>::new(b, 0, len).to_vec(),
        }
    }
    ScalarBuffer::<T>::new(b, offset, len).to_vec()
}

/// Convert a Klong value (consumed, so unshared vectors move without copying) to an array.
pub fn into_arrow(v: Value) -> KResult<ArrayRef> {
    Ok(match v {
        Value::Ints(x) => Arc::new(Int64Array::new(ScalarBuffer::from(unwrap_vec(x)), None)),
        Value::Reals(x) => Arc::new(Float64Array::new(ScalarBuffer::from(unwrap_vec(x)), None)),
        Value::List(items) if items.is_empty() => Arc::new(Int64Array::from(Vec::<i64>::new())),
        Value::List(items) => {
            if items
                .iter()
                .all(|x| matches!(x, Value::Str(_) | Value::Sym(_)))
            {
                let strs: Vec<String> = items
                    .iter()
                    .map(|x| match x {
                        Value::Str(s) => s.iter().collect(),
                        Value::Sym(s) => s.to_string(),
                        _ => String::new(),
                    })
                    .collect();
                Arc::new(StringArray::from(strs))
            } else if items
                .iter()
                .all(|x| matches!(x, Value::Int(_) | Value::Undefined))
            {
                Arc::new(Int64Array::from(
                    items
                        .iter()
                        .map(|x| x.as_int())
                        .collect::<Vec<Option<i64>>>(),
                ))
            } else if items
                .iter()
                .all(|x| matches!(x, Value::Int(_) | Value::Real(_) | Value::Undefined))
            {
                Arc::new(Float64Array::from(
                    items
                        .iter()
                        .map(|x| x.as_f64())
                        .collect::<Vec<Option<f64>>>(),
                ))
            } else {
                return conv_err("arrow: list elements must be all numbers or all strings/symbols");
            }
        }
        other => {
            return conv_err(format!(
                "arrow: cannot convert {} to an array; pass a vector",
                crate::print::readable(&other)
            ));
        }
    })
}

/// Convert a Klong value to an array (copies; see [`into_arrow`] for the zero-copy form).
pub fn to_arrow(v: &Value) -> KResult<ArrayRef> {
    into_arrow(v.clone())
}

fn with_nulls<T>(
    a: &dyn Array,
    len: usize,
    get: impl Fn(usize) -> T,
    wrap: impl Fn(T) -> Value,
) -> Value {
    Value::list(
        (0..len)
            .map(|i| {
                if a.is_null(i) {
                    Value::Undefined
                } else {
                    wrap(get(i))
                }
            })
            .collect(),
    )
}

/// Convert an Arrow array to a Klong value.
pub fn from_arrow(a: &ArrayRef) -> KResult<Value> {
    let len = a.len();
    let nulls = a.null_count() > 0;
    let data = a.to_data();
    macro_rules! ints {
        ($t:ty) => {{
            let arr = a
                .as_any()
                .downcast_ref::<$t>()
                .ok_or_else(|| KlongError::new(ErrorKind::Type, "arrow: bad array"))?;
            if nulls {
                with_nulls(a.as_ref(), len, |i| arr.value(i) as i64, Value::Int)
            } else {
                Value::ints(arr.values().iter().map(|&x| x as i64).collect())
            }
        }};
    }
    Ok(match a.data_type() {
        DataType::Int64 | DataType::Timestamp(_, _) | DataType::Date64 | DataType::Duration(_) => {
            let vals = ScalarBuffer::<i64>::new(data.buffers()[0].clone(), data.offset(), len);
            if nulls {
                with_nulls(a.as_ref(), len, |i| vals[i], Value::Int)
            } else {
                Value::ints(vals.to_vec())
            }
        }
        DataType::Float64 => {
            let vals = ScalarBuffer::<f64>::new(data.buffers()[0].clone(), data.offset(), len);
            if nulls {
                with_nulls(a.as_ref(), len, |i| vals[i], Value::Real)
            } else {
                Value::reals(vals.to_vec())
            }
        }
        DataType::Float32 => {
            let arr = a
                .as_any()
                .downcast_ref::<Float32Array>()
                .ok_or_else(|| KlongError::new(ErrorKind::Type, "arrow: bad array"))?;
            with_nulls(a.as_ref(), len, |i| arr.value(i) as f64, Value::Real)
        }
        DataType::Int32 | DataType::Date32 => {
            if matches!(a.data_type(), DataType::Date32) {
                let vals = ScalarBuffer::<i32>::new(data.buffers()[0].clone(), data.offset(), len);
                with_nulls(a.as_ref(), len, |i| vals[i] as i64, Value::Int)
            } else {
                ints!(Int32Array)
            }
        }
        DataType::Int16 => ints!(Int16Array),
        DataType::Int8 => ints!(Int8Array),
        DataType::UInt32 => ints!(UInt32Array),
        DataType::UInt16 => ints!(UInt16Array),
        DataType::UInt8 => ints!(UInt8Array),
        DataType::Boolean => {
            let arr = a
                .as_any()
                .downcast_ref::<BooleanArray>()
                .ok_or_else(|| KlongError::new(ErrorKind::Type, "arrow: bad array"))?;
            with_nulls(a.as_ref(), len, |i| arr.value(i) as i64, Value::Int)
        }
        DataType::Utf8 => {
            let arr = a
                .as_any()
                .downcast_ref::<StringArray>()
                .ok_or_else(|| KlongError::new(ErrorKind::Type, "arrow: bad array"))?;
            with_nulls(
                a.as_ref(),
                len,
                |i| arr.value(i).to_string(),
                |s| Value::str(&s),
            )
        }
        t => return conv_err(format!("arrow: unsupported column type {t}")),
    })
}

/// Move an owned `Int64Array` without nulls into an integer vector; no copy when the array
/// is the only owner of its buffer.
pub fn from_int64_array(a: Int64Array) -> Value {
    if a.null_count() > 0 {
        let arc: ArrayRef = Arc::new(a);
        return from_arrow(&arc).unwrap_or(Value::Undefined);
    }
    let (_, values, _) = a.into_parts();
    let len = values.len();
    Value::ints(buffer_vec::<i64>(values.into_inner(), len, 0))
}

/// Move an owned `Float64Array` without nulls into a real vector (no copy when unshared).
pub fn from_float64_array(a: Float64Array) -> Value {
    if a.null_count() > 0 {
        let arc: ArrayRef = Arc::new(a);
        return from_arrow(&arc).unwrap_or(Value::Undefined);
    }
    let (_, values, _) = a.into_parts();
    let len = values.len();
    Value::reals(buffer_vec::<f64>(values.into_inner(), len, 0))
}

/// A record batch as a dictionary mapping column names (strings) to column vectors.
pub fn batch_to_dict(b: &RecordBatch) -> KResult<Value> {
    let mut d = Dict::new();
    for (f, col) in b.schema().fields().iter().zip(b.columns()) {
        d.insert(Value::str(f.name()), from_arrow(col)?);
    }
    Ok(Value::Dict(Rc::new(RefCell::new(d))))
}

/// A dictionary of equal-length columns as a record batch (column order = insertion order).
pub fn dict_to_batch(v: &Value) -> KResult<RecordBatch> {
    let d = match v {
        Value::Dict(d) => d.borrow(),
        _ => return conv_err("arrow: expected a dictionary of columns"),
    };
    let mut fields = Vec::new();
    let mut cols = Vec::new();
    for (k, col) in d.iter() {
        let name = match k {
            Value::Str(s) => s.iter().collect(),
            Value::Sym(s) => s.to_string(),
            other => crate::print::display(other),
        };
        let arr = to_arrow(col)?;
        fields.push(Field::new(
            name,
            arr.data_type().clone(),
            arr.null_count() > 0,
        ));
        cols.push(arr);
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), cols).map_err(|e| {
        KlongError::new(
            ErrorKind::Shape,
            format!("arrow: {e}; columns must have equal length"),
        )
    })
}
