//! The store floor: row-level functions over `&impl ConnectionTrait` (over a
//! [`crate::service::WriteTxn`] for those that record timeline events), each taking the tenant
//! scope and filtering on it. None begins, commits or rolls back a transaction: the use cases
//! (`service::contacts`, `companies`, `visitors`, `merge`, `identity`, `accounts`, and the
//! CLI's import)
//! open one and compose these. Store modules never call a use case.

pub mod attribute_defs;
pub mod bulk_jobs;
pub mod changes;
pub mod companies;
pub mod company_links;
pub mod erasure;
pub mod leads;
pub mod members;
pub mod merges;
pub mod notes;
pub mod requests;
pub mod segments;
pub mod timeline;
pub mod webhooks;
