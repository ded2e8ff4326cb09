//! Accepting websocket subscribers and serving them from a [`Hub`].

use crate::hub::{Hub, Subscription};
use crate::pattern::Filter;
use crate::protocol::{Outcome, Session};
use futures::{SinkExt, StreamExt};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// How connections are served.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    /// Require `{"action":"auth","params":TOKEN}` before sending data.
    pub token: Option<String>,
    /// `Some`: no handshake; every client gets exactly this filter (the Grafana relay).
    pub fixed: Option<Filter>,
}

/// A running websocket server.
pub struct Server {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// Most messages written to a socket before flushing; batching writes saves syscalls when a
/// subscriber has a backlog, while an idle subscriber still gets each message immediately.
const WRITE_BATCH: usize = 64;

impl Server {
    /// Serve `hub` on an already bound listener.
    pub fn start(
        listener: TcpListener,
        hub: Arc<Hub>,
        opts: ServeOptions,
    ) -> std::io::Result<Server> {
        let addr = listener.local_addr()?;
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            let mut conns = JoinSet::new();
            loop {
                tokio::select! {
                    _ = stopped.changed() => break,
                    acc = listener.accept() => match acc {
                        Ok((stream, peer)) => {
                            let hub = hub.clone();
                            let opts = opts.clone();
                            conns.spawn(async move {
                                if let Err(e) = serve(stream, hub, opts).await {
                                    tracing::info!(%peer, "connection ended: {e}");
                                }
                            });
                        }
                        Err(e) => {
                            // Typically out of file descriptors; back off instead of spinning.
                            tracing::warn!("accept failed: {e}; retrying");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    },
                    Some(_) = conns.join_next(), if !conns.is_empty() => {}
                }
            }
            drop(listener);
            while conns.join_next().await.is_some() {}
        });
        Ok(Server { addr, stop, task })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stop accepting and wait up to `grace` for connections to flush their queues (call
    /// [`Hub::close`] first so they know to finish); abort whatever remains.
    pub async fn shutdown(self, grace: Duration) {
        let _ = self.stop.send(true);
        let abort = self.task.abort_handle();
        if tokio::time::timeout(grace, self.task).await.is_err() {
            tracing::warn!("connections did not finish within {grace:?}; closing them");
            abort.abort();
        }
    }
}

fn close_frame(reason: &str) -> Message {
    Message::Close(Some(CloseFrame {
        code: CloseCode::Away,
        reason: reason.into(),
    }))
}

async fn serve(stream: TcpStream, hub: Arc<Hub>, opts: ServeOptions) -> Result<(), String> {
    let _ = stream.set_nodelay(true);
    let ws = tokio_tungstenite::accept_async(stream)
        .await
        .map_err(|e| format!("websocket handshake failed: {e}"))?;
    let (mut sink, mut source) = ws.split();
    let mut session = Session::new(opts.token.clone());
    let mut sub: Subscription = match &opts.fixed {
        Some(f) => hub.subscribe(f.clone(), true),
        None => hub.subscribe(Filter::All, session.authed()),
    };
    tracing::debug!(subscriber = sub.id(), "client connected");
    let err = |e: tokio_tungstenite::tungstenite::Error| format!("send failed: {e}");
    loop {
        tokio::select! {
            msg = sub.recv() => match msg {
                Some(m) => {
                    sink.feed(Message::Text(m)).await.map_err(err)?;
                    for _ in 1..WRITE_BATCH {
                        match sub.try_recv() {
                            Some(m) => sink.feed(Message::Text(m)).await.map_err(err)?,
                            None => break,
                        }
                    }
                    sink.flush().await.map_err(err)?;
                }
                None => {
                    // The hub closed (shutdown) or cut us off (too slow): say so, then go.
                    let _ = sink.send(close_frame("feed ended or subscriber too slow; reconnect")).await;
                    return Ok(());
                }
            },
            incoming = source.next() => match incoming {
                None => return Ok(()),
                Some(Err(e)) => return Err(format!("receive failed: {e}")),
                Some(Ok(Message::Close(_))) => return Ok(()),
                Some(Ok(Message::Text(t))) if opts.fixed.is_none() => {
                    match session.handle(t.as_str()) {
                        Outcome::Reply(r) => sink.send(Message::Text(r.into())).await.map_err(err)?,
                        Outcome::Changed(r) => {
                            sub.update(session.filter().clone(), session.authed());
                            tracing::info!(subscriber = sub.id(), filter = %session.filter(), "subscription changed");
                            sink.send(Message::Text(r.into())).await.map_err(err)?;
                        }
                        Outcome::Refuse(r) => {
                            tracing::warn!(subscriber = sub.id(), "refused: wrong token");
                            sink.send(Message::Text(r.into())).await.map_err(err)?;
                            let _ = sink.send(close_frame("authentication failed")).await;
                            return Ok(());
                        }
                    }
                }
                // Pings are answered by tungstenite; other frames carry nothing for us.
                Some(Ok(_)) => {}
            },
        }
    }
}
