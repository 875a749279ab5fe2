//! `pons bench`: load generators that measure a running server, and the
//! seeding of a synthetic corpus for them.
//!
//! - `ingest` posts signed webhooks.
//! - `seed` writes users, an account, a key and messages into the database.
//! - `tools` calls MCP tools over stateless Streamable HTTP.
//!
//! `load` holds the connection loop and percentile summary they share, and
//! `corpus` the vocabulary that both `seed` and `tools` draw from.

mod corpus;
mod ingest;
mod load;
mod seed;
mod tools;

pub use ingest::{IngestArgs, ingest};
pub use load::PhaseResult;
pub use seed::{SeedArgs, reject_foreign_database, seed};
pub use tools::{BenchTool, ToolsArgs, tools};
