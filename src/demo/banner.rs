//! The banner `pons demo` prints once it is ready: the MCP URL, the new API
//! key, and configuration to paste into MCP clients. The key appears once,
//! in an `export PONS_API_KEY=…` line, and the configurations refer to it.
//! The banner goes to standard output (logs go to standard error), so
//! scripts can read the key from that line.

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

/// Environment variable that the printed client configurations read the key
/// from, so the key itself is printed only once.
const KEY_VARIABLE: &str = "PONS_API_KEY";

fn render(c: &Connection<'_>) -> String {
    // Claude Desktop, as far as we know, expands no variables in its
    // configuration file and does not inherit a shell's exports. So the key
    // goes into the `env` block, from which mcp-remote expands `${PONS_AUTH}`.
    let claude_desktop = json!({"mcpServers": {"pons": {
        "command": "npx",
        "args": ["-y", "mcp-remote", c.mcp_url, "--header", "Authorization:${PONS_AUTH}"],
        "env": {"PONS_AUTH": "Bearer <paste the API key above>"},
    }}});
    let cursor = json!({"mcpServers": {"pons": {
        "url": c.mcp_url,
        "headers": {"Authorization": format!("Bearer ${{env:{KEY_VARIABLE}}}")},
    }}});
    let opencode = json!({"mcp": {"pons": {
        "type": "remote",
        "url": c.mcp_url,
        "headers": {"Authorization": format!("Bearer {{env:{KEY_VARIABLE}}}")},
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
         MCP URL: {url}\n\n\
         API key with the scopes read, write and send. It is shown only now, and every\n\
         start replaces it. Run this line in the shell you start your MCP client from:\n\
         export {var}={key}\n\n\
         Claude Code (the shell fills in the key when you add the server):\n  \
         claude mcp add --transport http pons {url} --header \"Authorization: Bearer ${var}\"\n\n\
         Claude Desktop (through mcp-remote), in claude_desktop_config.json:\n{claude_desktop}\n\n\
         Cursor, in ~/.cursor/mcp.json (start Cursor from the shell with {var} set):\n{cursor}\n\n\
         OpenCode, in opencode.json:\n{opencode}\n\n\
         {customers} Data is kept in {dir}; delete it to start over.\n\
         Press Ctrl+C to stop.\n",
        phone = c.phone_number,
        url = c.mcp_url,
        var = KEY_VARIABLE,
        key = c.key,
        claude_desktop = pretty(&claude_desktop),
        cursor = pretty(&cursor),
        opencode = pretty(&opencode),
        dir = c.data_dir.display(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example_banner() -> String {
        render(&Connection {
            mcp_url: "http://127.0.0.1:3000/api/mcp",
            key: "pons_example",
            phone_number: "15550001111",
            data_dir: Path::new("./pons-demo-data"),
            interval: CustomerInterval::default(),
        })
    }

    #[test]
    fn banner_lines_carry_url_and_key() {
        let text = example_banner();
        assert!(
            text.contains("\nMCP URL: http://127.0.0.1:3000/api/mcp\n"),
            "{text}"
        );
        assert!(
            text.contains("\nexport PONS_API_KEY=pons_example\n"),
            "{text}"
        );
        assert!(text.contains("every 30 to 90 seconds"), "{text}");
    }

    #[test]
    fn banner_prints_key_once() {
        let text = example_banner();
        assert_eq!(text.matches("pons_example").count(), 1, "{text}");
    }

    #[test]
    fn client_configs_reference_key_variable() {
        let text = example_banner();
        assert!(
            text.contains("--header \"Authorization: Bearer $PONS_API_KEY\""),
            "Claude Code: {text}"
        );
        assert!(
            text.contains("\"PONS_AUTH\": \"Bearer <paste the API key above>\""),
            "Claude Desktop: {text}"
        );
        assert!(
            text.contains("\"Authorization\": \"Bearer ${env:PONS_API_KEY}\""),
            "Cursor: {text}"
        );
        assert!(
            text.contains("\"Authorization\": \"Bearer {env:PONS_API_KEY}\""),
            "OpenCode: {text}"
        );
    }
}
