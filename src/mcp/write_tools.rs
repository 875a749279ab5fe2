//! The write tools of the MCP server: read receipts, reactions and the
//! archive state. None of them deletes anything, and repeating a call with
//! the same arguments leaves the same state.

use rmcp::handler::server::tool::schema_for_output;
use rmcp::model::CallToolResult;
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, tool, tool_router};

use crate::tools::{
    self, MarkAsReadArgs, MarkAsReadOutput, SendReactionArgs, SendReactionOutput,
    UpdateConversationArgs, UpdateConversationOutput,
};

use super::arguments::Parameters;
use super::server::{PonsMcp, respond};

#[tool_router(router = write_tools, vis = "pub(super)")]
impl PonsMcp {
    #[tool(
        name = "mark_as_read",
        title = "Mark as read",
        description = "Mark a customer's message (and the earlier ones) as read: sends the read \
                       receipt to WhatsApp and leaves only the newer messages in the \
                       conversation's unread count. Once WhatsApp accepts the receipt, those \
                       messages' status becomes `read`. A failed receipt is reported as a \
                       warning, and the count is lowered anyway.",
        output_schema = schema_for_output::<MarkAsReadOutput>(),
        annotations(
            title = "Mark as read",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn mark_as_read(
        &self,
        Parameters(args): Parameters<MarkAsReadArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let cx = self.tool_context(&context)?;
        respond(tools::MARK_AS_READ, tools::mark_as_read(&cx, args).await)
    }

    #[tool(
        name = "send_reaction",
        title = "React to a message",
        description = "React to a message with an emoji, shown to the customer on WhatsApp; an \
                       empty emoji removes the reaction. Name the message by its wamid; WhatsApp \
                       delivers no reaction to a message more than 30 days old.",
        output_schema = schema_for_output::<SendReactionOutput>(),
        annotations(
            title = "React to a message",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn send_reaction(
        &self,
        Parameters(args): Parameters<SendReactionArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let cx = self.tool_context(&context)?;
        respond(tools::SEND_REACTION, tools::send_reaction(&cx, args).await)
    }

    #[tool(
        name = "updateConversation",
        title = "Archive or unarchive a conversation",
        description = "Archive a conversation (archived: true) or move it back to the inbox \
                       (archived: false). Name it by conversationId or by the customer's phone. \
                       Archiving only sets the archived flag that list_conversations, \
                       list_unanswered and get_conversation show: archived conversations stay \
                       listed, and new messages do not unarchive them. Meta is not called.",
        output_schema = schema_for_output::<UpdateConversationOutput>(),
        annotations(
            title = "Archive or unarchive a conversation",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn update_conversation(
        &self,
        Parameters(args): Parameters<UpdateConversationArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let cx = self.tool_context(&context)?;
        respond(
            tools::UPDATE_CONVERSATION,
            tools::update_conversation(&cx, args).await,
        )
    }
}
