//! Meta's wire formats: webhook payloads and their signature, and the
//! Graph API client.

pub mod graph;
pub mod routing;
pub mod signature;
pub mod surrogates;
pub mod webhook;
