//! The string and list settings: which source set each one, and the checks
//! of their values, whose errors name that one source.

use std::net::SocketAddr;
use std::path::Path;

use super::{ConfigError, LogFormat, SettingValue, ValueOrigin};
use crate::cli::SettingText;

/// Returns the value of a string or path setting: the flag's or the
/// variable's in `command_line`, else the configuration file's in
/// `file_value`, with its origin. `config` is the file's path.
pub(super) fn first_set<T>(
    command_line: Option<&SettingValue<T>>,
    file_value: Option<T>,
    config: Option<&Path>,
) -> Option<SettingValue<T>>
where
    T: Clone,
{
    if let Some(value) = command_line {
        return Some(value.clone());
    }
    let (value, path) = (file_value?, config?);
    Some(SettingValue::new(value, ValueOrigin::File(path.to_owned())))
}

/// Returns the entries of a list setting: the flag's or the variable's in
/// `command_line`, else the configuration file's in `file_value`, each
/// with its origin. `config` is the file's path.
pub(super) fn first_set_list(
    command_line: Option<&[SettingText]>,
    file_value: Option<Vec<String>>,
    config: Option<&Path>,
) -> Vec<SettingText> {
    if let Some(entries) = command_line {
        return entries.to_vec();
    }
    let (Some(entries), Some(path)) = (file_value, config) else {
        return Vec::new();
    };
    let origin = ValueOrigin::File(path.to_owned());
    entries
        .into_iter()
        .map(|entry| SettingText::new(entry, origin.clone()))
        .collect()
}

/// Builds the error for the value `text` of the setting `variable`, which
/// the message displays as `displayed`. `accepted` describes the accepted
/// values.
fn rejected(variable: &str, text: &SettingText, displayed: &str, accepted: &str) -> ConfigError {
    ConfigError::Rejected {
        setting: variable.to_owned(),
        origin: text.origin.clone(),
        value: format!("\"{}\"", crate::echo::echoed(displayed)),
        accepted: accepted.to_owned(),
    }
}

/// Parses the log format, `text` when unset.
pub(super) fn parse_log_format(value: Option<SettingText>) -> Result<LogFormat, ConfigError> {
    let Some(value) = value else {
        return Ok(LogFormat::Text);
    };
    match &*value {
        "text" => Ok(LogFormat::Text),
        "json" => Ok(LogFormat::Json),
        _ => Err(rejected("PONS_LOG_FORMAT", &value, &value, "text or json")),
    }
}

pub(super) fn parse_bind(text: &SettingText) -> Result<SocketAddr, ConfigError> {
    text.parse().map_err(|_| {
        rejected(
            "PONS_BIND",
            text,
            text,
            "ADDRESS:PORT, for example 127.0.0.1:3000 or 0.0.0.0:8080",
        )
    })
}

/// Checks that a URL is absolute http(s) and drops a trailing slash.
/// `example` is a valid value of `setting` without a port, for the errors.
pub(super) fn validate_url(
    setting: &'static str,
    url: &SettingText,
    example: &str,
) -> Result<String, ConfigError> {
    let parsed = http::Uri::try_from(&url.value)
        .ok()
        .filter(|uri| matches!(uri.scheme_str(), Some("http" | "https")) && uri.host().is_some());
    let Some(uri) = parsed else {
        return Err(rejected(
            setting,
            url,
            url,
            &format!("an absolute http:// or https:// URL, for example {example}"),
        ));
    };
    // Pons appends paths such as /api/webhook to this URL and prints the
    // result, so it can carry neither a query nor credentials.
    let has_credentials = uri.authority().is_some_and(|a| a.as_str().contains('@'));
    if has_credentials || url.contains(['?', '#']) {
        return Err(rejected(
            setting,
            url,
            &crate::echo::without_credentials(url),
            &format!(
                "a URL of the scheme, host, optional port and optional path only, without a \
                 user, password, query or fragment, for example {example}"
            ),
        ));
    }
    if uri.port_u16() == Some(0) {
        return Err(rejected(
            setting,
            url,
            url,
            &format!("a URL without a port or with a port from 1 to 65535, for example {example}"),
        ));
    }
    Ok(normalised_url(&uri))
}

