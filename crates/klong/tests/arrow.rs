//! Arrow conversions (run with `--features arrow`).
#![cfg(feature = "arrow")]

use arrow::array::{
    Array, ArrayRef, Float64Array, Int64Array, StringArray, TimestampNanosecondArray,
};
use klong::arrow_conv::{batch_to_dict, dict_to_batch, from_arrow, from_int64_array, into_arrow};
use klong::{Klong, Value, readable};
use std::sync::Arc;

#[test]
fn int_vector_round_trip_without_copy() {
    let v = Value::ints(vec![1, 2, 3]);
    let ptr = match &v {
        Value::Ints(x) => x.as_ptr(),
        _ => unreachable!(),
    };
    let arr = into_arrow(v).unwrap();
    let ints = arr.as_any().downcast_ref::<Int64Array>().unwrap();
    assert_eq!(
        ints.values().as_ptr(),
        ptr,
        "unshared vector moved into Arrow"
    );
    assert_eq!(ints.values().to_vec(), vec![1, 2, 3]);

    let owned = Int64Array::from(vec![4i64, 5, 6]);
    let aptr = owned.values().as_ptr();
    let back = from_int64_array(owned);
    match &back {
        Value::Ints(x) => assert_eq!(x.as_ptr(), aptr, "owned Arrow buffer moved into Klong"),
        other => panic!("expected ints, got {}", readable(other)),
    }
}

#[test]
fn arrays_to_values() {
    let ts: ArrayRef = Arc::new(TimestampNanosecondArray::from(vec![10i64, 20]));
    assert_eq!(readable(&from_arrow(&ts).unwrap()), "[10 20]");
    let f: ArrayRef = Arc::new(Float64Array::from(vec![Some(1.5), None]));
    assert_eq!(readable(&from_arrow(&f).unwrap()), "[1.5 :undefined]");
    let s: ArrayRef = Arc::new(StringArray::from(vec!["a", "bc"]));
    assert_eq!(readable(&from_arrow(&s).unwrap()), "[\"a\" \"bc\"]");
    assert!(into_arrow(Value::Int(1)).is_err());
}

#[test]
fn record_batch_as_dictionary_of_columns() {
    let mut k = Klong::new();
    let d = k
        .eval(r#"d:::{};d,["px" [1.5 2.5 3.5]];d,["qty" [1 2 3]];d,["sym" ["a" "b" "c"]];d"#)
        .unwrap();
    let batch = dict_to_batch(&d).unwrap();
    assert_eq!(batch.num_rows(), 3);
    assert_eq!(batch.schema().field(1).name(), "qty");
    let back = batch_to_dict(&batch).unwrap();
    assert!(back.matches(&d));
    k.set("t", back);
    assert_eq!(readable(&k.eval(r#"+/t?"qty""#).unwrap()), "6");
    let bad = k.eval(r#"e:::{};e,["a" [1 2]];e,["b" [1]];e"#).unwrap();
    assert!(dict_to_batch(&bad).is_err());
}
