//! [`Pipeline`]: many requests in flight on one connection.
//!
//! A client that waits for each answer before sending the next request gets at most one
//! request per round trip, and one-row updates then cost a whole durable commit each. A
//! pipeline sends requests without waiting, up to a window of unanswered ones, and collects the
//! answers in request order (the server answers in the order it received the requests). The
//! server serves updates of one connection concurrently, so they share its group commits.
//!
//! ```no_run
//! # async fn demo(client: &mut kdfs_client::Client, rows: Vec<arrow::record_batch::RecordBatch>)
//! # -> Result<(), kdfs_client::ClientError> {
//! use kdfs_client::UpdateOptions;
//! // One result per batch, in order; an error is reported for its own update only.
//! let results = client.update_many("live/AAPL", &rows, UpdateOptions::default()).await?;
//! for r in results {
//!     r?;
//! }
//! # Ok(()) }
//! ```

use std::collections::VecDeque;

use futures::FutureExt;

use arrow::record_batch::RecordBatch;

use crate::client::{Client, UpdateOptions, UpdateSummary};
use crate::error::ClientError;
use crate::ipc;
use crate::protocol::{Request, Response};

/// Unanswered requests a pipeline allows by default; the server also serves at most this many
/// requests of one connection at once.
pub const DEFAULT_WINDOW: usize = 64;

/// Requests sent without waiting for their answers; see the [module docs](self).
///
/// Only single-answer requests can be pipelined: reads and SQL queries (streamed answers) are
/// refused by [`Pipeline::push`].
#[derive(Debug)]
pub struct Pipeline<'a> {
    client: &'a mut Client,
    window: usize,
    /// Ids of requests sent and not answered yet, oldest first.
    waiting: VecDeque<u64>,
    /// Whether requests were queued since the last flush.
    unflushed: bool,
    /// Answers collected so far, in request order.
    answers: Vec<Result<Response, ClientError>>,
    /// Encoder for the schema of the last update's batch.
    encoder: Option<ipc::BatchEncoder>,
}

impl<'a> Pipeline<'a> {
    /// A pipeline on `client` allowing `window` unanswered requests (at least 1).
    pub fn new(client: &'a mut Client, window: usize) -> Pipeline<'a> {
        Pipeline {
            client,
            window: window.max(1),
            waiting: VecDeque::new(),
            unflushed: false,
            answers: Vec::new(),
            encoder: None,
        }
    }

    /// Sends `request`, first collecting the oldest answer if the window is full. `Err` means
    /// the request was not sent (the connection failed, or the request cannot be pipelined);
    /// requests sent before it still get their answers from [`Pipeline::finish`].
    pub async fn push(&mut self, request: Request) -> Result<(), ClientError> {
        if matches!(request, Request::Read { .. } | Request::Sql { .. }) {
            return Err(ClientError::Protocol(format!(
                "{} has a streamed answer and cannot be pipelined",
                request.name()
            )));
        }
        if self.waiting.len() >= self.window {
            self.collect_oldest().await;
            // Answers come in bursts (one per group commit): take every one already here, so
            // the next requests go out together in one write instead of one write each.
            self.collect_arrived();
        }
        let id = self.client.feed(request).await?;
        // Until `finish` has every answer, dropping the pipeline leaves answers on the wire.
        self.client.abandoned = true;
        self.waiting.push_back(id);
        self.unflushed = true;
        Ok(())
    }

    /// Sends an update of frame `key` with `batch` (see [`Client::update`]).
    pub async fn update(
        &mut self,
        key: &str,
        batch: &RecordBatch,
        options: &UpdateOptions,
    ) -> Result<(), ClientError> {
        let schema = batch.schema();
        let encoder = match self.encoder.take() {
            Some(e) if e.fits(&schema) => e,
            _ => ipc::BatchEncoder::new(&schema)?,
        };
        let ipc = encoder.encode(batch);
        self.encoder = Some(encoder);
        let request = Request::Update {
            key: key.to_string(),
            index: options.index.clone(),
            upsert: options.upsert,
            ipc: ipc?,
        };
        self.push(request).await
    }

    /// Waits for every answer and returns them all, one per request sent, in request order.
    /// An error answer (`ClientError::Server`) concerns its own request only; if the
    /// connection fails, that request and every later one get the connection's error.
    pub async fn finish(mut self) -> Vec<Result<Response, ClientError>> {
        while !self.waiting.is_empty() {
            self.collect_oldest().await;
        }
        self.client.abandoned = false;
        self.answers
    }

    /// Answers collected so far plus requests still unanswered.
    pub fn len(&self) -> usize {
        self.answers.len() + self.waiting.len()
    }

    /// Whether nothing was sent yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Collects the answers that have already arrived, without waiting for more.
    fn collect_arrived(&mut self) {
        while let Some(&id) = self.waiting.front() {
            // `recv_for` only takes whole frames off the socket's buffer, so giving up on it
            // when nothing is there loses nothing.
            let Some(answer) = self.client.recv_for(id).now_or_never() else {
                return;
            };
            self.waiting.pop_front();
            self.answers.push(answer);
        }
    }

    async fn collect_oldest(&mut self) {
        let Some(id) = self.waiting.pop_front() else {
            return;
        };
        if self.unflushed {
            self.unflushed = false;
            if let Err(e) = self.client.flush().await {
                self.answers.push(Err(e));
                return;
            }
        }
        let answer = self.client.recv_for(id).await;
        self.answers.push(answer);
    }
}

impl Client {
    /// A [`Pipeline`] on this connection with the [`DEFAULT_WINDOW`].
    pub fn pipeline(&mut self) -> Pipeline<'_> {
        Pipeline::new(self, DEFAULT_WINDOW)
    }

    /// Sends one update per batch of `batches` to frame `key`, pipelined, and returns one
    /// result per batch in order. Each update is acknowledged (durable) on its own, so an error
    /// (e.g. a type conflict) fails only its batch and the connection stays usable. The outer
    /// `Err` means a batch could not be encoded or sent; nothing after it was sent.
    pub async fn update_many(
        &mut self,
        key: &str,
        batches: &[RecordBatch],
        options: UpdateOptions,
    ) -> Result<Vec<Result<UpdateSummary, ClientError>>, ClientError> {
        let mut pipeline = self.pipeline();
        let mut failed = None;
        for batch in batches {
            if let Err(e) = pipeline.update(key, batch, &options).await {
                failed = Some(e);
                break;
            }
        }
        // Collect what was sent even after a failure, so no answer is left on the socket.
        let answers = pipeline.finish().await;
        if let Some(e) = failed {
            return Err(e);
        }
        Ok(answers
            .into_iter()
            .map(|a| a.and_then(UpdateSummary::from_response))
            .collect())
    }
}
