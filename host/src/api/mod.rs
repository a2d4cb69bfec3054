//! The transport-agnostic Janus API core: sessions, handles, transactions, auth, error codes,
//! event queues and timeouts. Transports hand it raw request bytes and get reply JSON back;
//! events reach them through [`session::EventSink`] or the session's queue.

mod admin;
mod admin_capture;
mod admin_settings;
mod admin_tools;
pub mod auth;
mod core;
pub mod envelope;
pub mod error;
pub mod fields;
mod janus;
pub mod jsep;
pub mod module_query;
pub mod plugin;
pub mod session;

pub use self::core::{random_id, Core, CoreOptions, Network, PollError, TransportInfo, TransportQuery};
pub use self::envelope::PathIds;
pub use self::error::{ApiError, ErrorCode};
pub use self::janus::{ApiReply, Deferred, Instance, RequestCtx};
