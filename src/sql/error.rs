//! Errors of the SQL engine, each telling the user what to do next.

use std::time::Duration;

use datafusion::error::DataFusionError;

use super::source::SourceError;

/// Why a SQL query failed.
#[derive(Debug, thiserror::Error)]
pub enum SqlError {
    /// The text is not valid SQL.
    #[error(
        "SQL syntax error: {0}. Check the query text; identifiers with `/` or capitals need double quotes"
    )]
    Syntax(String),

    /// A table name does not resolve to a stored frame.
    #[error(
        "unknown table `{name}`: a stored key `a/b/c` is the table a.b.\"c\" or \"a/b/c\" \
         (case matters); run SHOW TABLES to list the stored frames"
    )]
    UnknownTable {
        /// The name as written in the query.
        name: String,
    },

    /// A column name does not exist in the tables of the query.
    #[error("unknown column `{name}` (case matters); available columns: {}", valid.join(", "))]
    UnknownColumn {
        /// The column as written in the query.
        name: String,
        /// Columns that do exist in scope.
        valid: Vec<String>,
    },

    /// The statement would change data or session state; kdfs SQL only reads.
    #[error(
        "kdfs SQL is read-only: {statement} statements are refused. \
         Use SELECT, EXPLAIN or SHOW; store data with update/import instead"
    )]
    ReadOnly {
        /// The kind of statement that was refused.
        statement: String,
    },

    /// The query ran longer than the time limit and was cancelled.
    #[error(
        "query cancelled after the time limit of {:.1}s; narrow the time range, add a LIMIT, \
         or ask the operator to raise --query-timeout", limit.as_secs_f64()
    )]
    Timeout {
        /// The limit that was exceeded.
        limit: Duration,
    },

    /// The result grew past the configured size limit and the query was stopped.
    #[error(
        "result exceeds the limit of {limit} bytes; select fewer columns, narrow the time range \
         or add a LIMIT (or aggregate on the server)"
    )]
    ResultTooLarge {
        /// The limit in bytes.
        limit: usize,
    },

    /// The query needed more working memory than the engine may use.
    #[error(
        "query needs more memory than allowed ({0}); narrow the time range, aggregate less at \
         once, or ask the operator to raise --query-memory"
    )]
    ResourcesExhausted(String),

    /// Planning failed for another reason (unknown function, type mismatch, bad argument).
    #[error("cannot plan query: {0}")]
    Plan(String),

    /// The query failed while running.
    #[error("query failed: {0}")]
    Execution(String),

    /// Reading a stored frame failed.
    #[error(transparent)]
    Source(#[from] SourceError),
}

impl From<DataFusionError> for SqlError {
    fn from(e: DataFusionError) -> Self {
        classify(e)
    }
}

/// Maps a DataFusion error to the most specific [`SqlError`].
fn classify(e: DataFusionError) -> SqlError {
    // Context/diagnostic wrappers hide the variant that tells us what happened.
    let root = e.find_root();
    match root {
        DataFusionError::SQL(p, _) => SqlError::Syntax(p.to_string()),
        DataFusionError::SchemaError(s, _) => match s.as_ref() {
            datafusion::common::SchemaError::FieldNotFound {
                field,
                valid_fields,
            } => SqlError::UnknownColumn {
                name: field.name().to_string(),
                valid: valid_fields.iter().map(|c| c.name().to_string()).collect(),
            },
            other => SqlError::Plan(other.to_string()),
        },
        DataFusionError::ResourcesExhausted(m) => SqlError::ResourcesExhausted(m.clone()),
        DataFusionError::External(inner) => match inner.downcast_ref::<SourceError>() {
            Some(SourceError::NotFound { key }) => {
                SqlError::Source(SourceError::NotFound { key: key.clone() })
            }
            Some(SourceError::Storage { key, message }) => SqlError::Source(SourceError::Storage {
                key: key.clone(),
                message: message.clone(),
            }),
            None => SqlError::Execution(inner.to_string()),
        },
        DataFusionError::Plan(m) | DataFusionError::NotImplemented(m) => SqlError::Plan(m.clone()),
        DataFusionError::Configuration(m) => SqlError::Plan(m.clone()),
        other => SqlError::Execution(other.to_string()),
    }
}

/// Wraps a source error so it can travel through DataFusion and be recovered by [`classify`].
pub(crate) fn source_to_df(e: SourceError) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}
