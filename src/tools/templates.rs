//! The template tools: `list_templates` and `send_template`, which checks
//! that the template exists for the account in that exact language, is
//! approved, and gets a value for every variable before anything is sent.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::echo::echoed;
use crate::store::{Account, Template};
use crate::whatsapp::graph::{SendRequest, TemplateLanguage, TemplateMessage};

use super::conversations::{describe_accounts, ids};
use super::graph_errors::{describe_graph_error, token_fix};
use super::output::AccountOut;
use super::send::{Outgoing, SendOutput, deliver, resolve_recipient};
use super::sender::TemplateSyncError;
use super::template_check::{check_components, parse_components};
use super::template_spec::{TemplateSpec, render};
use super::{
    LIST_TEMPLATES, SEND_TEMPLATE, Summary, ToolContext, ToolError, guide, non_blank, require,
    resolve_accounts,
};

/// Arguments of `list_templates`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListTemplatesArgs {
    /// Sender number (E.164, for example +15550001111) or account id of the
    /// account to read. Omit it to cover every account this key reaches.
    pub from: Option<String>,
    /// Fetch the current list from Meta first (default false). Accounts
    /// without stored templates are always fetched.
    pub refresh: Option<bool>,
}

/// One message template in one language.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateOut {
    /// Meta's template id.
    pub id: String,
    pub account_id: String,
    pub name: Option<String>,
    /// Language code, to pass exactly as `templateLanguage`.
    pub language: Option<String>,
    /// Only `APPROVED` templates can be sent, not `PENDING`, `REJECTED`, `PAUSED`, …
    pub status: String,
    /// `MARKETING`, `UTILITY` or `AUTHENTICATION`.
    pub category: Option<String>,
    /// `named` (parameters carry `parameter_name`) or `positional`.
    pub parameter_format: String,
    /// The header that `header …` variables fill. Absent when the template has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header: Option<HeaderOut>,
    pub body_text: Option<String>,
    /// Every variable to fill, such as `body {{1}}` or `header image`.
    pub variables: Vec<String>,
    /// A `components` value for send_template that fills every variable.
    pub example_components: Value,
    /// The template's buttons. A button component of send_template names one
    /// by its `index`. Absent when the template has none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub buttons: Vec<ButtonOut>,
}

/// A button of a template.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ButtonOut {
    pub index: usize,
    /// `quick_reply`, `url`, `copy_code`, `phone_number`, … in Meta's
    /// lower case, as send_template's `sub_type` takes it.
    #[serde(rename = "type")]
    pub kind: String,
    /// The label on the button.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The link of a URL button. A `{{1}}` at its end is the suffix that
    /// send_template fills.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The number a phone number button calls.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
}

impl ButtonOut {
    /// Lists the buttons of `spec` by index.
    fn of(spec: &TemplateSpec) -> Vec<ButtonOut> {
        let kinds = spec.buttons.as_deref().unwrap_or_default();
        kinds
            .iter()
            .zip(&spec.button_details)
            .enumerate()
            .map(|(index, (kind, details))| ButtonOut {
                index,
                kind: kind.clone(),
                text: details.text.clone(),
                url: details.url.clone(),
                phone_number: details.phone_number.clone(),
            })
            .collect()
    }
}

/// The header of a template.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HeaderOut {
    /// `TEXT`, `IMAGE`, `VIDEO`, `DOCUMENT` or `LOCATION`, as Meta lists it.
    pub format: String,
    /// The text of a `TEXT` header, with its `{{…}}` variables. Absent for
    /// the other formats.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

impl HeaderOut {
    /// Builds the header of `spec`, or `None` when the template has none.
    fn of(spec: &TemplateSpec) -> Option<HeaderOut> {
        let format = spec.header_format.clone()?;
        let text = if format == "TEXT" {
            spec.header_text.clone()
        } else {
            None
        };
        Some(HeaderOut { format, text })
    }
}

impl TemplateOut {
    fn new(template: &Template) -> TemplateOut {
        let spec = TemplateSpec::of(template);
        TemplateOut {
            id: template.meta_template_id.clone(),
            account_id: template.account_id.to_string(),
            name: template.name.clone(),
            language: template.language.clone(),
            status: template.status.clone(),
            category: template.category.clone(),
            parameter_format: if spec.named { "named" } else { "positional" }.to_owned(),
            header: HeaderOut::of(&spec),
            body_text: spec.body_text.clone(),
            variables: spec.labels(),
            example_components: spec.example(),
            buttons: ButtonOut::of(&spec),
        }
    }
}

