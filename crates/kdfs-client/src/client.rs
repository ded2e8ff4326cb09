//! [`Client`]: one async connection to a kdfs server, one method per request.

use arrow::datatypes::{Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use futures::{SinkExt, StreamExt};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

use crate::codec::ClientCodec;
use crate::error::ClientError;
use crate::ipc;
use crate::protocol::{
    DEFAULT_MAX_FRAME, ErrorKind, KeyEntry, PROTOCOL_VERSION, Request, RequestFrame, Response,
    ResponseFrame,
};
use crate::transport::BoxSocket;

/// Connection settings.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Access token sent in the handshake.
    pub token: Option<String>,
    /// Largest frame accepted or sent, in bytes (default 256 MiB).
    pub max_frame: usize,
    /// Give up on a request (and drop the connection) after this long; `None` waits forever.
    pub timeout: Option<Duration>,
    /// Name sent in the handshake, shown in the server's log.
    pub client_name: String,
    /// Connect with TLS (default: plain TCP).
    #[cfg(feature = "tls")]
    pub tls: Option<crate::tls::TlsOptions>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            token: None,
            max_frame: DEFAULT_MAX_FRAME,
            timeout: None,
            client_name: format!("kdfs-client {}", env!("CARGO_PKG_VERSION")),
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

/// How [`Client::update`] merges rows.
#[derive(Debug, Clone)]
pub struct UpdateOptions {
    /// Index column name (default `t`).
    pub index: String,
    /// Replace rows whose index is already stored (default: keep the stored row).
    pub upsert: bool,
}

impl Default for UpdateOptions {
    fn default() -> Self {
        UpdateOptions {
            index: "t".to_string(),
            upsert: false,
        }
    }
}

/// Result of an update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UpdateSummary {
    /// Rows with a new index value.
    pub inserted: u64,
    /// Rows that replaced stored ones.
    pub replaced: u64,
    /// Rows dropped because their index was already stored.
    pub ignored: u64,
    /// Rows in the frame afterwards.
    pub rows: u64,
}

impl UpdateSummary {
    /// The summary carried by an `Updated` response.
    pub(crate) fn from_response(response: Response) -> Result<UpdateSummary, ClientError> {
        match response {
            Response::Updated {
                inserted,
                replaced,
                ignored,
                rows,
            } => Ok(UpdateSummary {
                inserted,
                replaced,
                ignored,
                rows,
            }),
            other => Err(unexpected("updated", &other)),
        }
    }
}

/// What [`Client::read`] returns.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Smallest index value (inclusive).
    pub start: Option<i64>,
    /// Largest index value (inclusive).
    pub end: Option<i64>,
    /// Columns to return (the index column is always included).
    pub columns: Option<Vec<String>>,
    /// Row-number range `[from, to)` within the selected index range.
    pub rows: Option<(u64, u64)>,
}

/// A streamed tabular result (reads and SQL queries).
#[derive(Debug, Clone)]
pub struct TableResult {
    /// Schema of the result (known even when there are no rows).
    pub schema: SchemaRef,
    /// The rows.
    pub batches: Vec<RecordBatch>,
    /// Server-side time.
    pub elapsed: Duration,
}

impl TableResult {
    /// Total number of rows.
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(|b| b.num_rows()).sum()
    }
}

/// Result of a SQL query.
pub type SqlResult = TableResult;

/// Result of a Klong evaluation.
#[derive(Debug, Clone)]
pub struct KlongResult {
    /// The value as Klong displays it.
    pub display: String,
    /// The value as a table, when it converts to one.
    pub batches: Option<Vec<RecordBatch>>,
    /// Server-side time.
    pub elapsed: Duration,
}

/// One connection to a kdfs server.
///
/// Methods take `&mut self` and run one request at a time. To keep many requests in flight on
/// one connection (much faster for small updates, which then share the server's commits), use
/// [`Client::pipeline`] or [`Client::update_many`]; the server answers in request order.
#[derive(Debug)]
pub struct Client {
    framed: Framed<BoxSocket, ClientCodec>,
    next_id: u64,
    server: String,
    timeout: Option<Duration>,
    broken: bool,
    /// Set while [`Client::call`], a table call or a [`Pipeline`](crate::Pipeline) runs;
    /// still set afterwards only if its caller gave up (dropped it) before the answers, e.g.
    /// on Ctrl-C.
    pub(crate) abandoned: bool,
}

