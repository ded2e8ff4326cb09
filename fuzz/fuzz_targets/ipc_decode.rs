//! Arbitrary bytes as the Arrow IPC payload of an update (or a `Batch` reply): decoding must
//! give batches or an error, and what it gives must survive what the server does next:
//! joining the batches into one (updates) and encoding them again (reads).
#![no_main]

use arrow::compute::concat_batches;
use kdfs_client::ipc;
use libfuzzer_sys::fuzz_target;

fuzz_target!(init: kdfs_fuzz::quiet_caught_panics(), |data: &[u8]| {
    let Ok((schema, batches)) = ipc::decode(data) else {
        return;
    };
    // Decoded batches were validated, so joining and re-encoding them may fail with an error
    // but must not panic.
    if let Ok(joined) = concat_batches(&schema, &batches) {
        let _ = ipc::encode_batch(&joined);
    }
    if let Ok(bytes) = ipc::encode(&schema, &batches) {
        let (schema_again, batches_again) =
            ipc::decode(&bytes).expect("what was encoded decodes again");
        assert_eq!(schema_again, schema);
        assert_eq!(batches_again.len(), batches.len());
    }
});
