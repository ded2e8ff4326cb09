pub mod query;
pub mod sql;
