//! `pons bench tools`: calls one MCP tool over N keep-alive connections of
//! stateless Streamable HTTP (`tools/call` with `MCP-Protocol-Version`, no
//! `initialize`) and reports calls per second, latency percentiles and
//! errors, beside the ceiling of `GET /healthz` measured in the same run.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use axum::body::Bytes;
use clap::{Args, ValueEnum};
use http::{Method, Request, StatusCode};
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::{Value, json};

use super::corpus::{Vocabulary, query_mix};
use super::load::{Body, PhaseConfig, PhaseResult, Target, run_phase, status_ok};

/// Protocol version sent on every call; with it the stateless endpoint
/// serves `tools/call` without an `initialize` handshake.
const PROTOCOL_VERSION: &str = "2025-11-25";
/// Conversations `get_conversation` cycles over, the most recent ones.
const CONVERSATIONS_TO_READ: u32 = 200;

/// The tools the benchmark can call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum BenchTool {
    /// `list_conversations` with its default limit of 50.
    ListConversations,
    /// `get_conversation` with its default of 50 messages, alternately by
    /// conversation id and by phone, over the 200 most recent conversations.
    GetConversation,
    /// `search_messages` with its default limit of 20, cycling over the
    /// query mix that `pons bench seed` prints.
    SearchMessages,
}

impl BenchTool {
    fn name(self) -> &'static str {
        match self {
            BenchTool::ListConversations => "list_conversations",
            BenchTool::GetConversation => "get_conversation",
            BenchTool::SearchMessages => "search_messages",
        }
    }
}

#[derive(Debug, Args)]
pub struct ToolsArgs {
    /// Base URL of the running server (loopback only is sensible).
    #[arg(long, default_value = "http://127.0.0.1:3000")]
    pub url: String,
    /// File holding an API key with the `read` scope.
    #[arg(long, value_name = "PATH")]
    pub key_file: PathBuf,
    /// Tool to call.
    #[arg(long, value_enum)]
    pub tool: BenchTool,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 8)]
    pub connections: usize,
    /// Seconds each measured phase runs.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Seconds of unmeasured warm-up before each phase.
    #[arg(long, default_value_t = 3)]
    pub warmup_seconds: u64,
    /// Process id of the server, to report its CPU time per call.
    #[arg(long, value_name = "PID")]
    pub server_pid: Option<u32>,
}

/// Runs the `/healthz` ceiling and then the tool, and prints both as
/// Markdown table rows. Fails when any call failed.
pub async fn tools(args: ToolsArgs) -> anyhow::Result<()> {
    let key = std::fs::read_to_string(&args.key_file)
        .with_context(|| format!("cannot read --key-file {}", args.key_file.display()))?;
    let bearer = format!("Bearer {}", key.trim());
    let target = Arc::new(Target::parse(&args.url)?);
    let config = PhaseConfig {
        connections: args.connections,
        warmup: Duration::from_secs(args.warmup_seconds),
        measured: Duration::from_secs(args.seconds),
        server_pid: args.server_pid,
    };
    let bodies = call_bodies(&target, &bearer, args.tool).await?;

    let healthz = {
        let target = target.clone();
        move |_, _| {
            Ok(target
                .request(Method::GET, "/healthz")
                .body(Body::default())?)
        }
    };
    let ceiling = run_phase(&target, config, healthz, status_ok).await?;
    let calls = {
        let target = target.clone();
        move |worker: usize, sequence: u64| {
            // Connections start at different points of the cycle.
            let index = (worker as u64 * 7 + sequence) as usize % bodies.len();
            tool_request(&target, &bearer, bodies[index].clone())
        }
    };
    let tool = run_phase(&target, config, calls, tool_call_succeeded).await?;

    print_header();
    print_row("GET /healthz", args.connections, &ceiling);
    print_row(args.tool.name(), args.connections, &tool);
    if tool.errors > 0 {
        bail!(
            "{} of the {} calls failed",
            tool.errors,
            tool.errors + tool.requests
        );
    }
    Ok(())
}

