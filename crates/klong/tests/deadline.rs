//! The deadline and the interrupt flag stop long primitives, not only long loops of steps.
//!
//! Each program here runs for minutes to hours without the deadline (those given as text
//! were found by the `klong_eval` fuzz target, each more than 20 s past a 200 ms deadline),
//! so they can only end with `Interrupted`; how soon after the deadline is not asserted.

use klong::{ErrorKind, Klong, Value};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// An interpreter set up like the fuzz target's and the server's, with a deadline.
fn limited() -> Klong {
    let mut k = Klong::new();
    k.set_max_depth(10_000);
    k.set_max_alloc(1 << 20);
    k.capture_output();
    k.set_deadline(Some(Instant::now() + Duration::from_millis(500)));
    k
}

fn assert_interrupted(src: &str) {
    let mut k = limited();
    let e = k.exec(src).expect_err(src);
    assert_eq!(e.kind, ErrorKind::Interrupted, "{src}: {e}");
    // The interpreter stays usable.
    k.set_deadline(None);
    assert_eq!(klong::readable(&k.eval("1+1").unwrap()), "2");
}

#[test]
fn power_of_a_long_vector_to_big_integers_stops_at_the_deadline() {
    // 626 549 powers of 6, each below the 2^22-bit limit of one result but together
    // billions of bits.
    assert_interrupted(".>>6^92*!79*7931;!;");
    assert_interrupted(
        "0100000.*=21339e55555$5555555555555555500000000000000000000000000^! 2*2^!458654",
    );
}

#[test]
fn a_converging_chain_of_grades_over_a_long_string_stops_at_the_deadline() {
    // `>\~` grades a 5.5M-character string, then the grade, and so on: each grade is one
    // evaluation step, and the deadline used to be read only every 256 steps.
    assert_interrupted("2-+51:+084+$:6#$$23#$2#$>63#>>\\~$5554450$4");
}

#[test]
fn chained_primitives_stop_at_the_deadline() {
    // Fifty grades of a million reals in one function body: the monads take no evaluation
    // step between them, and each call of `f` is only one step.
    let grades = ">".repeat(50);
    assert_interrupted(&format!("r::%1+!1000000;f::{{{grades}x}};1000 f:*r"));
}

#[test]
fn formatting_and_arithmetic_over_long_lists_stop_at_the_deadline() {
    // Formats each of 2.2M reals (one primitive), then groups and multiplies the results.
    assert_interrupted(
        "0502500.*=2136939e55555$5000.*=2155555$50005;800~0002063231721216855;005;800~0002063231736939e55555$50005;800~0002063231721216855;005;800~000206323172121682121685",
    );
}

#[test]
fn grouping_a_list_of_long_lists_stops_at_the_deadline() {
    // Hashing each list is charged by its length: 21 369 lists of up to 942 integers.
    assert_interrupted(
        "0100000.*=21369#9*=21369#955$5523170658799;80071=2136939e55555$5523170658799;8007170658799;8007",
    );
    // A million references to one list of a thousand integers: 10^9 elements to hash.
    assert_interrupted("=1000000#,!1000");
    assert_interrupted("?1000000#,!1000");
}

#[test]
fn an_embedders_call_sees_the_deadline_inside_primitives() {
    let mut k = limited();
    k.set_deadline(None);
    k.eval("f::{6^92*!x}").unwrap();
    k.set_deadline(Some(Instant::now() + Duration::from_millis(500)));
    let e = k.call("f", &[Value::Int(626_549)]).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Interrupted, "{e}");
}

#[test]
fn the_interrupt_flag_stops_a_long_primitive() {
    let mut k = Klong::new();
    let flag = k.interrupt_handle();
    let setter = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        flag.store(true, Ordering::Relaxed);
    });
    let e = k.eval("6^92*!626549").unwrap_err();
    setter.join().unwrap();
    assert_eq!(e.kind, ErrorKind::Interrupted, "{e}");
}