/// Whether a reply's length prefix is really the start of a TLS record (content type 20–23,
/// protocol version 3.x): the server speaks TLS and this client does not.
fn is_tls_record(prefix: u64) -> bool {
    let content_type = prefix >> 24;
    let major = (prefix >> 16) & 0xff;
    (20..=23).contains(&content_type) && major == 3
}

/// The connection's byte stream: TLS over `stream` if the options ask for it.
#[cfg(feature = "tls")]
async fn secure(
    options: &ClientOptions,
    addr: &str,
    stream: TcpStream,
) -> Result<BoxSocket, ClientError> {
    match &options.tls {
        Some(tls) => Ok(Box::new(tls.connect(addr, stream).await?)),
        None => Ok(Box::new(stream)),
    }
}

/// The connection's byte stream (plain TCP: built without the `tls` feature).
#[cfg(not(feature = "tls"))]
async fn secure(
    _options: &ClientOptions,
    _addr: &str,
    stream: TcpStream,
) -> Result<BoxSocket, ClientError> {
    Ok(Box::new(stream))
}

impl Client {
    /// Connect to `addr` (`host:port`) with default options and do the handshake.
    pub async fn connect(addr: &str) -> Result<Client, ClientError> {
        Client::connect_with(addr, ClientOptions::default()).await
    }

    /// Connect to `addr` (`host:port`) and do the handshake.
    pub async fn connect_with(addr: &str, options: ClientOptions) -> Result<Client, ClientError> {
        let connect = async {
            let stream = TcpStream::connect(addr).await?;
            // Requests are small and latency-bound; do not let Nagle hold them back.
            stream.set_nodelay(true)?;
            secure(&options, addr, stream).await
        };
        let stream = match options.timeout {
            Some(t) => tokio::time::timeout(t, connect)
                .await
                .map_err(|_| ClientError::Timeout)??,
            None => connect.await?,
        };
        let mut client = Client {
            framed: Framed::new(stream, ClientCodec::with_max_frame(options.max_frame)),
            next_id: 1,
            server: String::new(),
            timeout: options.timeout,
            broken: false,
            abandoned: false,
        };
        let hello = Request::Hello {
            version: PROTOCOL_VERSION,
            client: options.client_name.clone(),
            token: options.token.clone(),
        };
        match client.call(hello).await {
            Ok(Response::Hello { version, server }) if version == PROTOCOL_VERSION => {
                client.server = server;
                Ok(client)
            }
            Ok(Response::Hello { version, server }) => Err(ClientError::VersionMismatch {
                client: PROTOCOL_VERSION,
                message: format!("server {server} speaks protocol version {version}"),
            }),
            Ok(other) => Err(unexpected("hello", &other)),
            Err(ClientError::Server {
                kind: ErrorKind::Protocol,
                message,
            }) => Err(ClientError::VersionMismatch {
                client: PROTOCOL_VERSION,
                message,
            }),
            Err(ClientError::TooLarge { size, .. }) if is_tls_record(size) => {
                Err(ClientError::Tls(format!(
                    "the server at {addr} speaks TLS: connect with TLS (--tls-ca FILE)"
                )))
            }
            Err(e) => Err(e),
        }
    }

    /// The server's name and version from the handshake.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// Whether the connection is unusable (socket error, timeout, protocol violation, closed).
    pub fn is_broken(&self) -> bool {
        self.broken
    }

    /// Whether a request was given up before its answer arrived (its future, or a pipeline
    /// before [`Pipeline::finish`](crate::Pipeline::finish), was dropped).
    /// The server is still working on it; a pool closes such a connection rather than reuse
    /// it, and closing it makes the server stop a streaming query early.
    pub fn is_abandoned(&self) -> bool {
        self.abandoned
    }

    /// Send a request without waiting for the answer; returns its id.
    pub async fn send(&mut self, request: Request) -> Result<u64, ClientError> {
        let id = self.feed(request).await?;
        self.flush().await?;
        Ok(id)
    }

    /// Queue a request without flushing it to the socket (see [`Client::flush`]); returns its id.
    pub(crate) async fn feed(&mut self, request: Request) -> Result<u64, ClientError> {
        if self.broken {
            return Err(ClientError::Closed);
        }
        let id = self.next_id;
        // Id 0 is reserved for the server's connection-level errors.
        self.next_id = self.next_id.checked_add(1).unwrap_or(1);
        match self.framed.feed(RequestFrame { id, request }).await {
            Ok(()) => Ok(id),
            Err(e) => Err(self.send_failed(e.into())),
        }
    }

