//! The running evaluation's deadline and interrupt flag, seen from inside primitives.
//!
//! The evaluator checks both every 256 steps ([`crate::interp::Interp::tick`]), but one step
//! can be a primitive over millions of elements: a chain of grades over a long vector, or
//! formatting or raising to a power every element of one, ran for minutes past a 200 ms
//! deadline (found by the `klong_eval` fuzz target). Primitives do not get the interpreter,
//! so the limits of the evaluation running on this thread are kept in thread-locals: a
//! primitive [`charge`]s the work it is about to do, and every [`CHECK_EVERY`] units of work
//! the clock and the flag are read.

use crate::error::{ErrorKind, KResult, err};
use std::cell::{Cell, RefCell};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// Units of work (about one element visited, or 64 bits of a big integer produced) between
/// two reads of the clock: small enough that the slowest loops charging one unit an element
/// (formatting, a few hundred ns each) check every millisecond or so, large enough that a
/// vector kernel, charged its length once, reads the clock for a few thousand elements.
pub const CHECK_EVERY: u64 = 4096;

/// What stops the evaluation running on this thread.
#[derive(Clone, Default)]
struct Limits {
    deadline: Option<Instant>,
    interrupt: Option<Arc<AtomicBool>>,
}

thread_local! {
    static WORK: Cell<u64> = const { Cell::new(0) };
    static LIMITS: RefCell<Limits> = const {
        RefCell::new(Limits { deadline: None, interrupt: None })
    };
}

/// Make `deadline` and `interrupt` the limits seen by [`charge`] on this thread until the
/// returned guard is dropped; the guard then puts back the limits it replaced, so nested
/// evaluations (a native function calling back into an interpreter) restore their caller's.
pub fn enter(deadline: Option<Instant>, interrupt: Arc<AtomicBool>) -> Guard {
    let limits = Limits {
        deadline,
        interrupt: Some(interrupt),
    };
    Guard {
        saved: LIMITS.replace(limits),
    }
}

/// Restores the limits [`enter`] replaced.
pub struct Guard {
    saved: Limits,
}

impl Drop for Guard {
    fn drop(&mut self) {
        LIMITS.set(std::mem::take(&mut self.saved));
    }
}

/// Account for `units` of work about to be done; fails with `Interrupted` once the deadline
/// has passed or the interrupt flag is set (the flag is then cleared, as the evaluator does).
#[inline]
pub fn charge(units: usize) -> KResult<()> {
    let work = WORK.get().saturating_add(units as u64);
    if work < CHECK_EVERY {
        WORK.set(work);
        return Ok(());
    }
    WORK.set(0);
    check()
}

#[cold]
fn check() -> KResult<()> {
    LIMITS.with_borrow(|l| {
        if let Some(flag) = &l.interrupt
            && flag.swap(false, Ordering::Relaxed)
        {
            return err(ErrorKind::Interrupted, "interrupted");
        }
        match l.deadline {
            Some(d) if Instant::now() >= d => {
                err(ErrorKind::Interrupted, "interrupted: time limit exceeded")
            }
            _ => Ok(()),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn charging_past_the_deadline_is_an_interruption() {
        let _g = enter(Some(Instant::now()), Arc::new(AtomicBool::new(false)));
        let e = charge(CHECK_EVERY as usize).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Interrupted);
    }

    #[test]
    fn charging_before_the_deadline_or_without_one_is_fine() {
        let far = Instant::now() + Duration::from_secs(3600);
        let _g = enter(Some(far), Arc::new(AtomicBool::new(false)));
        for _ in 0..3 {
            charge(CHECK_EVERY as usize).unwrap();
        }
        let _g = enter(None, Arc::new(AtomicBool::new(false)));
        charge(CHECK_EVERY as usize).unwrap();
    }

    #[test]
    fn the_interrupt_flag_stops_the_next_check_once() {
        let flag = Arc::new(AtomicBool::new(true));
        let _g = enter(None, flag.clone());
        let e = charge(CHECK_EVERY as usize).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Interrupted);
        assert!(!flag.load(Ordering::Relaxed));
        charge(CHECK_EVERY as usize).unwrap();
    }

    #[test]
    fn a_guard_restores_the_limits_it_replaced() {
        let _outer = enter(Some(Instant::now()), Arc::new(AtomicBool::new(false)));
        {
            let _inner = enter(None, Arc::new(AtomicBool::new(false)));
            charge(CHECK_EVERY as usize).unwrap();
        }
        let e = charge(CHECK_EVERY as usize).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Interrupted);
    }
}
