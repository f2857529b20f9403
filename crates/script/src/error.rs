//! The crate's one error type: which field is wrong (as a JSON path) and how, with a stable machine code.

use std::fmt;

use crate::ssml::SsmlError;

/// A problem with a script: the JSON path of the field and what is wrong with it.
///
/// Displays as `path: message`, e.g. `voice_config.speed: 201 is out of range 50–200`; an error about the whole
/// document (path `""`) displays as the message alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// JSON path of the offending field, e.g. `shoot_scripts[0].shoot_script.text_config.text`; `""` for the
    /// root.
    pub path: String,
    /// What is wrong.
    pub kind: ErrorKind,
}

/// What is wrong with a field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ErrorKind {
    /// The body is not JSON. `line` and `column` are 1-based.
    #[error("invalid JSON at line {line}, column {column}: {message}")]
    InvalidJson { line: usize, column: usize, message: String },
    /// A value has the wrong JSON type (a string where a number belongs, a fraction for an integer, …).
    #[error("{message}")]
    InvalidType { message: String },
    /// A required field is absent (or `null`).
    #[error("required field is missing")]
    Missing,
    /// A string that must have at least one character is empty.
    #[error("must not be empty")]
    Empty,
    /// A number outside its documented range.
    #[error("{value} is out of range {min}–{max}")]
    OutOfRange { value: String, min: String, max: String },
    /// A string longer than its limit. `what` says what was counted: `"characters"` or
    /// `"characters excluding SSML tags"`.
    #[error("is too long: {len} {what}, the maximum is {max}")]
    TooLong { len: usize, max: usize, what: &'static str },
    /// A list with more items than allowed.
    #[error("has {len} items, the maximum is {max}")]
    TooMany { len: usize, max: usize },
    /// A value that is not one of a fixed set (enum values, RESIZE resolutions, the frame rate). `what` names
    /// the set, e.g. `"value"` or `"RESIZE resolution"`.
    #[error("{value} is not an allowed {what} (allowed: {})", .allowed.join(", "))]
    NotAllowed { value: String, allowed: Vec<String>, what: &'static str },
    /// A string of the right type and length but the wrong shape (`#RRGGBB` colours, Base64, URL schemes).
    #[error("{value:?} is not {expected}")]
    InvalidFormat { value: String, expected: &'static str },
    /// A value that must be unique appears again (`sequence_no`).
    #[error("{value} is used more than once; it must be unique")]
    Duplicate { value: String },
    /// The text is not valid SSML. `offset` counts characters (not bytes) from 0 at the start of the text.
    #[error("malformed SSML at character {offset}: {message}")]
    Ssml { offset: usize, message: String },
}

impl ErrorKind {
    /// A stable, machine-readable name of the kind, for API error codes and logs.
    pub fn code(&self) -> &'static str {
        match self {
            ErrorKind::InvalidJson { .. } => "invalid_json",
            ErrorKind::InvalidType { .. } => "invalid_type",
            ErrorKind::Missing => "missing",
            ErrorKind::Empty => "empty",
            ErrorKind::OutOfRange { .. } => "out_of_range",
            ErrorKind::TooLong { .. } => "too_long",
            ErrorKind::TooMany { .. } => "too_many",
            ErrorKind::NotAllowed { .. } => "not_allowed",
            ErrorKind::InvalidFormat { .. } => "invalid_format",
            ErrorKind::Duplicate { .. } => "duplicate",
            ErrorKind::Ssml { .. } => "ssml",
        }
    }
}

impl Error {
    /// An error of `kind` at `path`.
    pub fn new(path: impl Into<String>, kind: ErrorKind) -> Self {
        Error { path: path.into(), kind }
    }

    /// The stable machine code of the kind (see [`ErrorKind::code`]).
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }

    /// An SSML error in the text at `path`.
    pub fn ssml(path: impl Into<String>, e: SsmlError) -> Self {
        Error::new(path, ErrorKind::Ssml { offset: e.offset, message: e.message })
    }

    /// A JSON syntax error (from parsing the body into a `serde_json::Value`).
    pub(crate) fn from_json_syntax(e: &serde_json::Error) -> Self {
        Error::new(
            "",
            ErrorKind::InvalidJson { line: e.line(), column: e.column(), message: message_without_position(e) },
        )
    }

    /// A type error found while deserializing the script, with its path.
    pub(crate) fn from_deserialize(e: serde_path_to_error::Error<serde_json::Error>) -> Self {
        let path = format_path(e.path());
        let message = message_without_position(e.inner());
        let kind = match unknown_variant(&message) {
            Some((value, allowed)) => ErrorKind::NotAllowed { value, allowed, what: "value" },
            None => ErrorKind::InvalidType { message },
        };
        Error { path, kind }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.kind)
        } else {
            write!(f, "{}: {}", self.path, self.kind)
        }
    }
}

impl std::error::Error for Error {}

/// `a.b[0].c`, or `""` for the root.
fn format_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Segment::Unknown => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push('?');
            }
        }
    }
    out
}

/// serde_json's message without the ` at line L column C` it appends when it knows the position.
fn message_without_position(e: &serde_json::Error) -> String {
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    match full.strip_suffix(&suffix) {
        Some(m) => m.to_string(),
        None => full,
    }
}

/// Recognises serde's "unknown variant `X`, expected `A` or `B`" (the message every enum of this crate gives
/// for a value outside its set) and returns the value and the allowed names. The allowed names never contain
/// a backtick or ", expected", so the value is found by searching from the right and may contain anything.
fn unknown_variant(message: &str) -> Option<(String, Vec<String>)> {
    let rest = message.strip_prefix("unknown variant `")?;
    let split = rest.rfind("`, expected ")?;
    let value = rest.get(..split)?.to_string();
    let expected = rest.get(split + "`, expected ".len()..)?;
    let allowed: Vec<String> = expected.split('`').skip(1).step_by(2).map(str::to_string).collect();
    if allowed.is_empty() {
        return None;
    }
    Some((value, allowed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_variant_messages_are_recognised() {
        assert_eq!(
            unknown_variant("unknown variant `FOO`, expected `TEXT` or `AUDIO`"),
            Some(("FOO".to_string(), vec!["TEXT".to_string(), "AUDIO".to_string()]))
        );
        assert_eq!(
            unknown_variant("unknown variant `a`, expected `x`, expected one of `H264`, `VP8`, `QTRLE`"),
            Some(("a`, expected `x".to_string(), vec!["H264".into(), "VP8".into(), "QTRLE".into()]))
        );
        assert_eq!(unknown_variant("invalid type: integer `1`, expected a string"), None);
    }
}
