//! The widget visitor's mutations: start a request, capture metadata.

use async_graphql::{Context, Object, Result, SimpleObject};

use crate::db::Writer;
use crate::graphql::guards;
use crate::graphql::inputs::{
    CaptureContactMetadataInput, CreateRequestInput, IdentifyVisitorInput,
};
use crate::graphql::types::{AuthPayload, Contact, Request};
use crate::service::identity;
use crate::service::visitors::{self, MetadataInput, NewRequest};

/// What `createRequest` returns.
#[derive(SimpleObject)]
pub struct CreateRequestPayload {
    /// The new request (status UNASSIGNED).
    pub request: Request,
    /// The visitor's contact it aggregates under (created by this call if it was the first).
    pub contact: Contact,
}

/// What `identifyVisitor` returns.
#[derive(SimpleObject)]
pub struct IdentifyVisitorPayload {
    /// The identified visitor's session: switch the widget to this token.
    pub auth: AuthPayload,
    /// The identified visitor's contact, into which the anonymous one was merged; null when
    /// the anonymous visitor had no contact yet.
    pub contact: Option<Contact>,
}

/// Mutations of a visitor token.
#[derive(Default)]
pub struct VisitorMutation;

#[Object]
impl VisitorMutation {
    /// Starts a request (a conversation) for the calling visitor, and gets-or-creates the
    /// visitor's contact, in one transaction. Concurrent first requests of one visitor give
    /// one contact. Errors: `UNAUTHENTICATED`, `FORBIDDEN` (not a visitor token),
    /// `BAD_USER_INPUT` (`firstText` empty or too long, `attributes` not an object).
    async fn create_request(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The operation's input (see the type).")] input: CreateRequestInput,
    ) -> Result<CreateRequestPayload> {
        let (caller, scope) = guards::require_visitor(ctx)?;
        let db = &ctx.data::<Writer>()?.0;
        let (request, lead) = visitors::create_request(
            db,
            scope,
            caller.user_id,
            NewRequest {
                first_text: input.first_text,
                channel: input.channel.map(|c| c.as_str().to_owned()),
                attributes: input.attributes.map(|j| j.0),
            },
        )
        .await?;
        Ok(CreateRequestPayload {
            request: Request(request),
            contact: Contact(lead),
        })
    }

    /// Stores metadata the widget captured on the calling visitor's own contact (created if
    /// needed). Absent, null or blank fields leave stored values alone (an empty value never
    /// wipes a stored one); attributes merge by top-level key. Validation happens before any
    /// write. Errors: `UNAUTHENTICATED`, `FORBIDDEN` (not a visitor token), `BAD_USER_INPUT`
    /// with `extensions.field` (`fullname`, `email`, `phone`, `attributes`).
    async fn capture_contact_metadata(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The operation's input (see the type).")]
        input: CaptureContactMetadataInput,
    ) -> Result<Contact> {
        let (caller, scope) = guards::require_visitor(ctx)?;
        let db = &ctx.data::<Writer>()?.0;
        let lead = visitors::capture_metadata(
            db,
            scope,
            caller.user_id,
            MetadataInput {
                fullname: input.fullname,
                email: input.email,
                phone: input.phone,
                attributes: input.attributes.map(|j| j.0),
            },
        )
        .await?;
        Ok(Contact(lead))
    }

    /// An anonymous visitor tells who it is with the integrating site's token (see
    /// `signInWithCustomToken`): returns the identified visitor's session and, when the
    /// anonymous visitor had a contact, merges it into the identified one's (created if
    /// needed) in one transaction, journaled (undo with `unmergeContacts`). The anonymous
    /// token's later requests land on the identified contact.
    /// Errors: `UNAUTHENTICATED` (token, site token), `FORBIDDEN` (not an anonymous visitor).
    async fn identify_visitor(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The operation's input (see the type).")] input: IdentifyVisitorInput,
    ) -> Result<IdentifyVisitorPayload> {
        let (caller, scope) = guards::require_visitor(ctx)?;
        let db = &ctx.data::<Writer>()?.0;
        let (session, contact) =
            identity::identify_visitor(db, scope, caller.user_id, &input.token).await?;
        Ok(IdentifyVisitorPayload {
            auth: super::accounts::issue(ctx, session)?,
            contact: contact.map(Contact),
        })
    }
}
