//! Arbitrary text as a Klong program sent to the server: parsing and evaluation must end with
//! a value or an error, never a panic or a stack overflow, within the time limit.
//!
//! The interpreter is set up like the server's (no file, stdin or system access, output
//! captured, depth limit 10 000) with a short deadline and a smaller allocation limit, so each
//! input takes milliseconds and a runaway program is cut off as the server would cut it off.
#![no_main]

use klong::Klong;
use libfuzzer_sys::fuzz_target;
use std::time::{Duration, Instant};

fuzz_target!(|data: &[u8]| {
    let Ok(code) = std::str::from_utf8(data) else {
        return;
    };
    let mut k = Klong::new();
    k.set_max_depth(10_000);
    k.set_max_alloc(1 << 20);
    k.capture_output();
    k.set_deadline(Some(Instant::now() + Duration::from_millis(200)));
    if let Ok(Some(value)) = k.exec(code) {
        // What the server does with a value: display it, and turn it into a table if it is one.
        let _ = klong::readable(&value);
        let _ = klong::arrow_conv::to_arrow(&value);
        if let Ok(batch) = klong::arrow_conv::dict_to_batch(&value) {
            let _ = kdfs_client::ipc::encode_batch(&batch);
        }
    }
    let _ = k.take_output();
});