/// Result of `list_templates`.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListTemplatesOutput {
    pub accounts: Vec<AccountOut>,
    /// By name, then language.
    pub templates: Vec<TemplateOut>,
    /// Fetches from Meta that failed. The stored list is shown instead.
    pub warnings: Vec<String>,
}

impl Summary for ListTemplatesOutput {
    fn summary(&self) -> String {
        let approved = self
            .templates
            .iter()
            .filter(|t| t.status.eq_ignore_ascii_case("APPROVED"))
            .count();
        let mut text = format!(
            "{} template(s) on {}, {approved} approved.",
            self.templates.len(),
            describe_accounts(&self.accounts)
        );
        for warning in &self.warnings {
            text.push_str(" Warning: ");
            text.push_str(warning);
        }
        text
    }
}

/// Lists the templates of the resolved accounts, fetching them from Meta
/// first when asked or when none are stored.
pub async fn list_templates(
    cx: &ToolContext<'_>,
    args: ListTemplatesArgs,
) -> Result<ListTemplatesOutput, ToolError> {
    require(cx.principal, LIST_TEMPLATES)?;
    let accounts = resolve_accounts(cx, args.from.as_deref()).await?;
    let mut warnings = Vec::new();
    let stored = cx.store.list_templates(&ids(&accounts)).await?;
    for account in &accounts {
        let empty = !stored.iter().any(|t| t.account_id == account.id);
        if (args.refresh == Some(true) || empty)
            && let Err(note) = sync(cx, account).await
        {
            warnings.push(note);
        }
    }
    let templates = cx.store.list_templates(&ids(&accounts)).await?;
    Ok(ListTemplatesOutput {
        accounts: accounts.iter().map(AccountOut::from).collect(),
        templates: templates.iter().map(TemplateOut::new).collect(),
        warnings,
    })
}

/// Runs the template sync and describes a failure for the caller.
async fn sync(cx: &ToolContext<'_>, account: &Account) -> Result<(), String> {
    let error = match cx.sender.template_sync().sync_account(account).await {
        Ok(_) => return Ok(()),
        Err(error) => error,
    };
    tracing::warn!(account_id = %account.id, %error, "template sync failed");
    let reason = match &error {
        TemplateSyncError::Graph(graph) if graph.is_token_error() => {
            format!("{}. {}", describe_graph_error(graph), token_fix(account))
        }
        TemplateSyncError::Graph(graph) => describe_graph_error(graph),
        TemplateSyncError::Secret => error.to_string(),
        TemplateSyncError::Store(_) => "an internal error while storing them".to_owned(),
    };
    Err(format!(
        "fetching the templates of +{} from Meta failed: {reason}",
        account.phone_number
    ))
}

/// Arguments of `send_template`. `phone`, `templateName` and
/// `templateLanguage` are required; `components` when the template has variables.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SendTemplateArgs {
    /// Sender number (E.164, for example +15550001111) or account id. It may
    /// be omitted when this key reaches one account.
    pub from: Option<String>,
    /// The customer's phone number with country code, in any common form.
    pub phone: Option<String>,
    /// Name of an approved template (see list_templates).
    pub template_name: Option<String>,
    /// The template's language code, exactly as listed, such as en_US.
    pub template_language: Option<String>,
    /// Meta's send components filling the variables, for example
    /// [{"type": "body", "parameters": [{"type": "text", "text": "Ana"}]}];
    /// named variables add "parameter_name". Types are accepted in any case.
    pub components: Option<Vec<Value>>,
}

/// Sends an approved template, whether or not the 24-hour window is open.
pub async fn send_template(
    cx: &ToolContext<'_>,
    args: SendTemplateArgs,
) -> Result<SendOutput, ToolError> {
    require(cx.principal, SEND_TEMPLATE)?;
    let recipient = resolve_recipient(
        cx,
        SEND_TEMPLATE,
        args.from.as_deref(),
        args.phone.as_deref(),
    )
    .await?;
    let account = &recipient.account;
    let Some(name) = non_blank(args.template_name.as_deref()) else {
        let choices = guide::approved_templates(cx, std::slice::from_ref(account)).await?;
        return Err(ToolError::MissingArgument {
            tool: SEND_TEMPLATE,
            argument: "templateName",
            hint: format!("pass the name of an approved template. {choices}"),
        });
    };
    let language = non_blank(args.template_language.as_deref());
    let template = find_template(cx, account, name, language).await?;
    let language = template.language.clone().unwrap_or_default();
    let spec = TemplateSpec::of(&template);
    let components = parse_components(args.components.as_deref().unwrap_or_default())?;
    let filled = check_components(&spec, &components, name, &language)?;
    let message = TemplateMessage {
        name: name.to_owned(),
        language: TemplateLanguage { code: language },
        components,
    };
    let outgoing = Outgoing {
        request: SendRequest::template(&recipient.phone.e164(), message),
        text: spec
            .body_text
            .as_deref()
            .map(|body| render(body, &filled.body)),
        caption: None,
        media: None,
        context_wamid: None,
    };
    deliver(cx, &recipient, outgoing).await
}

