//! Connection pooling with bb8.

use crate::client::{Client, ClientOptions};
use crate::error::ClientError;

/// A pool of [`Client`] connections: `Pool::builder().max_size(n).build(manager)`.
pub type Pool = bb8::Pool<ClientManager>;

/// Opens and checks pooled connections to one server.
#[derive(Debug, Clone)]
pub struct ClientManager {
    addr: String,
    options: ClientOptions,
}

impl ClientManager {
    /// A manager for connections to `addr` (`host:port`).
    pub fn new(addr: impl Into<String>, options: ClientOptions) -> ClientManager {
        ClientManager {
            addr: addr.into(),
            options,
        }
    }
}

impl bb8::ManageConnection for ClientManager {
    type Connection = Client;
    type Error = ClientError;

    async fn connect(&self) -> Result<Client, ClientError> {
        Client::connect_with(&self.addr, self.options.clone()).await
    }

    async fn is_valid(&self, conn: &mut Client) -> Result<(), ClientError> {
        conn.ping().await
    }

    fn has_broken(&self, conn: &mut Client) -> bool {
        conn.is_broken() || conn.is_abandoned()
    }
}
