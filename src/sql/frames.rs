//! `frames('prefix')`: every frame under a key prefix as one table with a `key` column.
//!
//! Most market questions span symbols (`SELECT key, avg(c) FROM frames('historical/minute')
//! GROUP BY key`). Each frame is one partition of the scan, so frames are read in parallel,
//! and `key = '…'` / `key IN (…)` predicates skip the other frames entirely.

use std::collections::BTreeSet;
use std::sync::Arc;

use arrow::datatypes::{Field, Schema, SchemaRef};
use async_trait::async_trait;
use datafusion::catalog::{Session, TableFunctionImpl, TableProvider};
use datafusion::common::{ScalarValue, plan_err};
use datafusion::error::Result;
use datafusion::logical_expr::{
    BinaryExpr, Expr, Operator, TableProviderFilterPushDown, TableType, expr::InList,
};
use datafusion::physical_plan::ExecutionPlan;

use super::pushdown::combined_range;
use super::scan::{FramePart, KEY_COLUMN, TableShape, scan_plan};
use super::source::{FrameMeta, FrameSource, IndexRange};
use super::table::index_pushdown;

/// The `frames` table function.
#[derive(Debug)]
pub(crate) struct FramesFunction {
    source: Arc<dyn FrameSource>,
}

impl FramesFunction {
    pub fn new(source: Arc<dyn FrameSource>) -> Self {
        Self { source }
    }
}

fn string_literal(e: &Expr) -> Option<&str> {
    match e {
        Expr::Literal(
            ScalarValue::Utf8(Some(s))
            | ScalarValue::LargeUtf8(Some(s))
            | ScalarValue::Utf8View(Some(s)),
            _,
        ) => Some(s.as_str()),
        _ => None,
    }
}

/// Frames whose key lies under `prefix` path-wise (`a/b` matches `a/b/c`, not `a/bc`).
pub(crate) fn frames_under(source: &dyn FrameSource, prefix: &str) -> Vec<FrameMeta> {
    let prefix = prefix.trim_matches('/');
    if prefix.is_empty() {
        return source.list("");
    }
    let dir = format!("{prefix}/");
    source
        .list(prefix)
        .into_iter()
        .filter(|m| m.key == prefix || m.key.starts_with(&dir))
        .collect()
}

impl TableFunctionImpl for FramesFunction {
    fn call(&self, exprs: &[Expr]) -> Result<Arc<dyn TableProvider>> {
        let [arg] = exprs else {
            return plan_err!(
                "frames() takes exactly one argument, the key prefix, e.g. frames('historical/minute')"
            );
        };
        let Some(prefix) = string_literal(arg) else {
            return plan_err!(
                "frames() needs a quoted string prefix, e.g. frames('historical/minute'); got {arg}"
            );
        };
        let metas = frames_under(self.source.as_ref(), prefix);
        if metas.is_empty() {
            return plan_err!(
                "no stored frames under '{prefix}' (case matters); run SHOW TABLES to list them"
            );
        }
        Ok(Arc::new(FramesTable::new(
            Arc::clone(&self.source),
            prefix,
            metas,
        )?))
    }
}

/// The union of several frames, with their key as the first column.
#[derive(Debug)]
struct FramesTable {
    source: Arc<dyn FrameSource>,
    metas: Vec<FrameMeta>,
    shape: TableShape,
}

impl FramesTable {
    fn new(source: Arc<dyn FrameSource>, prefix: &str, metas: Vec<FrameMeta>) -> Result<Self> {
        // Columns are merged by name in order of first appearance; frames lacking a column
        // read it as null. The same name with two types cannot be one column.
        let mut fields: Vec<Field> = Vec::new();
        for m in &metas {
            for f in m.schema.fields() {
                match fields.iter().find(|x| x.name() == f.name()) {
                    Some(x) if x.data_type() != f.data_type() => {
                        return plan_err!(
                            "frames under '{prefix}' disagree on column `{}`: {} vs {} (in {}); \
                             query the frames separately or use a narrower prefix",
                            f.name(),
                            x.data_type(),
                            f.data_type(),
                            m.key
                        );
                    }
                    Some(_) => {}
                    None => fields.push(f.as_ref().clone()),
                }
            }
        }
        let index_names: BTreeSet<&str> = metas.iter().map(|m| m.index_column.as_str()).collect();
        // Range pushdown and `ts` need one index column shared by all frames.
        let index = match index_names.len() {
            1 => index_names.first().copied(),
            _ => None,
        };
        let shape = TableShape::of_union(&Schema::new(fields), index);
        Ok(Self {
            source,
            metas,
            shape,
        })
    }
}

/// The set of keys a predicate restricts `key` to, if it does.
fn key_predicate(e: &Expr) -> Option<BTreeSet<String>> {
    let is_key = |e: &Expr| matches!(e, Expr::Column(c) if c.name == KEY_COLUMN);
    match e {
        // The optimizer turns short IN lists into OR chains.
        Expr::BinaryExpr(BinaryExpr {
            left,
            op: Operator::Or,
            right,
        }) => {
            let mut l = key_predicate(left)?;
            l.extend(key_predicate(right)?);
            Some(l)
        }
        Expr::BinaryExpr(BinaryExpr {
            left,
            op: Operator::Eq,
            right,
        }) => {
            let lit = if is_key(left) {
                string_literal(right)
            } else if is_key(right) {
                string_literal(left)
            } else {
                None
            }?;
            Some(BTreeSet::from([lit.to_string()]))
        }
        Expr::InList(InList {
            expr,
            list,
            negated: false,
        }) if is_key(expr) => list
            .iter()
            .map(|l| string_literal(l).map(str::to_string))
            .collect(),
        _ => None,
    }
}

#[async_trait]
impl TableProvider for FramesTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.shape.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::Temporary
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        let mut out = index_pushdown(filters, self.shape.layout.as_ref());
        for (o, f) in out.iter_mut().zip(filters) {
            if key_predicate(f).is_some() {
                *o = TableProviderFilterPushDown::Exact;
            }
        }
        Ok(out)
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
        let keys: Option<BTreeSet<String>> =
            filters
                .iter()
                .filter_map(key_predicate)
                .fold(None, |acc, set| match acc {
                    None => Some(set),
                    Some(a) => Some(a.intersection(&set).cloned().collect()),
                });
        let parts: Vec<FramePart> = self
            .metas
            .iter()
            .filter(|m| keys.as_ref().is_none_or(|k| k.contains(&m.key)))
            .map(|m| FramePart {
                key: m.key.clone(),
                range,
            })
            .collect();
        scan_plan(&self.source, &self.shape, parts, projection, limit)
    }
}
