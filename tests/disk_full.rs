//! Running out of disk space, for real: the server's data directory lives on a small tmpfs that the test
//! fills up. Writes must then be refused with a clear error while the server stays up and
//! reads keep working; once space is freed and the server restarted, every acknowledged row
//! is there and writes work again.
//!
//! Mounting needs root (or CAP_SYS_ADMIN); where it is not permitted that test prints a notice
//! and passes without checking anything. The same scenario also runs unprivileged with a file
//! size limit (`ulimit -f`, SIGXFSZ ignored) standing in for the full disk: writes past it
//! fail with EFBIG, which the server treats like ENOSPC.

mod common;

use common::{ServerProc, bars, ints, rows};
use kdfs_client::{Client, ClientError, ReadOptions, UpdateOptions};
use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Rows per update while filling the disk (about 64 KiB of Arrow data).
const BATCH: i64 = 4000;
/// Updates sent at most before the test gives up waiting for the disk to fill.
const MAX_UPDATES: i64 = 1000;

/// A tmpfs mounted for the test; unmounted on drop (after the server using it is gone).
struct Tmpfs {
    path: PathBuf,
}

impl Tmpfs {
    /// Mount a `size` tmpfs (e.g. `"16m"`) at `path`, or `None` where that is not permitted.
    fn mount(path: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(path).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(path)
            .output();
        match out {
            Ok(out) if out.status.success() => Some(Tmpfs {
                path: path.to_path_buf(),
            }),
            Ok(out) => {
                let why = String::from_utf8_lossy(&out.stderr);
                eprintln!(
                    "SKIPPED: cannot mount a tmpfs ({}); disk-full test not run",
                    why.trim()
                );
                None
            }
            Err(e) => {
                eprintln!("SKIPPED: cannot run mount ({e}); disk-full test not run");
                None
            }
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let ok = Command::new("umount")
            .arg(&self.path)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            // Still busy (a process that has not exited yet): detach it now, freed when idle.
            let _ = Command::new("umount").arg("-l").arg(&self.path).status();
        }
    }
}

/// Fill the filesystem of `path` with a file, then shrink it so about `leave` bytes are free.
fn ballast(path: &Path, leave: u64) {
    let mut file = std::fs::File::create(path).unwrap();
    let chunk = vec![0x5au8; 1 << 20];
    let mut written = 0u64;
    while let Ok(n) = file.write(&chunk) {
        if n == 0 {
            break;
        }
        written += n as u64;
    }
    file.set_len(written.saturating_sub(leave)).unwrap();
    file.sync_all().unwrap();
}

fn batch(first: i64) -> arrow::array::RecordBatch {
    let ts: Vec<i64> = (first..first + BATCH).collect();
    bars(&ts, 0.0)
}

async fn read_ts(client: &mut Client, key: &str) -> Vec<i64> {
    let batches = client
        .read(key, ReadOptions::default())
        .await
        .unwrap_or_else(|e| panic!("read {key}: {e}"));
    ints(&batches, "t")
}

/// How a test runs out of space, and makes room again.
enum Space {
    /// A tmpfs almost filled by a ballast file; deleting the ballast makes room.
    Tmpfs(Tmpfs),
    /// A file size limit on the server process; restarting without it makes room.
    FileLimit,
}

/// File size limit of [`Space::FileLimit`], in KiB.
const LIMIT_KIB: u64 = 4096;

#[tokio::test]
async fn full_tmpfs_refuses_writes_keeps_reads_and_loses_nothing() {
    let root = tempfile::tempdir().unwrap();
    let Some(disk) = Tmpfs::mount(&root.path().join("mnt"), "16m") else {
        return;
    };
    let data = disk.path.join("data");
    run_out_of_space(&data, Space::Tmpfs(disk), "the disk is full").await;
}

#[tokio::test]
async fn file_size_limit_refuses_writes_keeps_reads_and_loses_nothing() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    run_out_of_space(&data, Space::FileLimit, "file size limit").await;
}

