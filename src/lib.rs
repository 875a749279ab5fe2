//! Pons: a self-hosted bridge between the WhatsApp Business Cloud API and
//! MCP clients.

pub mod admin;
pub mod apikey;
pub mod auth;
pub mod bench;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod data_dir_lock;
pub mod demo;
pub mod echo;
pub mod http;
pub mod ingest;
pub mod ingest_gate;
pub mod jobs;
pub mod key_check;
pub mod log_throttle;
pub mod mcp;
pub mod media_files;
pub mod metasim;
pub mod phone;
pub mod private_fs;
pub mod seeded_data;
pub mod server;
pub mod shorten;
pub mod store;
#[cfg(test)]
mod test_log;
pub mod tools;
pub mod whatsapp;
