//! Per-connection state, and the registry of a core's connections (CLIENT LIST / KILL, shutdown).

use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::rc::Rc;
use std::time::Instant;

use bytes::Bytes;
use resp::Protocol;

/// A command as CLIENT LIST names it: `name`, `container|subcommand`, or `NULL` when the last request
/// named no known command.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LastCmd {
    pub container: Option<&'static str>,
    pub name: Option<&'static str>,
}

impl std::fmt::Display for LastCmd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.container, self.name) {
            (_, None) => f.write_str("NULL"),
            (None, Some(name)) => f.write_str(name),
            (Some(container), Some(name)) => write!(f, "{container}|{name}"),
        }
    }
}

/// What the server knows about one connection.
pub struct ClientState {
    pub id: u64,
    pub addr: SocketAddr,
    pub laddr: SocketAddr,
    pub fd: RawFd,
    pub name: Option<Bytes>,
    pub lib_name: Option<Bytes>,
    pub lib_ver: Option<Bytes>,
    pub db: u8,
    pub protocol: Protocol,
    pub authenticated: bool,
    pub created: Instant,
    pub last_interaction: Instant,
    /// The last command looked up, for CLIENT LIST's `cmd=` (queued and refused ones included, as in
    /// Redis).
    pub last_cmd: LastCmd,
    /// Reply, then close (QUIT, a protocol error, CLIENT KILL of self).
    pub close_after_reply: bool,
    /// Replies are suppressed (CLIENT REPLY OFF / SKIP).
    pub reply_off: bool,
    pub reply_skip_next: bool,
    /// CLIENT REPLY SKIP: the *next* command's reply is skipped (dispatch moves this into `reply_skip_next`).
    pub reply_skip_following: bool,
    /// Whether the reply of the command being dispatched is dropped, when the command decided it itself
    /// rather than leaving it to the mode it leaves behind: EXEC, whose queue may change the mode, is
    /// answered (or not) by the mode it started with.
    pub reply_skip_decided: Option<bool>,
    pub no_evict: bool,
    pub no_touch: bool,
    /// Bytes of replies queued and not yet written (for CLIENT LIST omem and the output limit).
    pub output_pending: usize,
    pub query_buffer: usize,
    pub killed: Rc<Cell<bool>>,
    /// MULTI queue and watched keys (see `cmd::tx`).
    pub tx: crate::cmd::tx::TxState,
    /// Channels and patterns subscribed to, from the first (P)SUBSCRIBE on (see `shard::pubsub`).
    pub pubsub: Option<Box<crate::shard::pubsub::Subscriptions>>,
}

impl ClientState {
    pub fn new(
        id: u64,
        addr: SocketAddr,
        laddr: SocketAddr,
        fd: RawFd,
        authenticated: bool,
    ) -> ClientState {
        let now = Instant::now();
        ClientState {
            id,
            addr,
            laddr,
            fd,
            name: None,
            lib_name: None,
            lib_ver: None,
            db: 0,
            protocol: Protocol::Resp2,
            authenticated,
            created: now,
            last_interaction: now,
            last_cmd: LastCmd::default(),
            close_after_reply: false,
            reply_off: false,
            reply_skip_next: false,
            reply_skip_following: false,
            reply_skip_decided: None,
            no_evict: false,
            no_touch: false,
            output_pending: 0,
            query_buffer: 0,
            killed: Rc::new(Cell::new(false)),
            tx: Default::default(),
            pubsub: None,
        }
    }

    /// Channel plus pattern subscriptions; above zero the connection is in Pub/Sub mode.
    #[inline]
    pub fn subscriptions(&self) -> usize {
        self.pubsub.as_ref().map_or(0, |s| s.count())
    }

    /// RESP2 Pub/Sub mode: only (un)subscribe commands, PING, QUIT and RESET are allowed.
    #[inline]
    pub fn subscribed_resp2(&self) -> bool {
        self.protocol == Protocol::Resp2 && self.subscriptions() > 0
    }

    /// RESET: back to the state of a new connection (db 0, RESP2, no name, replies on, default auth).
    /// Families that add connection state (transactions, subscriptions, tracking) clear it here too.
    pub fn reset_connection_state(&mut self, authenticated: bool) {
        self.db = 0;
        self.protocol = Protocol::Resp2;
        self.name = None;
        self.authenticated = authenticated;
        // Not `reply_skip_next`: a SKIP in force covers RESET's own reply, as in Redis.
        self.reply_off = false;
        self.reply_skip_following = false;
        self.no_evict = false;
        self.no_touch = false;
    }

    pub fn addr_string(&self) -> String {
        self.addr.to_string()
    }

    /// One CLIENT LIST / CLIENT INFO line (without the trailing newline), in Redis 7's field order.
    pub fn info_line(&self) -> String {
        let name = self
            .name
            .as_ref()
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .unwrap_or_default();
        let lib_name = self
            .lib_name
            .as_ref()
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .unwrap_or_default();
        let lib_ver = self
            .lib_ver
            .as_ref()
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .unwrap_or_default();
        let mut flags = String::new();
        if self.subscriptions() > 0 {
            flags.push('P');
        }
        if self.tx.multi {
            flags.push('x');
        }
        if self.no_evict {
            flags.push('e');
        }
        if self.no_touch {
            flags.push('T');
        }
        if flags.is_empty() {
            flags.push('N');
        }
        format!(
            "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub=0 multi={} \
             qbuf={} qbuf-free=0 argv-mem=0 multi-mem=0 rbs=16384 rbp=0 obl=0 oll=0 omem={} tot-mem=0 \
             events=r cmd={} user=default redir=-1 resp={} lib-name={} lib-ver={}",
            self.id,
            self.addr,
            self.laddr,
            self.fd,
            name,
            self.created.elapsed().as_secs(),
            self.last_interaction.elapsed().as_secs(),
            flags,
            self.db,
            self.pubsub.as_ref().map_or(0, |s| s.channels.len()),
            self.pubsub.as_ref().map_or(0, |s| s.patterns.len()),
            if self.tx.multi {
                self.tx.queue.len() as i64
            } else {
                -1
            },
            self.query_buffer,
            self.output_pending,
            self.last_cmd,
            match self.protocol {
                Protocol::Resp2 => 2,
                Protocol::Resp3 => 3,
            },
            lib_name,
            lib_ver,
        )
    }
}

/// A core's live connections.
#[derive(Default)]
pub struct ClientRegistry {
    pub clients: ahash::AHashMap<u64, Rc<RefCell<ClientState>>>,
    /// This core's keys that connections (of any core) WATCH.
    pub watches: crate::shard::watch::WatchRegistry,
}

impl ClientRegistry {
    pub fn add(&mut self, c: Rc<RefCell<ClientState>>) {
        let id = c.borrow().id;
        self.clients.insert(id, c);
    }

    pub fn remove(&mut self, id: u64) {
        self.clients.remove(&id);
    }

    /// Closes a connection from the outside: its task sees the socket end and cleans up.
    pub fn kill(c: &ClientState) {
        c.killed.set(true);
        // SAFETY: shutdown(2) on a descriptor this core's connection task owns and has not closed yet (it
        // removes itself from the registry before closing); it only ends the socket's reads and writes.
        unsafe {
            libc::shutdown(c.fd, libc::SHUT_RDWR);
        }
    }
}
