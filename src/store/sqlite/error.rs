//! Mapping of SQLite errors to `StoreError`.

use rusqlite::ffi;

use crate::store::StoreError;

/// A stored text value that does not parse as the enum its column holds.
#[derive(Debug, thiserror::Error)]
#[error("unexpected value {value:?} in column {column}")]
pub(super) struct UnexpectedValue {
    pub column: &'static str,
    pub value: String,
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        match constraint_code(&error) {
            Some(ffi::SQLITE_CONSTRAINT_FOREIGNKEY) => {
                StoreError::NotFound("referenced row".to_owned())
            }
            Some(ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY) => {
                StoreError::Conflict("row with these values".to_owned())
            }
            None if matches!(error, rusqlite::Error::QueryReturnedNoRows) => {
                StoreError::NotFound("row".to_owned())
            }
            // A CHECK, NOT NULL or trigger failure keeps SQLite's text,
            // which names the constraint; "already exists" would mislead.
            _ => StoreError::Backend(error.to_string()),
        }
    }
}

/// Returns the extended result code of a constraint violation, `None` for
/// any other error.
fn constraint_code(error: &rusqlite::Error) -> Option<i32> {
    match error {
        rusqlite::Error::SqliteFailure(failure, _)
            if failure.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            Some(failure.extended_code)
        }
        _ => None,
    }
}

/// Builds an error mapper that reports a UNIQUE or PRIMARY KEY violation as
/// `Conflict(what)` and maps every other error as `From` does.
pub(super) fn conflict_on_unique(what: String) -> impl FnOnce(rusqlite::Error) -> StoreError {
    move |error| match constraint_code(&error) {
        Some(ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY) => {
            StoreError::Conflict(what)
        }
        _ => StoreError::from(error),
    }
}

/// Turns any error into `Backend`, as ingest reports every failure.
pub(super) fn into_backend(error: StoreError) -> StoreError {
    match error {
        StoreError::Backend(_) => error,
        other => StoreError::Backend(other.to_string()),
    }
}

/// Wraps an `UnexpectedValue` so a row mapper can return it.
pub(super) fn unexpected(column: &'static str, index: usize, value: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        index,
        rusqlite::types::Type::Text,
        Box::new(UnexpectedValue { column, value }),
    )
}
