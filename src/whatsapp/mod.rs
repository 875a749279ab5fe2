//! Meta's wire formats: webhook payloads and their signature.

pub mod signature;
pub mod webhook;
