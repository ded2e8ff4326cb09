//! The `klong` binary: `-e`, script files with arguments, and `--lines` machine mode.
#![cfg(feature = "cli")]

use std::io::Write;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_klong");

#[test]
fn eval_flag_prints_readable_value() {
    let out = Command::new(BIN)
        .args(["-e", "\"a\",\"b\""])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "\"ab\"\n");
    let out = Command::new(BIN).args(["-e", "-5"]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "-5\n");
    let out = Command::new(BIN).args(["-e", "1+\"a\""]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("plus: type error"));
}

#[test]
fn script_file_gets_arguments() {
    let path = std::env::temp_dir().join(format!("klong-cli-{}.kg", std::process::id()));
    std::fs::write(&path, ".p(#.a)\n.p(*.a)\n").unwrap();
    let out = Command::new(BIN)
        .arg(&path)
        .args(["x1", "y2"])
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "2\nx1\n");
}

#[test]
fn lines_mode_one_output_line_per_input_line() {
    let mut child = Command::new(BIN)
        .arg("--lines")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(
            b"a::5\na+1\n.p(\"hidden\");\"x\",(:#10),\"y\"\n1+\"a\"\n:\"only a comment\"\n[1 2]\n",
        )
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 6, "{text}");
    assert_eq!(lines[0], "5");
    assert_eq!(lines[1], "6");
    assert_eq!(lines[2], "\"x\\ny\"");
    assert!(lines[3].starts_with("!error plus: type error"));
    assert_eq!(lines[4], "");
    assert_eq!(lines[5], "[1 2]");
}