/// Write until the server runs out of space, check it refuses writes with a message
/// containing `says` and keeps serving reads, make room, restart it, and check that every
/// acknowledged row is there and writes work again.
async fn run_out_of_space(data: &Path, space: Space, says: &str) {
    let server = match &space {
        Space::Tmpfs(_) => ServerProc::start(data, &[]),
        Space::FileLimit => ServerProc::start_with_file_limit(data, &[], LIMIT_KIB),
    };
    let mut c = server.client().await;
    let stats = c.stats(0).await.unwrap();
    assert_eq!(stats["store"]["writable"], true, "{stats}");
    assert!(stats["store"]["reason"].is_null(), "{stats}");
    let before: Vec<i64> = (0..1000).collect();
    c.update("full/before", &bars(&before, 0.5), UpdateOptions::default())
        .await
        .unwrap();

    if let Space::Tmpfs(disk) = &space {
        ballast(&disk.path.join("ballast"), 2 << 20);
    }
    let mut acked = BTreeSet::new();
    let mut sent = BTreeSet::new();
    let mut refusal = None;
    for i in 0..MAX_UPDATES {
        let first = i * BATCH;
        sent.extend(first..first + BATCH);
        match c
            .update("full/a", &batch(first), UpdateOptions::default())
            .await
        {
            Ok(_) => acked.extend(first..first + BATCH),
            Err(e) => {
                refusal = Some(e);
                break;
            }
        }
    }
    let Some(refusal) = refusal else {
        panic!("{MAX_UPDATES} updates fitted; the server never ran out of space")
    };
    let ClientError::Server { message, .. } = &refusal else {
        panic!("expected an error reply, got {refusal}")
    };
    eprintln!(
        "out of space after {} acknowledged rows: {message}",
        acked.len()
    );
    assert!(!acked.is_empty(), "nothing fitted before space ran out");
    assert!(message.contains(says), "{message}");

    // The server is up, refuses further writes with a reason, and serves reads.
    let next = i64::MAX / 2;
    let err = c
        .update("full/b", &batch(next), UpdateOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Server { .. }), "{err}");
    let err = err.to_string();
    assert!(err.contains(says) && err.contains("restart"), "{err}");
    c.ping().await.unwrap();
    // `stats` tells that the store has stopped accepting writes, and why.
    let stats = c.stats(0).await.unwrap();
    assert_eq!(stats["store"]["writable"], false, "{stats}");
    let reason = stats["store"]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains(says), "{stats}");
    let mut other = server.client().await;
    assert_eq!(read_ts(&mut other, "full/before").await, before);
    let present: BTreeSet<i64> = read_ts(&mut other, "full/a").await.into_iter().collect();
    assert!(present.is_superset(&acked), "acknowledged rows unreadable");
    let r = other
        .sql("SELECT t FROM full.before WHERE t >= 990 ORDER BY t")
        .await
        .unwrap();
    assert_eq!(ints(&r.batches, "t"), (990..1000).collect::<Vec<_>>());
    let k = other.klong("#(.df(\"full/before\"))?\"t\"").await.unwrap();
    assert_eq!(k.display.trim(), "1000");
    // Compactions that failed for lack of space left no temporary files behind.
    let leftovers: Vec<_> = std::fs::read_dir(data.join("full"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // Make room and restart: everything acknowledged is there, and writes work again.
    if let Space::Tmpfs(disk) = &space {
        std::fs::remove_file(disk.path.join("ballast")).unwrap();
    }
    drop((c, other));
    let status = server.terminate();
    eprintln!("server stopped: {status}");
    let server = ServerProc::start(data, &[]);
    let mut c = server.client().await;
    assert_eq!(c.stats(0).await.unwrap()["store"]["writable"], true);
    assert_eq!(read_ts(&mut c, "full/before").await, before);
    let ts = read_ts(&mut c, "full/a").await;
    assert!(ts.windows(2).all(|p| p[0] < p[1]), "not sorted and unique");
    let present: BTreeSet<i64> = ts.into_iter().collect();
    let lost: Vec<_> = acked.difference(&present).take(10).collect();
    assert!(lost.is_empty(), "acknowledged rows lost, e.g. {lost:?}");
    assert!(present.is_subset(&sent), "rows that were never sent");
    c.update("full/b", &batch(next), UpdateOptions::default())
        .await
        .unwrap();
    let batches = c.read("full/b", ReadOptions::default()).await.unwrap();
    assert_eq!(rows(&batches), BATCH as usize);
    // The server goes before the tmpfs is unmounted.
    drop(c);
    drop(server);
    drop(space);
}
