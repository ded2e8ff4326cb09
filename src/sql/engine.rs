//! The SQL engine: parse, check, plan and run one read-only query with limits.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use arrow::array::{Array, RecordBatch};
use arrow::datatypes::SchemaRef;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::{SessionStateBuilder, TaskContext};
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::execute_stream;
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion::sql::parser::Statement as DfStatement;
use datafusion::sql::sqlparser::ast::Statement as AstStatement;
use futures::{Stream, StreamExt};
use tokio::time::{Instant, Sleep};

use super::catalog::{DEFAULT_CATALOG, DEFAULT_SCHEMA, FrameCatalogList};
use super::error::SqlError;
use super::frames::FramesFunction;
use super::source::FrameSource;
use super::yielding::yield_between_operators;

/// Name of the table function that unions the frames under a prefix.
pub const FRAMES_FUNCTION: &str = "frames";

/// Resource limits applied to every query.
#[derive(Debug, Clone)]
pub struct EngineLimits {
    /// Wall-clock limit from the call to [`SqlEngine::execute`] to the end of the result
    /// stream; the query is cancelled when it passes.
    pub timeout: Duration,
    /// Largest total result size, in bytes of Arrow data, a query may return.
    pub max_result_bytes: usize,
    /// Working memory (sorts, hash tables) shared by all running queries; a query needing more
    /// fails with [`SqlError::ResourcesExhausted`] (nothing spills to disk).
    pub max_memory: usize,
    /// Parallelism of query execution.
    pub target_partitions: usize,
    /// Rows per batch inside the engine.
    pub batch_size: usize,
}

impl Default for EngineLimits {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            max_result_bytes: 256 << 20,
            max_memory: 1 << 30,
            target_partitions: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            batch_size: 8192,
        }
    }
}

/// Read-only SQL over the frames of a [`FrameSource`].
///
/// Cheap to share: wrap it in an `Arc` and call [`execute`](Self::execute) from any task.
pub struct SqlEngine {
    ctx: SessionContext,
    /// What every query runs with (configuration, functions, memory pool): the same for all
    /// queries, so built once rather than copied from the session state per query.
    task: Arc<TaskContext>,
    limits: EngineLimits,
}

