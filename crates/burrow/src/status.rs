//! Burrow's status constants (`protocol.StatusConstant`), shared by the config
//! (`threshold`), the evaluator and the HTTP API.

use serde::Serialize;

/// Burrow's status constants, in its order of severity (`protocol.StatusConstant`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    NotFound = 0,
    Ok = 1,
    Warn = 2,
    Err = 3,
    Stop = 4,
    Stall = 5,
    Rewind = 6,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::NotFound => "NOTFOUND",
            Status::Ok => "OK",
            Status::Warn => "WARN",
            Status::Err => "ERR",
            Status::Stop => "STOP",
            Status::Stall => "STALL",
            Status::Rewind => "REWIND",
        }
    }

    pub fn from_code(code: i64) -> Option<Self> {
        [
            Status::NotFound,
            Status::Ok,
            Status::Warn,
            Status::Err,
            Status::Stop,
            Status::Stall,
            Status::Rewind,
        ]
        .into_iter()
        .find(|s| *s as i64 == code)
    }

    pub fn from_name(name: &str) -> Option<Self> {
        (0..=6)
            .filter_map(Self::from_code)
            .find(|s| s.name().eq_ignore_ascii_case(name))
    }
}

impl Serialize for Status {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}
