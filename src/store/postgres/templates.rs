//! Message templates synced from Meta, on PostgreSQL.

use sqlx::{PgPool, Row};

use super::accounts::require_account;
use super::{account_ids, backend};
use crate::store::*;

/// Upserts every template of the list on Meta's template id and deletes
/// the account's templates missing from it, in one transaction.
pub(crate) async fn sync_templates(
    pool: &PgPool,
    account: &AccountId,
    templates: &[NewTemplate],
    at: UnixTime,
) -> StoreResult<()> {
    let mut tx = pool.begin().await.map_err(backend)?;
    require_account(&mut tx, account).await?;
    for template in templates {
        sqlx::query(
            "INSERT INTO templates (id, account_id, meta_template_id, name, language, status, \
             category, parameter_format, components_json, rejected_reason, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             ON CONFLICT (account_id, meta_template_id) DO UPDATE SET \
             name = excluded.name, language = excluded.language, status = excluded.status, \
             category = excluded.category, parameter_format = excluded.parameter_format, \
             components_json = excluded.components_json, \
             rejected_reason = excluded.rejected_reason, updated_at = excluded.updated_at",
        )
        .bind(TemplateId::generate().as_str())
        .bind(account.as_str())
        .bind(&template.meta_template_id)
        .bind(&template.name)
        .bind(&template.language)
        .bind(&template.status)
        .bind(&template.category)
        .bind(&template.parameter_format)
        .bind(&template.components_json)
        .bind(&template.rejected_reason)
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
    }
    let listed: Vec<&str> = templates
        .iter()
        .map(|t| t.meta_template_id.as_str())
        .collect();
    sqlx::query("DELETE FROM templates WHERE account_id = $1 AND meta_template_id <> ALL($2)")
        .bind(account.as_str())
        .bind(listed)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
    tx.commit().await.map_err(backend)
}

/// Templates of `accounts` by name, then language; templates known only
/// from a status webhook (no name yet) come last. The "C" collation sorts
/// by bytes, as SQLite does.
pub(crate) async fn list_templates(
    pool: &PgPool,
    accounts: &[AccountId],
) -> StoreResult<Vec<Template>> {
    if accounts.is_empty() {
        return Ok(Vec::new());
    }
    let rows = sqlx::query(
        "SELECT id, account_id, meta_template_id, name, language, status, category, \
         parameter_format, components_json, rejected_reason, updated_at \
         FROM templates WHERE account_id = ANY($1) \
         ORDER BY name COLLATE \"C\" NULLS LAST, language COLLATE \"C\" NULLS LAST, \
         account_id COLLATE \"C\", meta_template_id COLLATE \"C\"",
    )
    .bind(account_ids(accounts))
    .fetch_all(pool)
    .await
    .map_err(backend)?;
    rows.iter()
        .map(|row| {
            Ok(Template {
                id: TemplateId(row.try_get("id").map_err(backend)?),
                account_id: AccountId(row.try_get("account_id").map_err(backend)?),
                meta_template_id: row.try_get("meta_template_id").map_err(backend)?,
                name: row.try_get("name").map_err(backend)?,
                language: row.try_get("language").map_err(backend)?,
                status: row.try_get("status").map_err(backend)?,
                category: row.try_get("category").map_err(backend)?,
                parameter_format: row.try_get("parameter_format").map_err(backend)?,
                components_json: row.try_get("components_json").map_err(backend)?,
                rejected_reason: row.try_get("rejected_reason").map_err(backend)?,
                updated_at: row.try_get("updated_at").map_err(backend)?,
            })
        })
        .collect()
}
