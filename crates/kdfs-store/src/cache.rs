//! Memory accounting for frame data, with least-recently-used eviction order.
//!
//! The cache does not own frame data (each frame keeps its own, under its own lock); it only
//! tracks how many bytes each loaded frame holds and in which order frames were used. Pinned
//! frames (`load`) count towards memory but are never offered for eviction.
//!
//! Lock order: a frame's lock may be held while calling into the cache, never the reverse.

use std::sync::Mutex;

use lru::LruCache;

use crate::key::KeyPath;

struct Inner {
    lru: LruCache<KeyPath, u64>,
    pinned: std::collections::HashMap<KeyPath, u64>,
    used: u64,
}

/// Byte accounting and eviction order for loaded frames.
pub(crate) struct Cache {
    inner: Mutex<Inner>,
    budget: u64,
}

impl Cache {
    pub(crate) fn new(budget: u64) -> Cache {
        Cache {
            inner: Mutex::new(Inner {
                lru: LruCache::unbounded(),
                pinned: Default::default(),
                used: 0,
            }),
            budget,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Accounting stays usable even if a panicking thread held the lock.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn budget(&self) -> u64 {
        self.budget
    }

    pub(crate) fn used(&self) -> u64 {
        self.lock().used
    }

    /// Bytes left before the budget is reached.
    pub(crate) fn free(&self) -> u64 {
        self.budget.saturating_sub(self.used())
    }

    /// Records that `key` holds `bytes` and was just used.
    pub(crate) fn touch(&self, key: &KeyPath, bytes: u64) {
        let mut g = self.lock();
        if let Some(b) = g.pinned.get_mut(key) {
            let old = std::mem::replace(b, bytes);
            g.used = g.used - old + bytes;
            return;
        }
        // A frame already tracked (every update of a hot frame) needs no copy of its key.
        let old = match g.lru.get_mut(key) {
            Some(b) => std::mem::replace(b, bytes),
            None => g.lru.put(key.clone(), bytes).unwrap_or(0),
        };
        g.used = g.used - old + bytes;
    }

    /// Pins `key` (never evicted) with `bytes`.
    pub(crate) fn pin(&self, key: &KeyPath, bytes: u64) {
        let mut g = self.lock();
        let old = g.lru.pop(key).or_else(|| g.pinned.remove(key)).unwrap_or(0);
        g.pinned.insert(key.clone(), bytes);
        g.used = g.used - old + bytes;
    }

    /// Forgets `key` entirely.
    pub(crate) fn remove(&self, key: &KeyPath) {
        let mut g = self.lock();
        let old = g.lru.pop(key).or_else(|| g.pinned.remove(key)).unwrap_or(0);
        g.used -= old;
    }

    /// The least recently used unpinned frame, if memory is over budget. It is removed from the
    /// accounting; the caller drops its data (or touches it again if it must stay).
    pub(crate) fn next_victim(&self) -> Option<KeyPath> {
        let mut g = self.lock();
        if g.used <= self.budget {
            return None;
        }
        let (key, bytes) = g.lru.pop_lru()?;
        g.used -= bytes;
        Some(key)
    }

    /// Loaded frames with their bytes.
    pub(crate) fn loaded(&self) -> Vec<(KeyPath, u64)> {
        let g = self.lock();
        let mut v: Vec<(KeyPath, u64)> = g
            .lru
            .iter()
            .map(|(k, b)| (k.clone(), *b))
            .chain(g.pinned.iter().map(|(k, b)| (k.clone(), *b)))
            .collect();
        v.sort();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(s: &str) -> KeyPath {
        KeyPath::parse(s).unwrap()
    }

    #[test]
    fn evicts_least_recently_used_first() {
        let c = Cache::new(100);
        c.touch(&k("a"), 40);
        c.touch(&k("b"), 40);
        c.pin(&k("p"), 10);
        assert_eq!(c.next_victim(), None);
        c.touch(&k("a"), 40); // a is now most recent
        c.touch(&k("c"), 40);
        assert_eq!(c.used(), 130);
        assert_eq!(c.next_victim(), Some(k("b")));
        assert_eq!(c.next_victim(), None);
        c.remove(&k("a"));
        assert_eq!(c.used(), 50);
        assert_eq!(c.loaded(), vec![(k("c"), 40), (k("p"), 10)]);
    }
}