fn print_header() {
    println!(
        "| call | connections | calls/s | p50 ms | p95 ms | p99 ms | errors | server CPU ms/call \
         | load generator CPU ms/call |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
}

fn print_row(name: &str, connections: usize, r: &PhaseResult) {
    let cell = |value: Option<f64>| value.map_or_else(|| "-".to_owned(), |ms| format!("{ms:.3}"));
    println!(
        "| {name} | {connections} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {} | {} |",
        r.per_second,
        r.p50_ms,
        r.p95_ms,
        r.p99_ms,
        r.errors,
        cell(r.server_cpu_ms),
        cell(r.generator_cpu_ms)
    );
}

/// Builds the JSON-RPC bodies the connections cycle over.
async fn call_bodies(target: &Target, bearer: &str, tool: BenchTool) -> anyhow::Result<Vec<Bytes>> {
    let bodies = match tool {
        BenchTool::ListConversations => vec![call_body(tool.name(), json!({}))],
        BenchTool::SearchMessages => query_mix(&Vocabulary::new())
            .into_iter()
            .map(|query| call_body(tool.name(), json!({ "query": query.text })))
            .collect(),
        BenchTool::GetConversation => {
            let mut bodies = Vec::new();
            for (id, phone) in recent_conversations(target, bearer).await? {
                bodies.push(call_body(tool.name(), json!({ "conversationId": id })));
                if let Some(phone) = phone {
                    bodies.push(call_body(tool.name(), json!({ "phone": phone })));
                }
            }
            bodies
        }
    };
    if bodies.is_empty() {
        bail!("no calls to make: the key reaches no conversations; run `pons bench seed` first");
    }
    Ok(bodies)
}

fn call_body(tool: &str, arguments: Value) -> Bytes {
    let body = json!({
        "jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": { "name": tool, "arguments": arguments },
    });
    Bytes::from(body.to_string())
}

fn tool_request(target: &Target, bearer: &str, body: Bytes) -> anyhow::Result<Request<Body>> {
    Ok(target
        .request(Method::POST, "/api/mcp")
        .header(http::header::AUTHORIZATION, bearer)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(http::header::ACCEPT, "application/json, text/event-stream")
        .header("mcp-protocol-version", PROTOCOL_VERSION)
        .body(Body::new(body))?)
}

/// Lists the most recent conversations: their ids and customer phones.
async fn recent_conversations(
    target: &Target,
    bearer: &str,
) -> anyhow::Result<Vec<(String, Option<String>)>> {
    let body = call_body(
        BenchTool::ListConversations.name(),
        json!({ "limit": CONVERSATIONS_TO_READ }),
    );
    let (status, reply) = target
        .send_once(tool_request(target, bearer, body)?)
        .await?;
    if !tool_call_succeeded(status, &reply) {
        bail!(
            "list_conversations failed with status {status}: {}",
            String::from_utf8_lossy(&reply)
        );
    }
    let reply: Value = serde_json::from_slice(&reply).context("list_conversations reply")?;
    let conversations = reply["result"]["structuredContent"]["conversations"]
        .as_array()
        .context("list_conversations reply has no structuredContent.conversations")?;
    Ok(conversations
        .iter()
        .filter_map(|c| {
            let id = c["id"].as_str()?.to_owned();
            Some((id, c["contact"]["phone"].as_str().map(str::to_owned)))
        })
        .collect())
}

/// The parts of a JSON-RPC reply that decide success; the rest is skipped
/// without being stored.
#[derive(Deserialize)]
struct Reply {
    result: Option<ReplyResult>,
    error: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct ReplyResult {
    #[serde(rename = "isError")]
    is_error: Option<bool>,
}

/// Counts a call as successful when it returned HTTP 200 with a JSON-RPC
/// result that is not a tool error (`isError: true`).
fn tool_call_succeeded(status: StatusCode, body: &[u8]) -> bool {
    if status != StatusCode::OK {
        return false;
    }
    match serde_json::from_slice::<Reply>(body) {
        Ok(reply) => {
            reply.error.is_none() && reply.result.is_some_and(|r| r.is_error != Some(true))
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_errors_count_as_failures() {
        let ok = br#"{"jsonrpc":"2.0","id":1,"result":{"content":[],"isError":false}}"#;
        let tool_error = br#"{"jsonrpc":"2.0","id":1,"result":{"content":[],"isError":true}}"#;
        let rpc_error = br#"{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"x"}}"#;
        assert!(tool_call_succeeded(StatusCode::OK, ok));
        assert!(!tool_call_succeeded(StatusCode::OK, tool_error));
        assert!(!tool_call_succeeded(StatusCode::OK, rpc_error));
        assert!(!tool_call_succeeded(StatusCode::UNAUTHORIZED, ok));
        assert!(!tool_call_succeeded(StatusCode::OK, b"not json"));
    }
}
