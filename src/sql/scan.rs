//! Reading frames into DataFusion: one partition per frame, data fetched lazily at execution.

use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, RecordBatchOptions, StringArray, new_null_array};
use arrow::compute::SortOptions;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::{LexOrdering, PhysicalSortExpr};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::empty::EmptyExec;
use datafusion::physical_plan::expressions::Column;
use datafusion::physical_plan::stream::RecordBatchReceiverStream;
use datafusion::physical_plan::streaming::{PartitionStream, StreamingTableExec};

use super::error::source_to_df;
use super::pushdown::IndexLayout;
use super::source::{FrameMeta, FrameSource, IndexRange, is_index_type};

/// Name of the virtual timestamp column derived from an integer index.
pub(crate) const TS_COLUMN: &str = "ts";
/// Name of the column that carries the frame key in `frames()`.
pub(crate) const KEY_COLUMN: &str = "key";

/// One column of a table as exposed to SQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OutCol {
    /// A stored column, fetched from the source by name.
    Stored(String),
    /// The index reinterpreted as a millisecond timestamp.
    Ts,
    /// The frame key (in `frames()` only).
    Key,
}

/// The SQL-visible shape of a frame (or of a union of frames).
#[derive(Debug, Clone)]
pub(crate) struct TableShape {
    /// Schema exposed to SQL; every column nullable (older rows of an extended frame are null).
    pub schema: SchemaRef,
    /// What each column of `schema` is.
    pub cols: Vec<OutCol>,
    /// How predicates map onto the index, if there is a common index.
    pub layout: Option<IndexLayout>,
}

impl TableShape {
    /// The shape of one frame: its columns plus `ts` where the index is an integer.
    pub fn of_frame(meta: &FrameMeta) -> Self {
        Self::build(None, &meta.schema, Some(meta.index_column.as_str()))
    }

    /// The shape of a union: `key`, then `fields`, then `ts` when `index` is a common integer
    /// index.
    pub fn of_union(fields: &Schema, index: Option<&str>) -> Self {
        Self::build(Some(KEY_COLUMN), fields, index)
    }

    fn build(key: Option<&str>, schema: &Schema, index: Option<&str>) -> Self {
        let mut fields = Vec::new();
        let mut cols = Vec::new();
        if let Some(k) = key {
            fields.push(Field::new(k, DataType::Utf8, false));
            cols.push(OutCol::Key);
        }
        for f in schema.fields() {
            if key == Some(f.name().as_str()) {
                // A stored column named like the key column would be ambiguous; the key wins.
                continue;
            }
            fields.push(f.as_ref().clone().with_nullable(true));
            cols.push(OutCol::Stored(f.name().clone()));
        }
        let index_field = index.and_then(|i| schema.field_with_name(i).ok());
        let index_unit = match index_field.map(|f| f.data_type()) {
            Some(DataType::Timestamp(u, _)) => Some(*u),
            _ => None,
        };
        let integer_index = index_field
            .is_some_and(|f| matches!(f.data_type(), DataType::Int64 | DataType::UInt64));
        let has_ts = integer_index && schema.field_with_name(TS_COLUMN).is_err();
        if has_ts {
            fields.push(Field::new(
                TS_COLUMN,
                DataType::Timestamp(TimeUnit::Millisecond, None),
                true,
            ));
            cols.push(OutCol::Ts);
        }
        let layout = index
            .filter(|_| index_field.is_some_and(|f| is_index_type(f.data_type())))
            .map(|i| IndexLayout {
                index: i.to_string(),
                index_unit,
                ts: has_ts.then(|| TS_COLUMN.to_string()),
            });
        TableShape {
            schema: Arc::new(Schema::new(fields)),
            cols,
            layout,
        }
    }
}

/// One frame to read as one partition of a scan.
#[derive(Debug, Clone)]
pub(crate) struct FramePart {
    /// The frame's key.
    pub key: String,
    /// Rows to read.
    pub range: IndexRange,
}

