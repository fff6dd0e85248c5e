//! Output types of the schema.

pub mod account;
pub mod attribute;
pub mod bulk_job;
pub mod company;
pub mod connection;
pub mod contact;
pub mod enums;
pub(crate) mod inline;
pub mod member;
pub mod merge;
pub mod node;
pub mod note;
pub mod request;
pub mod segment;
pub mod timeline;
pub mod visitor_event;
pub mod webhook;

pub use account::{AuthPayload, ProjectObject, UserObject, Viewer};
pub use company::{CompanyConnection, CompanyObject, DeleteCompanyPayload};
pub use connection::PageInfo;
pub use contact::{Contact, ContactConnection, ContactEdge};
pub use node::Node;
pub use request::{Request, RequestConnection, RequestEdge};
