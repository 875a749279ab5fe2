//! The banner `pons demo` prints once it is ready: the MCP URL, the new API
//! key, and configuration to paste into MCP clients. It goes to standard
//! output (logs go to standard error), so scripts can read the key.

use std::path::Path;

use serde_json::json;

use super::CustomerInterval;

/// Everything an MCP client needs to connect.
pub(super) struct Connection<'a> {
    pub mcp_url: &'a str,
    pub key: &'a str,
    /// E.164 digits of the sandbox number.
    pub phone_number: &'a str,
    pub data_dir: &'a Path,
    pub interval: CustomerInterval,
}

/// Prints the banner to standard output.
pub(super) fn print(connection: &Connection<'_>) {
    println!("{}", render(connection));
}

fn render(c: &Connection<'_>) -> String {
    let bearer = format!("Bearer {}", c.key);
    let remote = json!({"mcpServers": {"pons": {
        "command": "npx",
        "args": ["-y", "mcp-remote", c.mcp_url, "--header", "Authorization:${PONS_AUTH}"],
        "env": {"PONS_AUTH": bearer},
    }}});
    let opencode = json!({"mcp": {"pons": {
        "type": "remote",
        "url": c.mcp_url,
        "headers": {"Authorization": bearer},
    }}});
    let pretty = |value: &serde_json::Value| {
        serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
    };
    let customers = if c.interval.max == 0 {
        "Demo customers do not write in (--customer-interval-seconds 0).".to_owned()
    } else {
        format!(
            "A demo customer writes in every {} to {} seconds.",
            c.interval.min, c.interval.max
        )
    };
    format!(
        "\nPons demo is running with a simulated WhatsApp number, +{phone}.\n\n\
         MCP URL: {url}\n\
         API key: {key}\n\
         (scopes read, write, send; shown only now, a new key is made on every start)\n\n\
         Claude Code:\n  claude mcp add --transport http pons {url} --header \"Authorization: {bearer}\"\n\n\
         Claude Desktop or Cursor (through mcp-remote), in the configuration file:\n{remote}\n\n\
         OpenCode, in opencode.json:\n{opencode}\n\n\
         {customers} Data is kept in {dir}; delete it to start over.\n\
         Press Ctrl+C to stop.\n",
        phone = c.phone_number,
        url = c.mcp_url,
        key = c.key,
        remote = pretty(&remote),
        opencode = pretty(&opencode),
        dir = c.data_dir.display(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn banner_lines_carry_url_and_key() {
        let text = render(&Connection {
            mcp_url: "http://127.0.0.1:3000/api/mcp",
            key: "pons_example",
            phone_number: "15550001111",
            data_dir: Path::new("./pons-demo-data"),
            interval: CustomerInterval::default(),
        });
        assert!(
            text.contains("\nMCP URL: http://127.0.0.1:3000/api/mcp\n"),
            "{text}"
        );
        assert!(text.contains("\nAPI key: pons_example\n"), "{text}");
        assert!(
            text.contains("--header \"Authorization: Bearer pons_example\""),
            "{text}"
        );
        assert!(
            text.contains("\"PONS_AUTH\": \"Bearer pons_example\""),
            "{text}"
        );
        assert!(text.contains("every 30 to 90 seconds"), "{text}");
    }
}