impl std::fmt::Debug for SqlEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlEngine")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl SqlEngine {
    /// An engine whose catalog is `source`, with `limits` applied to every query.
    pub fn new(source: Arc<dyn FrameSource>, limits: EngineLimits) -> Result<Self, SqlError> {
        let mut config = SessionConfig::new()
            .with_information_schema(true)
            .with_default_catalog_and_schema(DEFAULT_CATALOG, DEFAULT_SCHEMA)
            .with_create_default_catalog_and_schema(false)
            .with_target_partitions(limits.target_partitions.max(1))
            .with_batch_size(limits.batch_size.max(1));
        // Tickers are upper case: keep identifiers as written.
        config.options_mut().sql_parser.enable_ident_normalization = false;
        let runtime = RuntimeEnvBuilder::new()
            .with_memory_limit(limits.max_memory, 1.0)
            .with_disk_manager_builder(
                DiskManagerBuilder::default().with_mode(DiskManagerMode::Disabled),
            )
            .build_arc()?;
        let state = SessionStateBuilder::new()
            .with_config(config)
            .with_runtime_env(runtime)
            .with_catalog_list(Arc::new(FrameCatalogList::new(Arc::clone(&source))))
            .with_default_features()
            .build();
        let ctx = SessionContext::new_with_state(state);
        ctx.register_udtf(FRAMES_FUNCTION, Arc::new(FramesFunction::new(source)));
        let task = ctx.task_ctx();
        Ok(Self { ctx, task, limits })
    }

    /// The limits applied to each query.
    pub fn limits(&self) -> &EngineLimits {
        &self.limits
    }

    /// Bytes the running queries have reserved from the working-memory pool (sorts, hash
    /// tables); what [`EngineLimits::max_memory`] bounds.
    pub fn memory_reserved(&self) -> usize {
        self.task.memory_pool().reserved()
    }

    /// Plans `sql` and starts it, returning its result as a stream of record batches.
    ///
    /// Only queries (`SELECT`, `WITH`, `VALUES`), `EXPLAIN` and `SHOW` are accepted. The time
    /// limit covers planning and the whole stream; dropping the stream cancels the query.
    pub async fn execute(&self, sql: &str) -> Result<SqlStream, SqlError> {
        let deadline = Instant::now() + self.limits.timeout;
        let start = async {
            let state = self.ctx.state();
            let dialect = state.config().options().sql_parser.dialect;
            let statement = state.sql_to_statement(sql, &dialect)?;
            check_statement(&statement)?;
            self.check_tables(&state, &statement)?;
            let plan = state.statement_to_plan(statement).await?;
            check_plan(&plan)?;
            // Straight from the state: going through a `DataFrame` would clone the whole
            // session state (every function registry) twice more per query.
            let physical = yield_between_operators(state.create_physical_plan(&plan).await?)?;
            Ok::<_, SqlError>(execute_stream(physical, Arc::clone(&self.task))?)
        };
        let inner = tokio::time::timeout_at(deadline, start)
            .await
            .map_err(|_| SqlError::Timeout {
                limit: self.limits.timeout,
            })??;
        Ok(SqlStream {
            schema: inner.schema(),
            inner: Some(inner),
            deadline: Box::pin(tokio::time::sleep_until(deadline)),
            timeout: self.limits.timeout,
            max_bytes: self.limits.max_result_bytes,
            bytes: 0,
        })
    }

    /// Runs `sql` to completion and returns its schema and batches (for small results).
    pub async fn collect(&self, sql: &str) -> Result<(SchemaRef, Vec<RecordBatch>), SqlError> {
        let mut stream = self.execute(sql).await?;
        let schema = stream.schema();
        let mut batches = Vec::new();
        while let Some(b) = stream.next().await {
            batches.push(b?);
        }
        Ok((schema, batches))
    }

    /// Refuses references to tables that do not exist, with a message naming them.
    fn check_tables(
        &self,
        state: &datafusion::execution::SessionState,
        statement: &DfStatement,
    ) -> Result<(), SqlError> {
        let functions = state.table_functions();
        for r in state.resolve_table_references(statement)? {
            // Table functions (`frames('…')`) appear as references too.
            if r.schema().is_none() && functions.contains_key(r.table()) {
                continue;
            }
            let schema = state.schema_for_ref(r.clone()).ok();
            let resolved = r.clone().resolve(DEFAULT_CATALOG, DEFAULT_SCHEMA);
            if resolved.schema.as_ref() == "information_schema" {
                continue;
            }
            if !schema.is_some_and(|s| s.table_exist(r.table())) {
                return Err(SqlError::UnknownTable {
                    name: r.to_string(),
                });
            }
        }
        Ok(())
    }
}

/// Accepts only statements that read; names the refused kind otherwise.
fn check_statement(statement: &DfStatement) -> Result<(), SqlError> {
    let refuse = |s: String| Err(SqlError::ReadOnly { statement: s });
    match statement {
        DfStatement::Statement(s) => check_ast(s),
        DfStatement::Explain(e) => check_statement(&e.statement),
        DfStatement::CreateExternalTable(_) => refuse("CREATE EXTERNAL TABLE".into()),
        DfStatement::CopyTo(_) => refuse("COPY".into()),
        DfStatement::Reset(_) => refuse("RESET".into()),
    }
}

fn check_ast(s: &AstStatement) -> Result<(), SqlError> {
    match s {
        AstStatement::Query(_)
        | AstStatement::ShowTables { .. }
        | AstStatement::ShowColumns { .. }
        | AstStatement::ShowFunctions { .. }
        | AstStatement::ShowVariable { .. }
        | AstStatement::ExplainTable { .. } => Ok(()),
        AstStatement::Explain { statement, .. } => check_ast(statement),
        other => Err(SqlError::ReadOnly {
            statement: statement_kind(&other.to_string()),
        }),
    }
}

