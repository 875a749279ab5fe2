//! The MCP server handler: the tools, scope-filtered `tools/list`, the
//! per-credential rate limit, and the mapping of tool outputs and errors to
//! MCP results. The read tools are declared here, the others in
//! `write_tools` and `send_tools`.
//!
//! The handler is built per request and contains no caller state: the caller's
//! [`Principal`] arrives in the `http::request::Parts` that rmcp places in
//! each request's extensions, where the authentication middleware put it.

use std::sync::Arc;

use rmcp::handler::server::tool::{ToolCallContext, ToolRouter, schema_for_output};
use rmcp::model::{
    CacheScope, CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock,
    CustomRequest, CustomResult, ErrorCode, JsonObject, ListToolsResult, PaginatedRequestParams,
    ProtocolVersion, ResultType, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, tool, tool_handler, tool_router};
use serde::Serialize;

use crate::auth::{Principal, Scopes};
use crate::echo::echoed;
use crate::store::DynStore;
use crate::tools::{
    self, GetConversationArgs, GetConversationOutput, ListConversationsArgs,
    ListConversationsOutput, ListTemplatesArgs, ListTemplatesOutput, ListUnansweredArgs,
    ListUnansweredOutput, SearchMessagesArgs, SearchMessagesOutput, Sender, Summary, ToolContext,
    ToolError,
};

use super::arguments::{Parameters, argument_error_as_result};
use super::rate::ToolRateLimit;
use super::visible_json::to_visible_json;

/// The Pons MCP server for one request.
#[derive(Clone)]
pub struct PonsMcp {
    store: DynStore,
    sender: Sender,
    rate_limit: Option<Arc<ToolRateLimit>>,
    tool_router: ToolRouter<PonsMcp>,
}

impl PonsMcp {
    /// Creates the handler; `tool_router` comes from [`PonsMcp::router`],
    /// built once and cloned per request, and `rate_limit` is shared by
    /// every request of the instance.
    pub(super) fn new(
        store: DynStore,
        sender: Sender,
        rate_limit: Option<Arc<ToolRateLimit>>,
        tool_router: ToolRouter<PonsMcp>,
    ) -> Self {
        PonsMcp {
            store,
            sender,
            rate_limit,
            tool_router,
        }
    }

    /// Builds the router of every tool, before any scope filtering.
    pub fn router() -> ToolRouter<PonsMcp> {
        Self::read_tools() + Self::write_tools() + Self::send_tools()
    }

    /// Returns the input schema of the tool `name`, if there is one.
    pub(super) fn input_schema(&self, name: &str) -> Option<Arc<JsonObject>> {
        self.tool_router
            .get(name)
            .map(|tool| tool.input_schema.clone())
    }
}

/// Returns the caller of this request, as the authentication middleware resolved it.
pub(super) fn principal(context: &RequestContext<RoleServer>) -> Option<&Principal> {
    context
        .extensions
        .get::<http::request::Parts>()?
        .extensions
        .get::<Principal>()
}

impl PonsMcp {
    /// Builds the context a tool runs in: this request's caller, the store,
    /// the Graph API access and the time.
    pub(super) fn tool_context<'a>(
        &'a self,
        context: &'a RequestContext<RoleServer>,
    ) -> Result<ToolContext<'a>, ErrorData> {
        let Some(principal) = principal(context) else {
            tracing::error!("tool called without an authenticated principal");
            return Err(ErrorData::internal_error(
                "request is not authenticated",
                None,
            ));
        };
        Ok(ToolContext {
            store: self.store.as_ref(),
            principal,
            sender: &self.sender,
            now: chrono::Utc::now().timestamp(),
        })
    }
}

impl PonsMcp {
    /// Lists the tools the caller's scopes allow, sorted by name.
    fn callable_tools(&self, context: &RequestContext<RoleServer>) -> Vec<Tool> {
        let scopes = principal(context).map_or(Scopes::empty(), |p| p.scopes);
        self.tool_router
            .list_all()
            .into_iter()
            .filter(|tool| tools::required_scope(&tool.name).is_some_and(|s| scopes.contains(s)))
            .collect()
    }

    /// Builds the -32602 error for a call to a tool that does not exist,
    /// naming the tools this caller can call instead.
    fn unknown_tool(&self, name: &str, context: &RequestContext<RoleServer>) -> ErrorData {
        let callable: Vec<String> = self
            .callable_tools(context)
            .into_iter()
            .map(|tool| tool.name.into_owned())
            .collect();
        let choices = if callable.is_empty() {
            "This API key has no scope that allows any tool.".to_owned()
        } else {
            format!("Tools this API key can call: {}.", callable.join(", "))
        };
        ErrorData::invalid_params(
            format!("Unknown tool \"{}\". {choices}", echoed(name)),
            None,
        )
    }
}

