//! kdfs client library and protocol types.