/// Builds the execution plan reading `parts` with the given projection and limit.
pub(crate) fn scan_plan(
    source: &Arc<dyn FrameSource>,
    shape: &TableShape,
    parts: Vec<FramePart>,
    projection: Option<&Vec<usize>>,
    limit: Option<usize>,
) -> Result<Arc<dyn ExecutionPlan>> {
    let indices: Vec<usize> = match projection {
        Some(p) => p.clone(),
        None => (0..shape.cols.len()).collect(),
    };
    let schema = Arc::new(shape.schema.project(&indices)?);
    if parts.is_empty() {
        // Every frame was excluded by a key predicate.
        return Ok(Arc::new(EmptyExec::new(schema)));
    }
    let cols: Vec<OutCol> = indices
        .iter()
        .filter_map(|i| shape.cols.get(*i).cloned())
        .collect();
    let index = shape.layout.as_ref().map(|l| l.index.clone());
    // Ask the source only for stored columns; ts needs the index. With no stored column
    // wanted (count(*)), still fetch the index so row counts come from real data.
    let mut fetch: Vec<String> = Vec::new();
    for c in &cols {
        let name = match c {
            OutCol::Stored(n) => Some(n.clone()),
            OutCol::Ts => index.clone(),
            OutCol::Key => None,
        };
        if let Some(n) = name
            && !fetch.contains(&n)
        {
            fetch.push(n);
        }
    }
    if fetch.is_empty()
        && let Some(i) = &index
    {
        fetch.push(i.clone());
    }
    // Each partition is one frame read in index order, so it is sorted on the index and ts.
    let sort = SortOptions {
        descending: false,
        nulls_first: false,
    };
    let orderings: Vec<LexOrdering> = cols
        .iter()
        .enumerate()
        .filter(|(_, c)| match c {
            OutCol::Stored(n) => Some(n) == index.as_ref(),
            OutCol::Ts => true,
            OutCol::Key => false,
        })
        .filter_map(|(i, _)| {
            let name = schema.field(i).name();
            LexOrdering::new([PhysicalSortExpr::new(Arc::new(Column::new(name, i)), sort)])
        })
        .collect();
    let partitions: Vec<Arc<dyn PartitionStream>> = parts
        .into_iter()
        .map(|p| {
            Arc::new(FramePartition {
                source: Arc::clone(source),
                part: p,
                fetch: fetch.clone(),
                cols: cols.clone(),
                index: index.clone(),
                schema: Arc::clone(&schema),
                limit,
            }) as Arc<dyn PartitionStream>
        })
        .collect();
    let exec = StreamingTableExec::try_new(
        Arc::clone(&schema),
        partitions,
        None,
        orderings,
        false,
        limit,
    )?;
    Ok(Arc::new(exec))
}

/// Reads one frame on a blocking thread and shapes its batches to the scan's schema.
#[derive(Debug)]
struct FramePartition {
    source: Arc<dyn FrameSource>,
    part: FramePart,
    fetch: Vec<String>,
    cols: Vec<OutCol>,
    index: Option<String>,
    schema: SchemaRef,
    limit: Option<usize>,
}

impl PartitionStream for FramePartition {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let mut builder = RecordBatchReceiverStream::builder(Arc::clone(&self.schema), 2);
        let tx = builder.tx();
        let source = Arc::clone(&self.source);
        let part = self.part.clone();
        let fetch = self.fetch.clone();
        let cols = self.cols.clone();
        let index = self.index.clone();
        let schema = Arc::clone(&self.schema);
        let limit = self.limit;
        builder.spawn_blocking(move || {
            if part.range.is_empty() || limit == Some(0) {
                return Ok(());
            }
            let batches = source
                .scan(&part.key, part.range, Some(&fetch), limit)
                .map_err(source_to_df)?;
            for batch in batches {
                let batch = batch.map_err(source_to_df)?;
                if batch.num_rows() == 0 {
                    continue;
                }
                let out = shape_batch(&batch, &schema, &cols, index.as_deref(), &part.key)?;
                // A send error means the query was cancelled or finished: stop reading.
                if tx.blocking_send(Ok(out)).is_err() {
                    break;
                }
            }
            Ok(())
        });
        builder.build()
    }
}

/// Builds the output batch: columns by name (nulls where the stored batch lacks one), the
/// `ts` view of the index, and the key.
fn shape_batch(
    batch: &RecordBatch,
    schema: &SchemaRef,
    cols: &[OutCol],
    index: Option<&str>,
    key: &str,
) -> Result<RecordBatch> {
    let rows = batch.num_rows();
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(cols.len());
    for (c, field) in cols.iter().zip(schema.fields()) {
        let array = match c {
            OutCol::Stored(name) => match batch.column_by_name(name) {
                Some(a) if a.data_type() == field.data_type() => Arc::clone(a),
                Some(a) => arrow::compute::cast(a, field.data_type())?,
                None => new_null_array(field.data_type(), rows),
            },
            OutCol::Ts => {
                let idx = index.and_then(|i| batch.column_by_name(i)).ok_or_else(|| {
                    DataFusionError::Execution(format!(
                        "frame `{key}` returned no index column; the store is inconsistent"
                    ))
                })?;
                // Int64 → Timestamp(ms) reuses the value buffer.
                arrow::compute::cast(idx, field.data_type())?
            }
            OutCol::Key => Arc::new(StringArray::from_iter_values(std::iter::repeat_n(
                key, rows,
            ))),
        };
        arrays.push(array);
    }
    let opts = RecordBatchOptions::new().with_row_count(Some(rows));
    Ok(RecordBatch::try_new_with_options(
        Arc::clone(schema),
        arrays,
        &opts,
    )?)
}
