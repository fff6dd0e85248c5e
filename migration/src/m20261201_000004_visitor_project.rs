//! Every visitor user belongs to its project: `user.project_id`, until now set for identified
//! visitors only, is filled for anonymous visitors from their (single) GUEST membership, and
//! set by anonymous sign-in from now on. So every statement on visitor users can filter by
//! `project_id` (tenant isolation by construction; erasure blanked users by id alone).
//! Agents keep `project_id` NULL: they belong to projects through `project_member`.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum User {
    Table,
    Id,
    Kind,
    ProjectId,
}

#[derive(DeriveIden, Clone, Copy)]
enum ProjectMember {
    Table,
    ProjectId,
    UserId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let membership = Query::select()
            .column((ProjectMember::Table, ProjectMember::ProjectId))
            .from(ProjectMember::Table)
            .and_where(
                Expr::col((ProjectMember::Table, ProjectMember::UserId))
                    .equals((User::Table, User::Id)),
            )
            .limit(1)
            .to_owned();
        let fill = Query::update()
            .table(User::Table)
            .value(
                User::ProjectId,
                Expr::SubQuery(None, Box::new(membership.into_sub_query_statement())),
            )
            .and_where(Expr::col((User::Table, User::Kind)).eq("ANONYMOUS"))
            .and_where(Expr::col((User::Table, User::ProjectId)).is_null())
            .to_owned();
        manager.exec_stmt(fill).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let clear = Query::update()
            .table(User::Table)
            .value(User::ProjectId, Expr::null())
            .and_where(Expr::col(User::Kind).eq("ANONYMOUS"))
            .to_owned();
        manager.exec_stmt(clear).await
    }
}