/// Returns `uri` with its scheme and host in lower case and without a
/// trailing `/`, the form Pons prints. Host names match in any case, but an
/// MCP client checks that the resource in the OAuth metadata is identical
/// to the URL it called (RFC 9728), and URL parsers lower-case the host.
fn normalised_url(uri: &http::Uri) -> String {
    let scheme = uri.scheme_str().unwrap_or_default().to_ascii_lowercase();
    let host = uri.host().unwrap_or_default().to_ascii_lowercase();
    let port = uri
        .port()
        .map(|port| format!(":{port}"))
        .unwrap_or_default();
    let path = uri.path().trim_end_matches('/');
    format!("{scheme}://{host}{port}{path}")
}

/// Checks the form of a database URL that a setting set: a PostgreSQL URL
/// must name its host and database, and a SQLite URL a file. The server
/// checks the rest of a PostgreSQL URL when Pons connects. The default URL
/// is left to the error when the database is opened, which names the data
/// directory.
pub(super) fn check_database_url(url: &SettingText) -> Result<(), ConfigError> {
    if crate::cli::has_outer_whitespace(url) {
        return Err(rejected(
            "PONS_DATABASE_URL",
            url,
            &database_url_without_password(url),
            "a URL without whitespace (spaces, tabs, CR or newline) at its start or end; \
             remove it, for example the CR that an environment file with CRLF line ends leaves",
        ));
    }
    if crate::store::is_postgres_url(url) {
        let Some(problem) = crate::store::postgres::url_form_problem(url) else {
            return Ok(());
        };
        return Err(rejected(
            "PONS_DATABASE_URL",
            url,
            &database_url_without_password(url),
            &format!(
                "a PostgreSQL URL that names the host and the database, because this one \
                 {problem} and the driver would pick a default one: \
                 postgres://USER:PASSWORD@HOST:PORT/DATABASE, such as \
                 postgres://pons@127.0.0.1:5432/pons (the port and password are optional)"
            ),
        ));
    }
    if crate::store::sqlite::path_from_url(url).is_ok() {
        return Ok(());
    }
    Err(rejected(
        "PONS_DATABASE_URL",
        url,
        &database_url_without_password(url),
        "postgres://USER:PASSWORD@HOST/DB (with \"://\" after the scheme), or sqlite://PATH, \
         sqlite:PATH or a file path for SQLite, where PATH names a file: not empty, not \
         starting with ':' (SQLite reserves those names, such as :memory:), not starting \
         with \"file:\" (SQLite URI file names are not supported), not ending in '/', and \
         without a query, because the writer and the readers open the same file",
    ))
}

/// Returns `url` for an error message without its user and password, also
/// when a missing "://" keeps [`crate::echo::without_credentials`] from
/// finding them, as in `postgres//USER:PASSWORD@HOST`.
fn database_url_without_password(url: &str) -> String {
    let redacted = crate::echo::without_credentials(url);
    match redacted.rfind('@') {
        Some(at) if !redacted.contains("://") => format!("***{}", &redacted[at..]),
        _ => redacted,
    }
}

/// Checks the entries of the allowed Host header values.
pub(super) fn check_allowed_hosts(entries: &[SettingText]) -> Result<(), ConfigError> {
    let Some(entry) = entries
        .iter()
        .find(|entry| !crate::mcp::is_host_entry(entry))
    else {
        return Ok(());
    };
    Err(rejected(
        "PONS_ALLOWED_HOSTS",
        entry,
        entry,
        "host names or IP addresses, each optionally with :PORT, such as pons.example.com, \
         proxy.internal:8443, 192.0.2.10 or [2001:db8::1]:3000 (an IPv6 address with a port in \
         brackets). Pons compares Host headers with the entries for equality, so URLs and \
         wildcards never match",
    ))
}

/// Checks the entries of the allowed browser origins.
pub(super) fn check_allowed_origins(entries: &[SettingText]) -> Result<(), ConfigError> {
    let Some(entry) = entries
        .iter()
        .find(|entry| !crate::mcp::is_origin_entry(entry))
    else {
        return Ok(());
    };
    Err(rejected(
        "PONS_ALLOWED_ORIGINS",
        entry,
        entry,
        "origins as scheme://host or scheme://host:port without a path, such as \
         https://app.example.com or http://localhost:* (any port), or null. A * stands only \
         for the port: list each host",
    ))
}