    /// Write queued requests to the socket.
    pub(crate) async fn flush(&mut self) -> Result<(), ClientError> {
        if self.broken {
            return Err(ClientError::Closed);
        }
        match SinkExt::<RequestFrame>::flush(&mut self.framed).await {
            Ok(()) => Ok(()),
            Err(e) => Err(self.send_failed(e.into())),
        }
    }

    /// Marks the connection broken unless `e` only refused an oversized request (refused
    /// before any byte is written, so the connection is still in sync).
    fn send_failed(&mut self, e: ClientError) -> ClientError {
        if !matches!(e, ClientError::TooLarge { .. }) {
            self.broken = true;
        }
        e
    }

    /// Receive the next response frame, whatever request it answers.
    pub async fn recv(&mut self) -> Result<ResponseFrame, ClientError> {
        if self.broken {
            return Err(ClientError::Closed);
        }
        let next = match self.timeout {
            Some(t) => match tokio::time::timeout(t, self.framed.next()).await {
                Ok(next) => next,
                Err(_) => {
                    self.broken = true;
                    return Err(ClientError::Timeout);
                }
            },
            None => self.framed.next().await,
        };
        match next {
            Some(Ok(frame)) => Ok(frame),
            Some(Err(e)) => {
                self.broken = true;
                Err(e.into())
            }
            None => {
                self.broken = true;
                Err(ClientError::Closed)
            }
        }
    }

    /// Receive the next response to request `id`; an error response becomes `Err`.
    pub(crate) async fn recv_for(&mut self, id: u64) -> Result<Response, ClientError> {
        loop {
            let frame = self.recv().await?;
            if frame.id == 0
                && let Response::Error { kind, message } = frame.response
            {
                // Id 0: about the connection itself (busy, undecodable frame); it closes next.
                self.broken = true;
                return Err(ClientError::Server { kind, message });
            }
            if frame.id != id {
                // Left over from a request whose caller gave up; skip it.
                tracing::debug!(got = frame.id, want = id, "skipping stale response");
                continue;
            }
            return match frame.response {
                Response::Error { kind, message } => {
                    if matches!(kind, ErrorKind::Protocol | ErrorKind::Busy) {
                        // The server closes after these.
                        self.broken = true;
                    }
                    Err(ClientError::Server { kind, message })
                }
                other => Ok(other),
            };
        }
    }

    /// Send `request` and wait for its single response.
    pub async fn call(&mut self, request: Request) -> Result<Response, ClientError> {
        self.abandoned = true;
        let id = self.send(request).await;
        let result = match id {
            Ok(id) => self.recv_for(id).await,
            Err(e) => Err(e),
        };
        self.abandoned = false;
        result
    }

    /// Send `request` and collect a `Batch`… `End` stream.
    async fn call_table(&mut self, request: Request) -> Result<TableResult, ClientError> {
        self.abandoned = true;
        let result = self.collect_table(request).await;
        self.abandoned = false;
        result
    }

    /// [`Client::call_table`] without the bookkeeping.
    async fn collect_table(&mut self, request: Request) -> Result<TableResult, ClientError> {
        let id = self.send(request).await?;
        let mut schema: Option<SchemaRef> = None;
        let mut batches = Vec::new();
        loop {
            match self.recv_for(id).await? {
                Response::Batch { ipc } => {
                    let (s, mut b) = ipc::decode_vec(ipc)?;
                    schema.get_or_insert(s);
                    batches.append(&mut b);
                }
                Response::End { elapsed_us, .. } => {
                    return Ok(TableResult {
                        schema: schema.unwrap_or_else(|| Arc::new(Schema::empty())),
                        batches,
                        elapsed: Duration::from_micros(elapsed_us),
                    });
                }
                other => return Err(unexpected("batch or end", &other)),
            }
        }
    }

    /// Check the server is alive.
    pub async fn ping(&mut self) -> Result<(), ClientError> {
        match self.call(Request::Ping).await? {
            Response::Pong => Ok(()),
            other => Err(unexpected("pong", &other)),
        }
    }

    /// Merge `batch` into frame `key` (created if absent). Returns once the rows are durable.
    pub async fn update(
        &mut self,
        key: &str,
        batch: &RecordBatch,
        options: UpdateOptions,
    ) -> Result<UpdateSummary, ClientError> {
        self.update_batches(key, std::slice::from_ref(batch), options)
            .await
    }

