//! The JDBC sink engine: record validation and column extraction (`fields`) and the writer
//! that creates, amends and writes tables (`writer`).

pub mod fields;
pub mod writer;
