//! A websocket client that stays connected: reconnects with backoff whenever the source goes
//! away, and re-sends its auth and subscription each time.

use crate::backoff::Backoff;
use futures::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

/// Where and what to subscribe.
#[derive(Debug, Clone)]
pub struct UpstreamConfig {
    /// `ws://host:port`.
    pub uri: String,
    /// Comma-separated patterns to subscribe to; `None` receives everything.
    pub patterns: Option<String>,
    /// Token to authenticate with, if the source requires one.
    pub token: Option<String>,
    /// Reconnect delays.
    pub backoff: Backoff,
    /// Messages buffered between the socket and the consumer; when full, reading pauses and
    /// TCP pushes back on the source.
    pub queue: usize,
}

impl UpstreamConfig {
    /// Defaults for `uri`: everything, no token, 100 ms–5 s backoff, 1024 buffered messages.
    pub fn new(uri: &str) -> UpstreamConfig {
        UpstreamConfig {
            uri: uri.to_string(),
            patterns: None,
            token: None,
            backoff: Backoff::default(),
            queue: 1024,
        }
    }
}

/// What the consumer sees.
#[derive(Debug, Clone, PartialEq)]
pub enum UpstreamEvent {
    /// A connection (or reconnection) was established and the subscription sent.
    Connected,
    /// One text message from the source.
    Message(Utf8Bytes),
    /// The connection failed or ended; a reconnect follows after the given backoff.
    Disconnected(String),
}

/// Start the client task. It runs until the receiver is dropped.
pub fn spawn(cfg: UpstreamConfig) -> (mpsc::Receiver<UpstreamEvent>, JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(cfg.queue.max(1));
    let task = tokio::spawn(run(cfg, tx));
    (rx, task)
}

async fn run(cfg: UpstreamConfig, tx: mpsc::Sender<UpstreamEvent>) {
    let mut backoff = cfg.backoff.clone();
    loop {
        let reason = match session(&cfg, &tx, &mut backoff).await {
            Ok(()) => return, // consumer gone
            Err(reason) => reason,
        };
        let delay = backoff.next_delay();
        tracing::warn!(uri = %cfg.uri, "upstream: {reason}; reconnecting in {delay:?}");
        if tx.send(UpstreamEvent::Disconnected(reason)).await.is_err() {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = tx.closed() => return,
        }
    }
}

/// One connection's life. `Ok` means the consumer went away; `Err` is why the link ended.
async fn session(
    cfg: &UpstreamConfig,
    tx: &mpsc::Sender<UpstreamEvent>,
    backoff: &mut Backoff,
) -> Result<(), String> {
    let (ws, _) = tokio_tungstenite::connect_async(cfg.uri.as_str())
        .await
        .map_err(|e| format!("cannot connect to {}: {e}", cfg.uri))?;
    if let Ok(s) = ws.get_ref().get_ref_tcp() {
        let _ = s.set_nodelay(true);
    }
    let (mut sink, mut source) = ws.split();
    let send_err = |e: tokio_tungstenite::tungstenite::Error| format!("send failed: {e}");
    if let Some(t) = &cfg.token {
        let req = serde_json::json!({"action": "auth", "params": t}).to_string();
        sink.send(Message::Text(req.into()))
            .await
            .map_err(send_err)?;
    }
    // Always subscribe ("*" when no patterns): sources waiting for subscribers then know
    // this client's filter is in place before they start.
    let p = cfg.patterns.as_deref().unwrap_or("*");
    let req = serde_json::json!({"action": "subscribe", "params": p}).to_string();
    sink.send(Message::Text(req.into()))
        .await
        .map_err(send_err)?;
    tracing::info!(uri = %cfg.uri, "upstream connected");
    if tx.send(UpstreamEvent::Connected).await.is_err() {
        return Ok(());
    }
    let mut got_data = false;
    loop {
        let msg = tokio::select! {
            m = source.next() => m,
            _ = tx.closed() => return Ok(()),
        };
        let text = match msg {
            None => return Err("source closed the connection".into()),
            Some(Err(e)) => return Err(format!("receive failed: {e}")),
            Some(Ok(Message::Text(t))) => t,
            Some(Ok(Message::Binary(b))) => match Utf8Bytes::try_from(b) {
                Ok(t) => t,
                Err(_) => {
                    tracing::warn!("skipping a binary message that is not UTF-8 text");
                    continue;
                }
            },
            Some(Ok(Message::Close(f))) => {
                let why = f.map(|f| f.reason.to_string()).unwrap_or_default();
                return Err(format!("source closed the connection {why}")
                    .trim_end()
                    .to_string());
            }
            Some(Ok(_)) => continue,
        };
        if !got_data {
            // Only a link that delivered something counts as healthy; an immediate refusal
            // keeps backing off.
            got_data = true;
            backoff.reset();
        }
        if tx.send(UpstreamEvent::Message(text)).await.is_err() {
            return Ok(());
        }
    }
}

trait TcpRef {
    fn get_ref_tcp(&self) -> Result<&tokio::net::TcpStream, ()>;
}

impl TcpRef for tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream> {
    fn get_ref_tcp(&self) -> Result<&tokio::net::TcpStream, ()> {
        match self {
            tokio_tungstenite::MaybeTlsStream::Plain(s) => Ok(s),
            _ => Err(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::Batch;
    use crate::hub::{Hub, HubConfig};
    use crate::server::{ServeOptions, Server};
    use std::time::Duration;

    async fn next_msg(rx: &mut mpsc::Receiver<UpstreamEvent>) -> String {
        loop {
            match rx.recv().await {
                Some(UpstreamEvent::Message(m)) => return m.as_str().to_string(),
                Some(_) => continue,
                None => panic!("upstream ended"),
            }
        }
    }

    #[tokio::test]
    async fn subscribes_and_reconnects_after_server_restart() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hub = Hub::new(HubConfig::default());
        let server = Server::start(listener, hub.clone(), ServeOptions::default()).unwrap();
        let mut cfg = UpstreamConfig::new(&format!("ws://{addr}"));
        cfg.patterns = Some("AM.A".into());
        cfg.backoff = Backoff::new(Duration::from_millis(10), Duration::from_millis(50));
        let (mut rx, _task) = spawn(cfg);
        assert!(next_msg(&mut rx).await.contains("subscribed to: AM.A"));
        hub.publish(&Batch::parse(r#"[{"ev":"AM","sym":"B"},{"ev":"AM","sym":"A"}]"#).unwrap())
            .await;
        assert_eq!(next_msg(&mut rx).await, r#"[{"ev":"AM","sym":"A"}]"#);

        hub.close();
        server.shutdown(Duration::from_secs(5)).await;
        // Same port, new server: the client must find it again and re-subscribe.
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let hub = Hub::new(HubConfig::default());
        let _server = Server::start(listener, hub.clone(), ServeOptions::default()).unwrap();
        assert!(next_msg(&mut rx).await.contains("subscribed to: AM.A"));
        hub.wait_for_subscribers(1).await;
        hub.publish(&Batch::parse(r#"[{"ev":"AM","sym":"A","x":2}]"#).unwrap())
            .await;
        assert_eq!(next_msg(&mut rx).await, r#"[{"ev":"AM","sym":"A","x":2}]"#);
    }
}