    /// Merge several batches (same schema) into frame `key` in one request.
    pub async fn update_batches(
        &mut self,
        key: &str,
        batches: &[RecordBatch],
        options: UpdateOptions,
    ) -> Result<UpdateSummary, ClientError> {
        let Some(first) = batches.first() else {
            return Err(ClientError::Protocol(
                "update needs at least one batch".into(),
            ));
        };
        let ipc = ipc::encode(&first.schema(), batches)?;
        let request = Request::Update {
            key: key.to_string(),
            index: options.index,
            upsert: options.upsert,
            ipc,
        };
        let response = self.call(request).await?;
        UpdateSummary::from_response(response)
    }

    /// Read frame `key` (optionally a range / some columns).
    pub async fn read(
        &mut self,
        key: &str,
        options: ReadOptions,
    ) -> Result<Vec<RecordBatch>, ClientError> {
        Ok(self.read_table(key, options).await?.batches)
    }

    /// Like [`Client::read`], also returning the schema (known even for an empty result).
    pub async fn read_table(
        &mut self,
        key: &str,
        options: ReadOptions,
    ) -> Result<TableResult, ClientError> {
        self.call_table(Request::Read {
            key: key.to_string(),
            start: options.start,
            end: options.end,
            columns: options.columns,
            rows: options.rows,
        })
        .await
    }

    /// Server statistics at `level` 0, 1 or 2.
    pub async fn stats(&mut self, level: u8) -> Result<serde_json::Value, ClientError> {
        match self.call(Request::Stats { level }).await? {
            Response::Stats { json } => serde_json::from_str(&json)
                .map_err(|e| ClientError::Protocol(format!("stats are not valid JSON: {e}"))),
            other => Err(unexpected("stats", &other)),
        }
    }

    /// Stored keys starting with `prefix`.
    pub async fn list_keys(&mut self, prefix: &str) -> Result<Vec<KeyEntry>, ClientError> {
        match self
            .call(Request::ListKeys {
                prefix: prefix.to_string(),
            })
            .await?
        {
            Response::Keys { keys } => Ok(keys),
            other => Err(unexpected("keys", &other)),
        }
    }

    /// Delete frame `key`.
    pub async fn delete(&mut self, key: &str) -> Result<(), ClientError> {
        self.expect_done(Request::Delete {
            key: key.to_string(),
        })
        .await
    }

    /// Load frame `key` into the server's memory and keep it there.
    pub async fn load(&mut self, key: &str) -> Result<(), ClientError> {
        self.expect_done(Request::Load {
            key: key.to_string(),
        })
        .await
    }

    /// Drop frame `key` from the server's memory (it stays on disk).
    pub async fn unload(&mut self, key: &str) -> Result<(), ClientError> {
        self.expect_done(Request::Unload {
            key: key.to_string(),
        })
        .await
    }

    /// Run a SQL query.
    pub async fn sql(&mut self, query: &str) -> Result<SqlResult, ClientError> {
        self.call_table(Request::Sql {
            query: query.to_string(),
        })
        .await
    }

    /// Evaluate Klong code.
    pub async fn klong(&mut self, code: &str) -> Result<KlongResult, ClientError> {
        match self
            .call(Request::Klong {
                code: code.to_string(),
            })
            .await?
        {
            Response::Klong {
                display,
                ipc,
                elapsed_us,
            } => {
                let batches = match ipc {
                    Some(bytes) => Some(ipc::decode_vec(bytes)?.1),
                    None => None,
                };
                Ok(KlongResult {
                    display,
                    batches,
                    elapsed: Duration::from_micros(elapsed_us),
                })
            }
            other => Err(unexpected("klong", &other)),
        }
    }

    /// Say goodbye and close the connection.
    pub async fn close(mut self) -> Result<(), ClientError> {
        self.expect_done(Request::Close).await?;
        self.broken = true;
        Ok(())
    }

    async fn expect_done(&mut self, request: Request) -> Result<(), ClientError> {
        match self.call(request).await? {
            Response::Done => Ok(()),
            other => Err(unexpected("done", &other)),
        }
    }
}

pub(crate) fn unexpected(expected: &str, got: &Response) -> ClientError {
    ClientError::Protocol(format!(
        "expected a {expected} response, got {}",
        got.name()
    ))
}

#[cfg(test)]
mod tests {
    use super::is_tls_record;

    #[test]
    fn tls_records_are_told_from_frame_lengths() {
        // A TLS alert and a handshake record, read as length prefixes.
        assert!(is_tls_record(0x1503_0300));
        assert!(is_tls_record(0x1603_0100));
        // Real frame lengths, and bytes that only look alike in one place.
        assert!(!is_tls_record(1024));
        assert!(!is_tls_record(0x1604_0300));
        assert!(!is_tls_record(0x2403_0300));
    }
}
