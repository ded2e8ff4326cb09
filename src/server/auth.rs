//! Token check of the handshake.

/// Why a handshake's token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The server requires a token and the client sent none.
    Missing,
    /// The client's token is not the server's.
    Wrong,
}

/// Check the token a client presented against the server's (`None`: no token required).
pub fn check(expected: Option<&str>, presented: Option<&str>) -> Result<(), Refusal> {
    match (expected, presented) {
        (None, _) => Ok(()),
        (Some(_), None) => Err(Refusal::Missing),
        (Some(expected), Some(presented)) => {
            if fixed_time_eq(expected.as_bytes(), presented.as_bytes()) {
                Ok(())
            } else {
                Err(Refusal::Wrong)
            }
        }
    }
}

/// Byte equality whose running time depends only on the lengths, not on where the first
/// difference is, so a client cannot find the token byte by byte by timing refusals. (The
/// length itself is not secret enough to protect: tokens should be long and random.)
fn fixed_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b) {
        diff |= x ^ y;
    }
    // Keep the optimizer from turning the loop into an early-exit comparison.
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_compared_exactly() {
        assert_eq!(check(None, None), Ok(()));
        assert_eq!(check(None, Some("x")), Ok(()));
        assert_eq!(check(Some("s3cret"), Some("s3cret")), Ok(()));
        assert_eq!(check(Some("s3cret"), None), Err(Refusal::Missing));
        assert_eq!(check(Some("s3cret"), Some("s3creT")), Err(Refusal::Wrong));
        assert_eq!(check(Some("s3cret"), Some("s3cre")), Err(Refusal::Wrong));
        assert_eq!(check(Some("s3cret"), Some("s3cret ")), Err(Refusal::Wrong));
        assert_eq!(check(Some("s3cret"), Some("")), Err(Refusal::Wrong));
    }
}
