pub mod repl;
pub mod sql;
