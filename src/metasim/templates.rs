//! `GET /{version}/{waba-id}/message_templates`: the seeded templates in
//! pages, with `limit`, `after` cursors and `paging.next` absent on the
//! last page, and the `fields`, `name`, `status` and `language` filters.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as CURSOR;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::routes::reject_request;
use super::state::{SimTemplate, lock};
use super::{Sim, faults};

/// Fields returned when the request names none.
const DEFAULT_FIELDS: &[&str] = &[
    "name",
    "parameter_format",
    "components",
    "language",
    "status",
    "category",
    "id",
];

#[derive(Deserialize)]
pub(crate) struct ListQuery {
    limit: Option<String>,
    after: Option<String>,
    fields: Option<String>,
    name: Option<String>,
    status: Option<String>,
    language: Option<String>,
}

pub(crate) async fn list(
    State(sim): State<Arc<Sim>>,
    Path((version, id)): Path<(String, String)>,
    Query(query): Query<ListQuery>,
    headers: HeaderMap,
) -> Response {
    if let Some(response) = reject_request(&sim, &version, &headers) {
        return response;
    }
    if id != sim.config.waba_id {
        return faults::unknown_object("get", &id);
    }
    let limit = match query.limit.as_deref().map(str::parse::<usize>) {
        None => sim.config.template_page_size_default,
        Some(Ok(limit)) if limit > 0 => limit.min(sim.config.template_page_size_max),
        Some(_) => {
            return faults::graph_error(100, None, Some("Param limit must be a positive integer."));
        }
    };
    let start = match query.after.as_deref().map(decode_cursor) {
        None => 0,
        Some(Some(offset)) => offset,
        Some(None) => {
            return faults::graph_error(100, None, Some("Param after is not a valid cursor."));
        }
    };

    let matching = filtered(&sim, &query);
    let end = (start + limit).min(matching.len());
    let start = start.min(end);
    let fields: Vec<&str> = match query.fields.as_deref() {
        Some(fields) => fields.split(',').map(str::trim).collect(),
        None => DEFAULT_FIELDS.to_vec(),
    };
    let data: Vec<Value> = matching[start..end]
        .iter()
        .map(|t| render(t, &fields))
        .collect();

    let mut body = json!({ "data": data });
    if start < end {
        let mut paging = json!({"cursors": {
            "before": encode_cursor(start),
            "after": encode_cursor(end),
        }});
        if end < matching.len() {
            paging["next"] = json!(next_url(&sim, &query, limit, end));
        }
        body["paging"] = paging;
    }
    Json(body).into_response()
}

/// Applies the `name`, `status` and `language` filters.
fn filtered(sim: &Sim, query: &ListQuery) -> Vec<SimTemplate> {
    let name = query.name.as_deref();
    let status = query.status.as_deref();
    let language = query.language.as_deref();
    lock(&sim.inner)
        .templates
        .iter()
        .filter(|t| name.is_none_or(|name| t.name.contains(name)))
        .filter(|t| status.is_none_or(|status| t.status.eq_ignore_ascii_case(status)))
        .filter(|t| language.is_none_or(|language| t.language == language))
        .cloned()
        .collect()
}

/// Builds `paging.next`: the same request with the next page's cursor.
fn next_url(sim: &Sim, query: &ListQuery, limit: usize, end: usize) -> String {
    let mut next = format!(
        "{}/{}/{}/message_templates?limit={limit}&after={}",
        sim.origin,
        sim.config.version,
        sim.config.waba_id,
        encode_cursor(end)
    );
    if let Some(fields) = &query.fields {
        next.push_str(&format!("&fields={}", fields.replace(' ', "")));
    }
    next
}

fn render(template: &SimTemplate, fields: &[&str]) -> Value {
    let mut object = Map::new();
    object.insert("id".into(), json!(template.id));
    for field in fields {
        let value = match *field {
            "name" => json!(template.name),
            "language" => json!(template.language),
            "status" => json!(template.status),
            "category" => json!(template.category),
            "parameter_format" => json!(template.parameter_format),
            "components" => json!(template.components),
            _ => continue,
        };
        object.insert((*field).to_owned(), value);
    }
    Value::Object(object)
}

fn encode_cursor(offset: usize) -> String {
    CURSOR.encode(format!("offset:{offset}"))
}

fn decode_cursor(cursor: &str) -> Option<usize> {
    let raw = CURSOR.decode(cursor).ok()?;
    String::from_utf8(raw)
        .ok()?
        .strip_prefix("offset:")?
        .parse()
        .ok()
}
