//! How a job attempt fails: worth retrying later, or never.

use crate::store::{StoreError, UnixTime};

/// Failure of one job attempt. The text is stored on the job row and
/// logged, so it never contains a secret or a message body.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Another attempt later may succeed (network trouble, rate limits,
    /// a database hiccup).
    #[error("{0}")]
    Transient(String),
    /// No attempt can succeed (bad payload, checksum mismatch, file too
    /// large, message gone).
    #[error("{0}")]
    Permanent(String),
    /// The job waits until `until` for something outside it, such as an
    /// access token Meta rejected, and the attempt does not count.
    #[error("{reason}")]
    Waiting { until: UnixTime, reason: String },
}

impl JobError {
    pub fn transient(message: impl Into<String>) -> JobError {
        JobError::Transient(message.into())
    }

    pub fn permanent(message: impl Into<String>) -> JobError {
        JobError::Permanent(message.into())
    }

    pub fn waiting(until: UnixTime, reason: impl Into<String>) -> JobError {
        JobError::Waiting {
            until,
            reason: reason.into(),
        }
    }
}

impl From<StoreError> for JobError {
    /// Treats a missing row or an invalid value as permanent and anything
    /// else from the database as transient.
    fn from(error: StoreError) -> JobError {
        match error {
            StoreError::NotFound(_) | StoreError::Invalid(_) => {
                JobError::Permanent(error.to_string())
            }
            StoreError::Conflict(_) | StoreError::Backend(_) => {
                JobError::Transient(error.to_string())
            }
        }
    }
}
