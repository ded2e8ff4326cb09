//! The table provider for one stored frame.

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::error::Result;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown, TableType};
use datafusion::physical_plan::ExecutionPlan;

use super::pushdown::{Pushed, combined_range, index_predicate};
use super::scan::{FramePart, TableShape, scan_plan};
use super::source::{FrameMeta, FrameSource, IndexRange};

/// A stored frame as a SQL table: its columns plus `ts` for integer (epoch-ms) indexes.
#[derive(Debug)]
pub(crate) struct FrameTable {
    source: Arc<dyn FrameSource>,
    key: String,
    shape: TableShape,
}

impl FrameTable {
    /// The table for the frame described by `meta`.
    pub fn new(source: Arc<dyn FrameSource>, meta: &FrameMeta) -> Self {
        Self {
            source,
            key: meta.key.clone(),
            shape: TableShape::of_frame(meta),
        }
    }
}

/// Pushdown support for `filters` given an optional index layout: index predicates the range
/// decides alone are exact, others unsupported.
pub(crate) fn index_pushdown(
    filters: &[&Expr],
    layout: Option<&super::pushdown::IndexLayout>,
) -> Vec<TableProviderFilterPushDown> {
    filters
        .iter()
        .map(|f| match layout.and_then(|l| index_predicate(f, l)) {
            Some(Pushed::Exact(_)) => TableProviderFilterPushDown::Exact,
            Some(Pushed::Inexact(_)) => TableProviderFilterPushDown::Inexact,
            None => TableProviderFilterPushDown::Unsupported,
        })
        .collect()
}

#[async_trait]
impl TableProvider for FrameTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.shape.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        Ok(index_pushdown(filters, self.shape.layout.as_ref()))
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let range = match &self.shape.layout {
            Some(l) => combined_range(filters, l),
            None => IndexRange::ALL,
        };
        let parts = vec![FramePart {
            key: self.key.clone(),
            range,
        }];
        scan_plan(&self.source, &self.shape, parts, projection, limit)
    }
}
