//! Cooperative yielding between every pair of operators of a physical plan.
//!
//! A query's time limit and its cancellation (a client that goes away) are only noticed when
//! the task running the plan gets control back. DataFusion makes leaf scans cooperative, but an
//! operator that produces many batches per input batch (a cross or nested-loop join feeding an
//! aggregate) can compute for minutes inside one poll without asking its input for anything.
//! Wrapping every child in a [`CooperativeExec`] makes each batch passed between operators spend
//! Tokio's task budget, so the plan yields every few hundred batches wherever the work is.

use std::sync::Arc;

use datafusion::common::tree_node::{Transformed, TransformedResult, TreeNode};
use datafusion::error::Result;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::coop::CooperativeExec;
use datafusion::physical_plan::execution_plan::replace_children_if_necessary;

/// `plan` with a [`CooperativeExec`] above every operator that is not one already.
pub(super) fn yield_between_operators(
    plan: Arc<dyn ExecutionPlan>,
) -> Result<Arc<dyn ExecutionPlan>> {
    plan.transform_up(|node| {
        let children = node.children();
        if children.iter().all(|c| is_cooperative(c)) {
            return Ok(Transformed::no(node));
        }
        let wrapped = children
            .into_iter()
            .map(|c| {
                if is_cooperative(c) {
                    Arc::clone(c)
                } else {
                    Arc::new(CooperativeExec::new(Arc::clone(c))) as Arc<dyn ExecutionPlan>
                }
            })
            .collect();
        Ok(Transformed::yes(replace_children_if_necessary(
            node, wrapped,
        )?))
    })
    .data()
}

fn is_cooperative(plan: &Arc<dyn ExecutionPlan>) -> bool {
    plan.is::<CooperativeExec>()
}
