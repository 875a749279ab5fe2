//! Pons: a self-hosted bridge between the WhatsApp Business Cloud API and
//! MCP clients.

pub mod apikey;
pub mod auth;
pub mod mcp;
pub mod phone;
pub mod store;
pub mod tools;