/// Checks whether `version` is 2026-07-28 or later, the revisions without
/// `initialize` and `ping`. The dates compare as text.
pub(super) fn is_stateless_version(version: Option<&str>) -> bool {
    version.is_some_and(|version| version >= ProtocolVersion::V_2026_07_28.as_str())
}

/// Builds the message of every -32601 (Method not found) error: the method,
/// the protocol version the request declared, if any, and the methods this
/// server serves in that version.
pub(super) fn method_not_found_message(method: &str, version: Option<&str>) -> String {
    let served = if is_stateless_version(version) {
        "server/discover, tools/list and tools/call"
    } else {
        "initialize (with params.protocolVersion), ping, tools/list and tools/call"
    };
    match version {
        Some(version) => format!(
            "Method not found: {} (MCP protocol version {}); with that version this server \
             serves {served}",
            echoed(method),
            echoed(version)
        ),
        None => format!(
            "Method not found: {}; this server serves {served}",
            echoed(method)
        ),
    }
}

/// Turns a tool's outcome into a tool result: structured content with a
/// summary line, or `isError` text that names the problem and the fix.
pub(super) fn respond<T: Serialize + Summary>(
    tool: &'static str,
    outcome: Result<T, ToolError>,
) -> Result<CallToolResult, ErrorData> {
    match outcome {
        Ok(output) => structured(&output),
        Err(error) => {
            if let Some(cause) = error.internal_cause() {
                tracing::error!(tool, error = %cause, "tool failed on a store error");
            }
            Ok(CallToolResult::error(vec![ContentBlock::text(
                error.to_string(),
            )]))
        }
    }
}

/// Builds a success result: the summary line, then the JSON itself as text for
/// clients that ignore `structuredContent`. The text is serialized from the
/// output directly, with its fields in declaration order, which is cheaper
/// than printing the `Value` tree. Characters a reader cannot see are
/// escapes in it (see [`to_visible_json`]).
fn structured<T: Serialize + Summary>(output: &T) -> Result<CallToolResult, ErrorData> {
    let serialized = to_visible_json(output).and_then(|text| {
        let value = serde_json::to_value(output)?;
        Ok((text, value))
    });
    let (text, value) = serialized.map_err(|error| {
        tracing::error!(%error, "failed to serialize tool output");
        ErrorData::internal_error("failed to serialize tool output", None)
    })?;
    let mut result = CallToolResult::success(vec![
        ContentBlock::text(output.summary()),
        ContentBlock::text(text),
    ]);
    result.structured_content = Some(value);
    Ok(result)
}

