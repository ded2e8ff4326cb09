//! Runs `tests/cases.kg`, our own language-level cases, and reports each failure.

use klong::Klong;

#[test]
fn language_cases() {
    let src = include_str!("cases.kg");
    let mut k = Klong::new();
    k.capture_output();
    k.eval(
        "fails::0;total::0;t::{total::total+1;:[~y~z;{fails::fails+1;.p(x);.w(y);.p(\"\")}(x;y);0]}",
    )
    .expect("define t");
    if let Err(e) = k.eval(src) {
        panic!("cases.kg aborted: {e}\noutput so far:\n{}", k.take_output());
    }
    let out = k.take_output();
    let fails = k
        .get("fails")
        .map(|v| klong::readable(&v))
        .unwrap_or_default();
    let total = k
        .get("total")
        .map(|v| klong::readable(&v))
        .unwrap_or_default();
    println!("cases.kg: {total} assertions, {fails} failed\n{out}");
    assert_eq!(fails, "0", "failed cases (label, then value):\n{out}");
}
