//! The network side of a core: its listener (every core accepts on the same port with SO_REUSEPORT), and
//! one task per connection that reads requests, dispatches them and writes replies in request order.

pub mod client;
pub mod connection;
pub mod listener;