#[tool_router(router = read_tools, vis = "pub(super)")]
impl PonsMcp {
    #[tool(
        name = "list_conversations",
        title = "List conversations",
        description = "List WhatsApp conversations, most recent first: contact name and phone, \
                       unread count, 24h window status, last message preview and time, \
                       archived flag and conversation id. When `more` is true, pass \
                       `nextCursor` as `cursor` to list the next page.",
        output_schema = schema_for_output::<ListConversationsOutput>(),
        annotations(
            title = "List conversations",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn list_conversations(
        &self,
        Parameters(args): Parameters<ListConversationsArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let cx = self.tool_context(&context)?;
        respond(
            tools::LIST_CONVERSATIONS,
            tools::list_conversations(&cx, args).await,
        )
    }

    #[tool(
        name = "list_unanswered",
        title = "List unanswered conversations",
        description = "List conversations waiting for a reply, where the customer wrote last or \
                       every reply since failed: contact, time waiting, 24h window status, \
                       archived flag, whether a reply failed, and the last inbound text or type \
                       with its wamid. When `more` is true, pass `nextCursor` as `cursor` to \
                       list the next page.",
        output_schema = schema_for_output::<ListUnansweredOutput>(),
        annotations(
            title = "List unanswered conversations",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn list_unanswered(
        &self,
        Parameters(args): Parameters<ListUnansweredArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let cx = self.tool_context(&context)?;
        respond(
            tools::LIST_UNANSWERED,
            tools::list_unanswered(&cx, args).await,
        )
    }

    #[tool(
        name = "get_conversation",
        title = "Read a conversation",
        description = "Read one conversation by conversationId or by the customer's phone: \
                       contact, 24h window status and expiry, and the newest messages oldest \
                       first with direction, time, type, text or caption, delivery status, \
                       wamid, error and reaction. A media message has a `media` object with \
                       the file's type, name, size, download status and the `path` to GET it \
                       with the same API key.",
        output_schema = schema_for_output::<GetConversationOutput>(),
        annotations(
            title = "Read a conversation",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn get_conversation(
        &self,
        Parameters(args): Parameters<GetConversationArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let cx = self.tool_context(&context)?;
        respond(
            tools::GET_CONVERSATION,
            tools::get_conversation(&cx, args).await,
        )
    }

    #[tool(
        name = "search_messages",
        title = "Search messages",
        description = "Full-text search over message text and captions for messages that \
                       contain every word of the query (quotes and operators are searched as \
                       words). Ranks the 1,000 most recent matches and returns the best first, \
                       with contact, time, text and conversation id of each match.",
        output_schema = schema_for_output::<SearchMessagesOutput>(),
        annotations(
            title = "Search messages",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn search_messages(
        &self,
        Parameters(args): Parameters<SearchMessagesArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let cx = self.tool_context(&context)?;
        respond(
            tools::SEARCH_MESSAGES,
            tools::search_messages(&cx, args).await,
        )
    }

    #[tool(
        name = "list_templates",
        title = "List message templates",
        description = "List the WhatsApp message templates of the account: name, language, \
                       status, category, id, header format and text, body text, its variables, \
                       and example components for send_template. Fetches the list from Meta \
                       when none is stored or when refresh is true.",
        output_schema = schema_for_output::<ListTemplatesOutput>(),
        annotations(
            title = "List message templates",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn list_templates(
        &self,
        Parameters(args): Parameters<ListTemplatesArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let cx = self.tool_context(&context)?;
        respond(
            tools::LIST_TEMPLATES,
            tools::list_templates(&cx, args).await,
        )
    }
}

#[tool_handler(
    router = self.tool_router,
    name = "pons",
    instructions = "Pons reads and answers the WhatsApp Business conversations of the \
                    accounts this credential reaches. Start with list_unanswered or \
                    list_conversations, read one with get_conversation, or find messages with \
                    search_messages. Reply with send_text or send_media while the customer's \
                    24-hour window is open, and with send_template (see list_templates) after \
                    it closed. Every tool takes an optional `from`: the business number or \
                    account id to act on."
)]
impl ServerHandler for PonsMcp {
    /// Runs a tool unless the caller's credential is over its rate limit,
    /// which is reported as a tool error saying when to retry. Arguments
    /// that fail to decode are reported as a tool error too.
    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        if let (Some(limit), Some(principal)) = (&self.rate_limit, principal(&context))
            && let Err(wait) = limit.check(&principal.key_id)
        {
            tracing::info!(key_id = %principal.key_id, tool = %request.name,
                "tool call refused by the rate limit");
            let text = limit.message(wait);
            return Ok(CallToolResult::error(vec![ContentBlock::text(text)]).into());
        }
        if self.tool_router.get(&request.name).is_none() {
            return Err(self.unknown_tool(&request.name, &context));
        }
        let call = ToolCallContext::new(self, request, context);
        match self.tool_router.call(call).await {
            Err(error) => argument_error_as_result(error).map(Into::into),
            outcome => outcome,
        }
    }

    /// Rejects a method rmcp does not know with -32601. The endpoint rejects
    /// such requests before rmcp receives them, so this is a fallback with
    /// the same message.
    async fn on_custom_request(
        &self,
        request: CustomRequest,
        context: RequestContext<RoleServer>,
    ) -> Result<CustomResult, ErrorData> {
        let version = context.protocol_version();
        let message = method_not_found_message(
            &request.method,
            version.as_ref().map(ProtocolVersion::as_str),
        );
        Err(ErrorData::new(ErrorCode::METHOD_NOT_FOUND, message, None))
    }

    /// Lists only the tools the caller's scopes allow. The list differs per
    /// credential, so 2026-07-28 clients get `cacheScope: private`, which
    /// forbids shared caches.
    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let tools = self.callable_tools(&context);
        let modern = context
            .protocol_version()
            .is_some_and(|v| v >= ProtocolVersion::V_2026_07_28);
        Ok(ListToolsResult {
            result_type: Some(ResultType::COMPLETE),
            tools,
            meta: None,
            next_cursor: None,
            ttl_ms: modern.then_some(0),
            cache_scope: modern.then_some(CacheScope::Private),
        })
    }
}
