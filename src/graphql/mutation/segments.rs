//! Saved segments: create or replace, delete (any agent of the project).

use async_graphql::{Context, Object, Result};

use crate::db::Writer;
use crate::graphql::guards;
use crate::graphql::inputs::{SaveSegmentInput, SegmentIdInput};
use crate::graphql::types::segment::{DeleteSegmentPayload, SegmentObject};
use crate::normalize;
use crate::service::segments;

/// Segment mutations.
#[derive(Default)]
pub struct SegmentMutation;

#[Object]
impl SegmentMutation {
    /// Creates a segment (no `id`) or replaces one (`id`): a named filter of the project's
    /// contacts, shared by its agents. The filter is checked as `contacts` would check it.
    /// Errors: `UNAUTHENTICATED`, `FORBIDDEN` (visitor), `BAD_USER_INPUT` (`id`, `name` blank or
    /// over 100 characters, any filter: `search`, `tags`, `attribute`, `owner`, ...),
    /// `NOT_FOUND` (`id`), `CONFLICT` (the name is taken, with `extensions.existingId`; over
    /// 200 segments).
    async fn save_segment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The operation's input (see the type).")] input: SaveSegmentInput,
    ) -> Result<SegmentObject> {
        let (caller, scope) = guards::require_agent(ctx)?;
        let id = input.id.map(|id| normalize::uuid("id", &id)).transpose()?;
        let query = input.filter.into_query(None)?;
        let db = &ctx.data::<Writer>()?.0;
        let segment =
            segments::save(db, scope, Some(caller.user_id), id, &input.name, query).await?;
        Ok(SegmentObject {
            segment,
            scope,
            count: None,
        })
    }

    /// Deletes a segment (contacts are not touched).
    /// Errors: `UNAUTHENTICATED`, `FORBIDDEN` (visitor), `BAD_USER_INPUT` (`id`), `NOT_FOUND`.
    async fn delete_segment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The operation's input (see the type).")] input: SegmentIdInput,
    ) -> Result<DeleteSegmentPayload> {
        let (_, scope) = guards::require_agent(ctx)?;
        let id = normalize::uuid("id", &input.id)?;
        let db = &ctx.data::<Writer>()?.0;
        segments::delete(db, scope, id).await?;
        Ok(DeleteSegmentPayload(id))
    }
}
