//! The one-shot CLI against a real server: import, ls, export, stats, rm.

mod common;

use common::{ServerProc, kdfs_bin};
use std::process::{Command, Output};

fn kdfs(server: &ServerProc, args: &[&str]) -> Output {
    Command::new(kdfs_bin())
        .args(args)
        .args(["--host", "127.0.0.1", "--port", &server.port.to_string()])
        .output()
        .expect("run kdfs")
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "kdfs failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn import_export_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = ServerProc::start(&data, &[]);

    let csv = dir.path().join("bars.csv");
    std::fs::write(
        &csv,
        "t,o,c,sym\n3,1.5,2.5,AAPL\n1,1.0,2.0,AAPL\n2,1.25,2.25,AAPL\n",
    )
    .unwrap();
    let out = ok(kdfs(
        &server,
        &["import", "historical/minute/AAPL", csv.to_str().unwrap()],
    ));
    assert!(out.contains("3 inserted"), "{out}");
    // Re-import with a changed row: first write wins, upsert replaces.
    std::fs::write(&csv, "t,o,c,sym\n2,9.0,9.0,AAPL\n4,1.0,1.0,AAPL\n").unwrap();
    let out = ok(kdfs(
        &server,
        &["import", "historical/minute/AAPL", csv.to_str().unwrap()],
    ));
    assert!(
        out.contains("1 inserted") && out.contains("1 ignored"),
        "{out}"
    );
    let out = ok(kdfs(
        &server,
        &[
            "import",
            "historical/minute/AAPL",
            csv.to_str().unwrap(),
            "--upsert",
        ],
    ));
    assert!(out.contains("2 replaced"), "{out}");

    let listing = ok(kdfs(&server, &["ls", "historical/"]));
    assert!(listing.contains("historical/minute/AAPL"), "{listing}");
    assert!(
        listing
            .lines()
            .any(|l| l.contains("AAPL") && l.contains(" 4 ") && l.contains(" 1 ")),
        "{listing}"
    );

    let exported = ok(kdfs(
        &server,
        &[
            "export",
            "historical/minute/AAPL",
            "--from",
            "2",
            "--to",
            "3",
            "--columns",
            "t,c",
        ],
    ));
    assert_eq!(exported, "t,c\n2,9.0\n3,2.5\n");
    let json = ok(kdfs(
        &server,
        &[
            "export",
            "historical/minute/AAPL",
            "--to",
            "1",
            "--format",
            "json",
        ],
    ));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v[0]["t"], 1);
    assert_eq!(v[0]["sym"], "AAPL");

    // Arrow export re-imports to the same frame.
    let arrow = dir.path().join("aapl.arrow");
    ok(kdfs(
        &server,
        &[
            "export",
            "historical/minute/AAPL",
            "--format",
            "arrow",
            "-o",
            arrow.to_str().unwrap(),
        ],
    ));
    let out = ok(kdfs(
        &server,
        &["import", "copy/AAPL", arrow.to_str().unwrap()],
    ));
    assert!(out.contains("4 inserted"), "{out}");
    let a = ok(kdfs(&server, &["export", "historical/minute/AAPL"]));
    let b = ok(kdfs(&server, &["export", "copy/AAPL"]));
    assert_eq!(a, b);

    let stats: serde_json::Value =
        serde_json::from_str(&ok(kdfs(&server, &["stats", "--level", "2"]))).unwrap();
    assert_eq!(stats["frames"], 2);
    assert_eq!(stats["rows"], 8);

    ok(kdfs(&server, &["load", "copy/AAPL"]));
    ok(kdfs(&server, &["unload", "copy/AAPL"]));
    ok(kdfs(&server, &["rm", "copy/AAPL"]));
    let failed = kdfs(&server, &["export", "copy/AAPL"]);
    assert!(!failed.status.success());
    let err = String::from_utf8_lossy(&failed.stderr);
    assert!(
        err.contains("copy/AAPL") && err.contains("not found"),
        "{err}"
    );

    // Empty range: just the header.
    let empty = ok(kdfs(
        &server,
        &["export", "historical/minute/AAPL", "--from", "100"],
    ));
    assert_eq!(empty.lines().count(), 1, "{empty}");
}

#[test]
fn help_and_bad_sizes() {
    let out = Command::new(kdfs_bin()).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("Examples:") && help.contains("import"),
        "{help}"
    );
    let out = Command::new(kdfs_bin())
        .args(["server", "--memory", "12XB"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown size unit"));
}

#[test]
fn client_commands_explain_a_missing_server() {
    // Port 1 on loopback: nothing listens there.
    let out = Command::new(kdfs_bin())
        .args(["stats", "--port", "1"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot connect") && err.contains("127.0.0.1:1"),
        "{err}"
    );
}
