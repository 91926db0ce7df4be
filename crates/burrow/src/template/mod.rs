//! Go's `text/template`, for Burrow's notifier templates: the actions, control
//! structures, variables and functions of Go's package (`parse`, `exec`, `funcs`), and
//! Burrow's helper functions, so the templates Burrow ships and its users wrote render
//! here as they do in Burrow.

mod exec;
mod funcs;
mod gotime;
mod parse;
mod value;

pub use exec::ExecError;
pub use parse::ParseError;
pub use value::{Struct, Value};

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    nodes: Vec<parse::Node>,
}

impl Template {
    pub fn parse(text: &str) -> Result<Template, ParseError> {
        parse::parse(text).map(|nodes| Template { nodes })
    }

    /// Renders the template with `data` as `.` (and `$`).
    pub fn render(&self, data: &Value) -> Result<String, ExecError> {
        let mut out = String::new();
        exec::Exec::new(&mut out, data.clone()).run(&self.nodes, data)?;
        Ok(out)
    }
}

/// Go's zero `time.Time` (January 1, year 1, UTC), what `.Start` is outside an incident.
pub fn zero_time() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(gotime::ZERO_UNIX, 0).unwrap_or_default()
}

#[cfg(test)]
mod tests;
