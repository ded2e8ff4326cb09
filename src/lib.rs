pub mod query;
pub mod repl;
pub mod sql;
