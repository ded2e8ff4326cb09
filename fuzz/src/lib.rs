//! What the fuzz targets share.

/// libfuzzer-sys makes every panic abort the process, even one that is caught. The Arrow IPC
/// decoder's panics are caught and turned into errors (see `kdfs_client::ipc`), so panics raised
/// in Arrow's code get a one-line message instead; the rest still abort. A panic in Arrow's code
/// that nothing catches is still reported: libfuzzer-sys aborts when one reaches the target's
/// edge.
pub fn quiet_caught_panics() {
    let abort = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if info
            .location()
            .is_some_and(|l| l.file().contains("/arrow-"))
        {
            eprintln!("{info}");
        } else {
            abort(info);
        }
    }));
}
