//! The accept loop of one core. Every core binds the same address with SO_REUSEPORT (glommio's default), so
//! the kernel spreads new connections across cores and a connection lives on the core that accepted it.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd};
use std::rc::Rc;
use std::sync::atomic::Ordering;

use futures_lite::AsyncWriteExt;
use glommio::net::TcpListener;

use super::client::ClientState;
use super::connection;
use crate::shard::Shard;

/// Binds this core's listener on the node's shared address.
///
/// SO_REUSEPORT lets every core listen on the same port. SO_REUSEADDR is set too, and inherited by
/// accepted sockets, so that after a crash the connections the dead process left in FIN-WAIT do not keep a
/// restarted node from binding its port.
pub fn bind_shared(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let domain = socket2::Domain::for_address(addr);
    let sk = socket2::Socket::new(domain, socket2::Type::STREAM, Some(socket2::Protocol::TCP))?;
    sk.set_reuse_address(true)?;
    sk.set_reuse_port(true)?;
    sk.bind(&addr.into())?;
    sk.listen(1024)?;
    // SAFETY: the descriptor is a bound, listening TCP socket that we own and hand over whole.
    Ok(unsafe { TcpListener::from_raw_fd(sk.into_raw_fd()) })
}

pub async fn accept_loop(shard: Rc<Shard>, listener: TcpListener) {
    loop {
        let stream = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                log::warn!("core {}: accept failed: {e}", shard.core);
                glommio::timer::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        shard
            .stats
            .connections_received
            .set(shard.stats.connections_received.get() + 1);
        let node = &shard.node;
        let maxclients = shard.settings.borrow().maxclients;
        if node.connected_clients.fetch_add(1, Ordering::AcqRel) >= maxclients {
            node.connected_clients.fetch_sub(1, Ordering::AcqRel);
            shard
                .stats
                .rejected_connections
                .set(shard.stats.rejected_connections.get() + 1);
            let mut stream = stream;
            let _ = stream
                .write_all(b"-ERR max number of clients reached\r\n")
                .await;
            let _ = stream.close().await;
            continue;
        }
        let _ = stream.set_nodelay(true);
        let (Ok(addr), Ok(laddr)) = (stream.peer_addr(), stream.local_addr()) else {
            node.connected_clients.fetch_sub(1, Ordering::AcqRel);
            continue;
        };
        let id = node.next_client_id.fetch_add(1, Ordering::Relaxed);
        let authenticated = !shard.settings.borrow().requires_auth();
        let client = Rc::new(RefCell::new(ClientState::new(
            id,
            addr,
            laddr,
            stream.as_raw_fd(),
            authenticated,
        )));
        shard.clients.borrow_mut().add(client.clone());
        let shard2 = shard.clone();
        glommio::spawn_local(async move {
            connection::serve(shard2.clone(), stream, client).await;
            shard2.clients.borrow_mut().remove(id);
            shard2.node.connected_clients.fetch_sub(1, Ordering::AcqRel);
        })
        .detach();
    }
}
