//! Runs nmh's conformance suite (`../shared/klong/test_suite.kg`, unmodified) and reports
//! `N passed, M failed` per assertion. Skips with a notice when the file is absent.

use klong::{Capabilities, Klong};

const SUITE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/klong/test_suite.kg"
);

/// Number of `t(...)` assertions in the suite text (calls at statement starts).
fn count_assertions(text: &str) -> usize {
    let mut n = 0;
    for line in text.lines() {
        let b = line.as_bytes();
        for i in 0..b.len().saturating_sub(1) {
            if b[i] == b't' && b[i + 1] == b'(' && (i == 0 || b[i - 1] == b' ' || b[i - 1] == b';')
            {
                n += 1;
            }
        }
    }
    n
}

#[test]
fn conformance_suite() {
    let text = match std::fs::read_to_string(SUITE) {
        Ok(t) => t,
        Err(_) => {
            println!("notice: {SUITE} not found; skipping the conformance suite");
            return;
        }
    };
    let dir = std::env::temp_dir().join(format!("klong-conformance-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::env::set_current_dir(&dir).expect("chdir");
    let handle = std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(move || {
            let mut k = Klong::with_capabilities(Capabilities::all());
            k.capture_output();
            let r = k.eval(&text);
            (
                r.map(|v| klong::readable(&v)),
                k.take_output(),
                count_assertions(&text),
            )
        })
        .expect("thread");
    let (result, out, total) = handle.join().expect("suite thread panicked");
    let _ = std::fs::remove_dir_all(&dir);
    let failed = out.lines().filter(|l| l.starts_with("failed: ")).count();
    for l in out.lines() {
        if !l.is_empty() && l != "ok!" {
            println!("{l}");
        }
    }
    println!(
        "conformance: {} passed, {} failed",
        total - failed.min(total),
        failed
    );
    if let Err(e) = &result {
        panic!("suite aborted with error: {e}");
    }
    assert_eq!(failed, 0, "{failed} conformance assertions failed");
    assert!(out.contains("ok!"), "suite did not print ok!");
}