/// Finds the approved template `name` in exactly `language`. A name or
/// language the store does not know triggers one template sync first.
async fn find_template(
    cx: &ToolContext<'_>,
    account: &Account,
    name: &str,
    language: Option<&str>,
) -> Result<Template, ToolError> {
    let mut named = templates_named(cx, account, name).await?;
    let known = match language {
        Some(language) => named
            .iter()
            .any(|t| t.language.as_deref() == Some(language)),
        None => !named.is_empty(),
    };
    let mut sync_note = String::new();
    if !known {
        match sync(cx, account).await {
            Ok(()) => named = templates_named(cx, account, name).await?,
            Err(note) => sync_note = format!(" Note: {note}."),
        }
    }
    let account_only = std::slice::from_ref(account);
    if named.is_empty() {
        return Err(ToolError::TemplateNotFound {
            name: echoed(name),
            hint: format!(
                "account +{} has no template of that name. {}{sync_note}",
                account.phone_number,
                guide::approved_templates(cx, account_only).await?
            ),
        });
    }
    let languages = languages_of(cx, &named);
    let Some(language) = language else {
        return Err(ToolError::MissingArgument {
            tool: SEND_TEMPLATE,
            argument: "templateLanguage",
            hint: format!("pass the template's language code exactly as listed. {languages}"),
        });
    };
    let Some(template) = named
        .into_iter()
        .find(|t| t.language.as_deref() == Some(language))
    else {
        return Err(ToolError::TemplateNotFound {
            name: format!("{} in language {}", echoed(name), echoed(language)),
            hint: format!("the language must match exactly. {languages}{sync_note}"),
        });
    };
    if !template.status.eq_ignore_ascii_case("APPROVED") {
        return Err(ToolError::TemplateNotSendable {
            name: echoed(name),
            language: echoed(language),
            reason: format!(
                "its status is {}; only APPROVED templates can be sent",
                template.status
            ),
        });
    }
    Ok(template)
}

async fn templates_named(
    cx: &ToolContext<'_>,
    account: &Account,
    name: &str,
) -> Result<Vec<Template>, ToolError> {
    let all = cx
        .store
        .list_templates(std::slice::from_ref(&account.id))
        .await?;
    Ok(all
        .into_iter()
        .filter(|t| t.name.as_deref() == Some(name))
        .collect())
}

/// Names the languages a template exists in, to a caller with `read`.
fn languages_of(cx: &ToolContext<'_>, named: &[Template]) -> String {
    if !cx.principal.scopes.contains(crate::auth::Scope::Read) {
        return "A key with the `read` scope can look the languages up with list_templates."
            .to_owned();
    }
    let languages: Vec<String> = named
        .iter()
        .map(|t| {
            format!(
                "{} ({})",
                t.language.as_deref().unwrap_or("no language"),
                t.status
            )
        })
        .collect();
    format!("It exists in: {}.", languages.join(", "))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::tools::template_spec::test_template;

    fn output(components: Value) -> Value {
        let template = test_template("POSITIONAL", components);
        serde_json::to_value(TemplateOut::new(&template)).unwrap()
    }

    #[test]
    fn text_header_shows_format_and_text() {
        let out = output(json!([
            {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}"},
            {"type": "BODY", "text": "Hi {{1}}"},
        ]));
        assert_eq!(
            out["header"],
            json!({"format": "TEXT", "text": "Order {{1}}"})
        );
        assert_eq!(out["variables"], json!(["header {{1}}", "body {{1}}"]));
    }

    #[test]
    fn media_and_location_headers_show_format_only() {
        for format in ["IMAGE", "VIDEO", "DOCUMENT", "LOCATION"] {
            let out = output(json!([
                {"type": "HEADER", "format": format},
                {"type": "BODY", "text": "Hi"},
            ]));
            assert_eq!(out["header"], json!({"format": format}), "{out}");
        }
    }

    #[test]
    fn header_is_omitted_without_one() {
        let out = output(json!([{"type": "BODY", "text": "Hi {{1}}"}]));
        let fields = out.as_object().unwrap();
        assert!(!fields.contains_key("header"), "{out}");
        assert_eq!(out["bodyText"], "Hi {{1}}");
    }
}
