//! Portunus: a WebRTC gateway that speaks the Janus API and runs its plugins as WebAssembly
//! components. The binary is `portunus`; this library holds its parts so benchmarks and
//! tests can reach them.

pub mod alloc_count;
pub mod amqp;
pub mod api;
pub mod config;
pub mod dns;
pub mod events;
pub mod framing;
pub mod fuzz;
pub mod gateway;
pub mod http_client;
pub mod logging;
pub mod media;
pub mod mixer;
pub mod mqtt;
pub mod nanomsg;
pub mod plugins;
pub mod resident;
pub mod sdp;
pub mod tls;
pub mod transport;
pub mod vocab;

/// The lib's tests count allocations (a mixer tick allocates nothing).
#[cfg(test)]
#[global_allocator]
static COUNTING: alloc_count::Counting = alloc_count::Counting;
