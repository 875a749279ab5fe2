//! Message templates synced from Meta.

use rusqlite::{Connection, params};
use uuid::Uuid;

use super::admin::require_account;
use super::json_ids;
use crate::store::{AccountId, NewTemplate, StoreResult, Template, TemplateId, UnixTime};

/// Upserts every template of the list on Meta's template id and deletes
/// the account's templates missing from it, in the caller's savepoint.
pub(super) fn sync_templates(
    conn: &Connection,
    account: &AccountId,
    templates: &[NewTemplate],
    at: UnixTime,
) -> StoreResult<()> {
    require_account(conn, account)?;
    let mut upsert = conn.prepare_cached(
        "INSERT INTO templates (id, account_id, meta_template_id, name, language, status, \
             category, parameter_format, components_json, rejected_reason, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) \
         ON CONFLICT (account_id, meta_template_id) DO UPDATE SET \
             name = excluded.name, language = excluded.language, status = excluded.status, \
             category = excluded.category, parameter_format = excluded.parameter_format, \
             components_json = excluded.components_json, \
             rejected_reason = excluded.rejected_reason, updated_at = excluded.updated_at",
    )?;
    for template in templates {
        upsert.execute(params![
            Uuid::now_v7().to_string(),
            account.as_str(),
            template.meta_template_id,
            template.name,
            template.language,
            template.status,
            template.category,
            template.parameter_format,
            template.components_json,
            template.rejected_reason,
            at,
        ])?;
    }
    let listed: Vec<&str> = templates
        .iter()
        .map(|t| t.meta_template_id.as_str())
        .collect();
    conn.prepare_cached(
        "DELETE FROM templates WHERE account_id = ?1 \
         AND meta_template_id NOT IN (SELECT value FROM json_each(?2))",
    )?
    .execute([account.as_str(), &json_ids(&listed)?])?;
    Ok(())
}

/// Templates of `accounts` by name, then language; templates known only
/// from a status webhook (no name yet) come last.
pub(super) fn list_templates(
    conn: &Connection,
    accounts: &[AccountId],
) -> StoreResult<Vec<Template>> {
    if accounts.is_empty() {
        return Ok(Vec::new());
    }
    let templates = conn
        .prepare_cached(
            "SELECT id, account_id, meta_template_id, name, language, status, category, \
                 parameter_format, components_json, rejected_reason, updated_at \
             FROM templates WHERE account_id IN (SELECT value FROM json_each(?1)) \
             ORDER BY name NULLS LAST, language NULLS LAST, account_id, meta_template_id",
        )?
        .query_map([json_ids(accounts)?], |row| {
            Ok(Template {
                id: TemplateId(row.get(0)?),
                account_id: AccountId(row.get(1)?),
                meta_template_id: row.get(2)?,
                name: row.get(3)?,
                language: row.get(4)?,
                status: row.get(5)?,
                category: row.get(6)?,
                parameter_format: row.get(7)?,
                components_json: row.get(8)?,
                rejected_reason: row.get(9)?,
                updated_at: row.get(10)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(templates)
}
