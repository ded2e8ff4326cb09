//! Fan-out of messages to websocket subscribers, each with a bounded queue.
//!
//! Publishing never drops a message silently. A subscriber whose queue is full makes the
//! publisher wait (backpressure up to the source); if it stays full for longer than
//! [`HubConfig::slow_timeout`] the subscriber is cut off with a warning naming it, and its
//! connection is closed so the client knows (and can reconnect) rather than silently missing
//! data, as the Python feeders did.

use crate::batch::{Batch, join};
use crate::pattern::Filter;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// Hub tuning.
#[derive(Debug, Clone, Copy)]
pub struct HubConfig {
    /// Messages a subscriber may have queued before the publisher waits for it.
    pub queue: usize,
    /// How long the publisher waits for a full queue before cutting the subscriber off.
    pub slow_timeout: Duration,
}

impl Default for HubConfig {
    fn default() -> Self {
        HubConfig {
            queue: 4096,
            slow_timeout: Duration::from_secs(5),
        }
    }
}

/// Counters for logs and benchmarks.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct HubStats {
    /// Batches published.
    pub published: u64,
    /// Messages queued to subscribers.
    pub delivered: u64,
    /// Subscribers cut off for being too slow.
    pub slow_dropped: u64,
}

struct Sub {
    tx: mpsc::Sender<Utf8Bytes>,
    filter: Filter,
    active: bool,
    /// Has sent a subscribe request (see [`Hub::wait_for_subscribed`]).
    explicit: bool,
}

struct Inner {
    subs: HashMap<u64, Sub>,
    closed: bool,
}

/// The fan-out point. Share it as `Arc<Hub>`.
pub struct Hub {
    inner: Mutex<Inner>,
    cfg: HubConfig,
    next_id: AtomicU64,
    count: watch::Sender<usize>,
    explicit: watch::Sender<usize>,
    published: AtomicU64,
    delivered: AtomicU64,
    slow_dropped: AtomicU64,
}

/// A subscriber's end: receives the messages addressed to it. Dropping it unsubscribes.
pub struct Subscription {
    id: u64,
    rx: mpsc::Receiver<Utf8Bytes>,
    hub: Arc<Hub>,
}

