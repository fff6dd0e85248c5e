//! The Relay `Node` interface (GraphQL Global Object Identification spec).

use async_graphql::{ID, Interface};

use super::{CompanyObject, Contact, ProjectObject, Request, UserObject};

/// An object with a globally unique `id` (a UUID), refetchable with `node(id:)`.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "The globally unique id (a UUID)."))]
#[allow(clippy::large_enum_variant)] // short-lived, moved once
pub enum Node {
    /// A contact.
    Contact(Contact),
    /// A company.
    Company(CompanyObject),
    /// A request.
    Request(Request),
    /// A user.
    User(UserObject),
    /// A project.
    Project(ProjectObject),
}