/// The leading keywords of a statement, for the error message (`CREATE TABLE`, `INSERT`).
fn statement_kind(text: &str) -> String {
    let mut words = text.split_whitespace();
    let first = words.next().unwrap_or("").to_uppercase();
    match first.as_str() {
        "CREATE" | "DROP" | "ALTER" | "TRUNCATE" => match words.next() {
            Some(w) => format!("{first} {}", w.to_uppercase()),
            None => first,
        },
        _ => first,
    }
}

/// Second line of defence: no node of the plan may write or change session state
/// (`SELECT … INTO` is a query that plans to a DDL node, for example).
fn check_plan(plan: &LogicalPlan) -> Result<(), SqlError> {
    let mut refused: Option<String> = None;
    plan.apply_with_subqueries(|p| {
        refused = match p {
            LogicalPlan::Ddl(d) => Some(d.name().to_string()),
            LogicalPlan::Dml(d) => Some(d.op.to_string()),
            LogicalPlan::Copy(_) => Some("COPY".to_string()),
            LogicalPlan::Statement(s) => Some(s.name().to_string()),
            _ => None,
        };
        Ok(if refused.is_some() {
            TreeNodeRecursion::Stop
        } else {
            TreeNodeRecursion::Continue
        })
    })?;
    match refused {
        Some(statement) => Err(SqlError::ReadOnly { statement }),
        None => Ok(()),
    }
}

/// The result of a query: record batches, ended early by an error when a limit is hit.
///
/// After an `Err` item the stream ends. Dropping it cancels the query.
pub struct SqlStream {
    schema: SchemaRef,
    /// `None` once the stream has ended, so the query's resources are released at once.
    inner: Option<SendableRecordBatchStream>,
    deadline: Pin<Box<Sleep>>,
    timeout: Duration,
    max_bytes: usize,
    bytes: usize,
}

impl std::fmt::Debug for SqlStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStream")
            .field("schema", &self.schema)
            .field("bytes", &self.bytes)
            .field("done", &self.inner.is_none())
            .finish()
    }
}

impl SqlStream {
    /// Schema of every batch of the result.
    pub fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    /// Bytes of Arrow data returned so far.
    pub fn bytes_returned(&self) -> usize {
        self.bytes
    }
}

/// Bytes of the rows a batch holds (slices count only their own rows).
fn batch_bytes(b: &RecordBatch) -> usize {
    b.columns()
        .iter()
        .map(|c| {
            c.to_data()
                .get_slice_memory_size()
                .unwrap_or_else(|_| c.get_array_memory_size())
        })
        .sum()
}

impl Stream for SqlStream {
    type Item = Result<RecordBatch, SqlError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let Some(inner) = this.inner.as_mut() else {
            return Poll::Ready(None);
        };
        if this.deadline.as_mut().poll(cx).is_ready() {
            this.inner = None;
            return Poll::Ready(Some(Err(SqlError::Timeout {
                limit: this.timeout,
            })));
        }
        let item = match inner.poll_next_unpin(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(item) => item,
        };
        let out = match item {
            None => None,
            Some(Err(e)) => Some(Err(e.into())),
            Some(Ok(batch)) => {
                this.bytes = this.bytes.saturating_add(batch_bytes(&batch));
                if this.bytes > this.max_bytes {
                    Some(Err(SqlError::ResultTooLarge {
                        limit: this.max_bytes,
                    }))
                } else {
                    return Poll::Ready(Some(Ok(batch)));
                }
            }
        };
        // End of stream, error or limit: drop the plan now, cancelling any work in flight.
        this.inner = None;
        Poll::Ready(out)
    }
}
