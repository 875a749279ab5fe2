//! The send tools of the MCP server. Each call sends a new WhatsApp message
//! to a customer, so none is idempotent: repeating a call sends again.

use rmcp::handler::server::tool::schema_for_output;
use rmcp::model::CallToolResult;
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, tool, tool_router};

use crate::tools::{self, SendMediaArgs, SendOutput, SendTemplateArgs, SendTextArgs};

use super::arguments::Parameters;
use super::server::{PonsMcp, respond};

#[tool_router(router = send_tools, vis = "pub(super)")]
impl PonsMcp {
    #[tool(
        name = "send_text",
        title = "Send a text message",
        description = "Send a WhatsApp text message (at most 4096 characters) to a customer, \
                       optionally as a reply quoting one of their messages. Only works while \
                       the 24-hour window since the customer's last message is open; after \
                       that, use send_template.",
        output_schema = schema_for_output::<SendOutput>(),
        annotations(
            title = "Send a text message",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn send_text(
        &self,
        Parameters(args): Parameters<SendTextArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let cx = self.tool_context(&context)?;
        respond(tools::SEND_TEXT, tools::send_text(&cx, args).await)
    }

    #[tool(
        name = "send_media",
        title = "Send an image, video, audio or document",
        description = "Send a file by its public https URL; the MIME type picks image, video, \
                       audio or document. Only works while the 24-hour window since the \
                       customer's last message is open; after that, use send_template.",
        output_schema = schema_for_output::<SendOutput>(),
        annotations(
            title = "Send an image, video, audio or document",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn send_media(
        &self,
        Parameters(args): Parameters<SendMediaArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let cx = self.tool_context(&context)?;
        respond(tools::SEND_MEDIA, tools::send_media(&cx, args).await)
    }

    #[tool(
        name = "send_template",
        title = "Send a template message",
        description = "Send an approved message template, the only kind of message allowed \
                       after the 24-hour window closed. Every variable needs a value in \
                       `components`; list_templates shows each template's variables and an \
                       example.",
        output_schema = schema_for_output::<SendOutput>(),
        annotations(
            title = "Send a template message",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn send_template(
        &self,
        Parameters(args): Parameters<SendTemplateArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let cx = self.tool_context(&context)?;
        respond(tools::SEND_TEMPLATE, tools::send_template(&cx, args).await)
    }
}