impl Hub {
    /// A new hub.
    pub fn new(cfg: HubConfig) -> Arc<Hub> {
        Arc::new(Hub {
            inner: Mutex::new(Inner {
                subs: HashMap::new(),
                closed: false,
            }),
            cfg: HubConfig {
                queue: cfg.queue.max(1),
                ..cfg
            },
            next_id: AtomicU64::new(1),
            count: watch::channel(0).0,
            explicit: watch::channel(0).0,
            published: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            slow_dropped: AtomicU64::new(0),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves only plain data behind; keep serving.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn recount(&self, inner: &Inner) {
        let n = inner.subs.values().filter(|s| s.active).count();
        self.count.send_replace(n);
        let n = inner
            .subs
            .values()
            .filter(|s| s.active && s.explicit)
            .count();
        self.explicit.send_replace(n);
    }

    /// Register a subscriber. Inactive subscribers (not yet authenticated) receive nothing.
    /// After [`Hub::close`] the subscription ends immediately.
    pub fn subscribe(self: &Arc<Self>, filter: Filter, active: bool) -> Subscription {
        let (tx, rx) = mpsc::channel(self.cfg.queue);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut inner = self.lock();
        if !inner.closed {
            inner.subs.insert(
                id,
                Sub {
                    tx,
                    filter,
                    active,
                    explicit: false,
                },
            );
            self.recount(&inner);
        }
        Subscription {
            id,
            rx,
            hub: self.clone(),
        }
    }

    fn update(&self, id: u64, filter: Filter, active: bool) {
        let mut inner = self.lock();
        if let Some(s) = inner.subs.get_mut(&id) {
            s.filter = filter;
            s.active = active;
            s.explicit = true;
        }
        self.recount(&inner);
    }

    fn remove(&self, id: u64) -> bool {
        let mut inner = self.lock();
        let had = inner.subs.remove(&id).is_some();
        self.recount(&inner);
        had
    }

    /// Active subscribers now.
    pub fn subscribers(&self) -> usize {
        *self.count.borrow()
    }

    /// Wait until at least `n` subscribers are active.
    pub async fn wait_for_subscribers(&self, n: usize) {
        let mut rx = self.count.subscribe();
        // The sender lives as long as the hub, which we borrow, so this cannot fail.
        let _ = rx.wait_for(|c| *c >= n).await;
    }

    /// Wait until at least `n` active subscribers have sent a subscribe request, so a source
    /// started with a fixed `--count` does not publish before their filters are in place.
    pub async fn wait_for_subscribed(&self, n: usize) {
        let mut rx = self.explicit.subscribe();
        let _ = rx.wait_for(|c| *c >= n).await;
    }

    /// Deliver a batch to every active subscriber whose filter matches some of its events.
    /// Waits while a subscriber's queue is full, up to the slow timeout.
    pub async fn publish(&self, batch: &Batch) {
        self.published.fetch_add(1, Ordering::Relaxed);
        let targets: Vec<(u64, mpsc::Sender<Utf8Bytes>, Utf8Bytes)> = {
            let inner = self.lock();
            inner
                .subs
                .iter()
                .filter(|(_, s)| s.active)
                .filter_map(|(id, s)| {
                    let msg = if s.filter.is_all() {
                        batch.text.clone()
                    } else {
                        let picked: Vec<_> = batch
                            .events
                            .iter()
                            .filter(|e| s.filter.matches(e))
                            .collect();
                        if picked.is_empty() {
                            return None;
                        }
                        if picked.len() == batch.events.len() {
                            batch.text.clone()
                        } else {
                            join(picked).into()
                        }
                    };
                    Some((*id, s.tx.clone(), msg))
                })
                .collect()
        };
        for (id, tx, msg) in targets {
            let sent = match tx.try_send(msg) {
                Ok(()) => true,
                Err(mpsc::error::TrySendError::Closed(_)) => false,
                Err(mpsc::error::TrySendError::Full(msg)) => {
                    match tokio::time::timeout(self.cfg.slow_timeout, tx.send(msg)).await {
                        Ok(Ok(())) => true,
                        Ok(Err(_)) => false,
                        Err(_) => {
                            if self.remove(id) {
                                self.slow_dropped.fetch_add(1, Ordering::Relaxed);
                                tracing::warn!(
                                    subscriber = id,
                                    queue = self.cfg.queue,
                                    "disconnecting slow subscriber: its queue stayed full for {:?}; it must reconnect",
                                    self.cfg.slow_timeout
                                );
                            }
                            false
                        }
                    }
                }
            };
            if sent {
                self.delivered.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Stop: every subscription ends once it has drained what was already queued.
    pub fn close(&self) {
        let mut inner = self.lock();
        inner.closed = true;
        inner.subs.clear();
        self.recount(&inner);
    }

    /// Counters so far.
    pub fn stats(&self) -> HubStats {
        HubStats {
            published: self.published.load(Ordering::Relaxed),
            delivered: self.delivered.load(Ordering::Relaxed),
            slow_dropped: self.slow_dropped.load(Ordering::Relaxed),
        }
    }
}

impl Subscription {
    /// This subscriber's id (for logs).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The next message; `None` when the hub closed or cut this subscriber off.
    pub async fn recv(&mut self) -> Option<Utf8Bytes> {
        self.rx.recv().await
    }

    /// A message if one is queued right now (to batch socket writes).
    pub fn try_recv(&mut self) -> Option<Utf8Bytes> {
        self.rx.try_recv().ok()
    }

    /// Change what this subscriber receives and whether it receives anything.
    pub fn update(&self, filter: Filter, active: bool) {
        self.hub.update(self.id, filter, active);
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.hub.remove(self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(syms: &[&str]) -> Batch {
        let text = syms
            .iter()
            .map(|s| format!(r#"{{"ev":"AM","sym":"{s}"}}"#))
            .collect::<Vec<_>>()
            .join(",");
        Batch::parse(&format!("[{text}]")).unwrap()
    }

    fn cfg(queue: usize, ms: u64) -> HubConfig {
        HubConfig {
            queue,
            slow_timeout: Duration::from_millis(ms),
        }
    }

    #[tokio::test]
    async fn filters_per_subscriber() {
        let hub = Hub::new(HubConfig::default());
        let mut all = hub.subscribe(Filter::All, true);
        let mut a = hub.subscribe(Filter::parse("AM.A").unwrap(), true);
        let mut c = hub.subscribe(Filter::parse("AM.C").unwrap(), true);
        hub.publish(&batch(&["A", "B"])).await;
        assert_eq!(
            all.recv().await.unwrap().as_str(),
            batch(&["A", "B"]).text.as_str()
        );
        assert_eq!(
            a.recv().await.unwrap().as_str(),
            r#"[{"ev":"AM","sym":"A"}]"#
        );
        hub.close();
        assert!(c.recv().await.is_none(), "C got a message with no C events");
    }

    #[tokio::test]
    async fn inactive_subscribers_get_nothing_until_activated() {
        let hub = Hub::new(HubConfig::default());
        let mut s = hub.subscribe(Filter::All, false);
        assert_eq!(hub.subscribers(), 0);
        hub.publish(&batch(&["A"])).await;
        s.update(Filter::All, true);
        assert_eq!(hub.subscribers(), 1);
        hub.publish(&batch(&["B"])).await;
        assert!(s.recv().await.unwrap().as_str().contains("\"B\""));
    }

    #[tokio::test]
    async fn full_queue_applies_backpressure_without_loss() {
        let hub = Hub::new(cfg(2, 10_000));
        let mut s = hub.subscribe(Filter::All, true);
        let h = hub.clone();
        let producer = tokio::spawn(async move {
            for i in 0..50 {
                h.publish(&batch(&[&i.to_string()])).await;
            }
            h.close();
        });
        let mut got = Vec::new();
        while let Some(m) = s.recv().await {
            got.push(m.as_str().to_string());
        }
        producer.await.unwrap();
        assert_eq!(got.len(), 50);
        assert!(got[49].contains("\"49\""));
        assert_eq!(hub.stats().slow_dropped, 0);
    }

    #[tokio::test]
    async fn stuck_subscriber_is_cut_off_and_others_continue() {
        let hub = Hub::new(cfg(1, 20));
        let stuck = hub.subscribe(Filter::All, true);
        let mut live = hub.subscribe(Filter::All, true);
        for i in 0..3 {
            hub.publish(&batch(&[&i.to_string()])).await;
            assert!(live.recv().await.is_some());
        }
        assert_eq!(hub.stats().slow_dropped, 1);
        assert_eq!(hub.subscribers(), 1);
        drop(stuck);
        assert_eq!(hub.stats().published, 3);
    }

    #[tokio::test]
    async fn dropping_a_subscription_unregisters() {
        let hub = Hub::new(HubConfig::default());
        let s = hub.subscribe(Filter::All, true);
        assert_eq!(hub.subscribers(), 1);
        drop(s);
        assert_eq!(hub.subscribers(), 0);
        let waiter = {
            let h = hub.clone();
            tokio::spawn(async move { h.wait_for_subscribers(1).await })
        };
        let s = hub.subscribe(Filter::All, true);
        waiter.await.unwrap();
        let waiter = {
            let h = hub.clone();
            tokio::spawn(async move { h.wait_for_subscribed(1).await })
        };
        s.update(Filter::parse("AM.X").unwrap(), true);
        waiter.await.unwrap();
    }
}
