//! Pub/Sub on one core: who subscribes to what, and each subscriber's mailbox.
//!
//! A subscriber lives on the core of its connection, so its subscriptions are registered there and
//! nowhere else: nothing about them crosses cores. A PUBLISH is run on every core (`cmd::pubsub::publish`
//! spreads it over the mesh); each core delivers to its own subscribers and answers with how many it
//! reached. Because the publishing connection waits for every core before its next request, and the mesh
//! keeps the order of calls between two cores, one subscriber sees one publisher's messages in order.
//!
//! Delivery never writes to a socket. It leaves the message in the subscriber's [`Mailbox`] and wakes its
//! connection task, which moves the mailbox into its reply stream at the point the message arrived
//! relative to the connection's replies (see `net::connection`). A mailbox is where a slow subscriber's
//! backlog piles up, so the `client-output-buffer-limit` pubsub class is enforced here, as messages
//! arrive: past the hard limit, or above the soft limit for longer than its seconds, the subscriber is cut
//! off (its backlog dropped, its socket shut down) — memory stays bounded however fast others publish.
//!
//! Channel names, patterns and payloads are copied out of the request buffers they arrived in before
//! being kept, so a retained message never pins a whole read buffer.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::os::fd::RawFd;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use ahash::{AHashMap, AHashSet};
use bytes::{BufMut, Bytes, BytesMut};
use resp::Protocol;

use crate::cmd::keys::pattern;

/// Per-message bookkeeping counted against the output limit on top of the encoded data.
const MESSAGE_OVERHEAD: usize = 64;

/// `client-output-buffer-limit` of one class: hard bytes, soft bytes, soft seconds (0 = no limit).
pub type OutputLimit = (u64, u64, u64);

/// One published message on its way to one subscriber.
struct Message {
    /// The pattern that matched, for `pmessage`.
    pattern: Option<Bytes>,
    channel: Bytes,
    payload: Bytes,
}

impl Message {
    fn cost(&self) -> usize {
        self.pattern.as_ref().map_or(0, |p| p.len())
            + self.channel.len()
            + self.payload.len()
            + MESSAGE_OVERHEAD
    }

    /// `message` / `pmessage` as Redis sends it: an array in RESP2, a push in RESP3.
    fn encode(&self, proto: Protocol, out: &mut BytesMut) {
        let kind: &[u8] = if proto == Protocol::Resp3 { b">" } else { b"*" };
        out.put_slice(kind);
        match &self.pattern {
            Some(p) => {
                out.put_slice(b"4\r\n$8\r\npmessage\r\n");
                put_bulk(out, p);
            }
            None => out.put_slice(b"3\r\n$7\r\nmessage\r\n"),
        }
        put_bulk(out, &self.channel);
        put_bulk(out, &self.payload);
    }
}

fn put_bulk(out: &mut BytesMut, data: &[u8]) {
    let mut digits = [0u8; 20];
    let mut n = data.len();
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.reserve(data.len() + 25);
    out.put_u8(b'$');
    out.put_slice(&digits[i..]);
    out.put_slice(b"\r\n");
    out.put_slice(data);
    out.put_slice(b"\r\n");
}

#[derive(Default)]
struct MailboxState {
    queue: VecDeque<Message>,
    /// Bytes waiting in `queue`.
    queued: usize,
    /// Bytes the connection took out of the mailbox and has not finished writing.
    taken: usize,
    /// Since when the backlog has been above the soft limit.
    over_soft_since: Option<Instant>,
    waker: Option<Waker>,
    cut_off: bool,
}

/// Where publishers on this core leave messages for one subscribed connection.
pub struct Mailbox {
    client_id: u64,
    fd: RawFd,
    /// The connection's `killed` flag.
    killed: Rc<Cell<bool>>,
    state: RefCell<MailboxState>,
}

impl Mailbox {
    /// Queues a message unless the subscriber was cut off; cuts it off when its backlog passes the limit.
    fn deliver(&self, msg: Message, (hard, soft, soft_secs): OutputLimit) {
        let mut st = self.state.borrow_mut();
        if st.cut_off {
            return;
        }
        let backlog = (st.queued + st.taken + msg.cost()) as u64;
        let over = if hard != 0 && backlog > hard {
            true
        } else if soft != 0 && backlog > soft {
            // As Redis: over once the backlog stayed above the soft limit for more than its seconds.
            let since = *st.over_soft_since.get_or_insert_with(Instant::now);
            since.elapsed() > Duration::from_secs(soft_secs)
        } else {
            st.over_soft_since = None;
            false
        };
        if over {
            log::warn!(
                "client id={} closed for overcoming of output buffer limits ({backlog} bytes of \
                 pubsub messages pending)",
                self.client_id
            );
            st.cut_off = true;
            st.queue = VecDeque::new();
            st.queued = 0;
            self.killed.set(true);
            // SAFETY: shutdown(2) on the connection's socket, which stays open while its mailbox is
            // registered (the connection unregisters before closing it); it only ends reads and writes, so
            // the connection task sees an error and cleans up.
            unsafe {
                libc::shutdown(self.fd, libc::SHUT_RDWR);
            }
        } else {
            st.queued += msg.cost();
            st.queue.push_back(msg);
        }
        if let Some(w) = st.waker.take() {
            w.wake();
        }
    }

    /// Whether messages wait.
    #[inline]
    pub fn has_messages(&self) -> bool {
        !self.state.borrow().queue.is_empty()
    }

    /// Whether the subscriber was cut off for passing its output limit.
    pub fn is_cut_off(&self) -> bool {
        self.state.borrow().cut_off
    }

    /// Encodes every waiting message into `out`; they count against the limit until [`Mailbox::written`].
    pub fn take_into(&self, proto: Protocol, out: &mut BytesMut) {
        let mut st = self.state.borrow_mut();
        if st.queue.is_empty() {
            return;
        }
        let moved = std::mem::take(&mut st.queued);
        st.taken += moved;
        for msg in st.queue.drain(..) {
            msg.encode(proto, out);
        }
    }

    /// The connection wrote out what it took.
    pub fn written(&self) {
        self.state.borrow_mut().taken = 0;
    }

    /// Resolves once a message waits (or the subscriber was cut off).
    pub fn wait(&self) -> MailboxWait<'_> {
        MailboxWait { mailbox: self }
    }
}

/// Future of [`Mailbox::wait`].
pub struct MailboxWait<'a> {
    mailbox: &'a Mailbox,
}

impl Future for MailboxWait<'_> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut st = self.mailbox.state.borrow_mut();
        if !st.queue.is_empty() || st.cut_off {
            Poll::Ready(())
        } else {
            st.waker = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}

/// One connection's subscriptions (kept in its `ClientState` from its first SUBSCRIBE on).
pub struct Subscriptions {
    pub mailbox: Rc<Mailbox>,
    pub channels: AHashSet<Bytes>,
    pub patterns: AHashSet<Bytes>,
}

impl Subscriptions {
    pub fn new(client_id: u64, fd: RawFd, killed: Rc<Cell<bool>>) -> Subscriptions {
        Subscriptions {
            mailbox: Rc::new(Mailbox {
                client_id,
                fd,
                killed,
                state: RefCell::new(MailboxState::default()),
            }),
            channels: AHashSet::new(),
            patterns: AHashSet::new(),
        }
    }

    /// Channels plus patterns: the count subscribe confirmations report.
    #[inline]
    pub fn count(&self) -> usize {
        self.channels.len() + self.patterns.len()
    }
}

/// Channel or pattern.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Channel,
    Pattern,
}

/// This core's subscriptions: channel → subscribers, pattern → subscribers.
#[derive(Default)]
pub struct PubSub {
    channels: AHashMap<Bytes, Vec<Rc<Mailbox>>>,
    patterns: AHashMap<Bytes, Vec<Rc<Mailbox>>>,
    /// Connections on this core with at least one subscription.
    clients: usize,
}

impl PubSub {
    fn map(&mut self, kind: Kind) -> &mut AHashMap<Bytes, Vec<Rc<Mailbox>>> {
        match kind {
            Kind::Channel => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
        }
    }

    /// Subscribes `subs` to a channel or pattern; false if it already was.
    pub fn subscribe(&mut self, subs: &mut Subscriptions, kind: Kind, name: &[u8]) -> bool {
        let set = match kind {
            Kind::Channel => &mut subs.channels,
            Kind::Pattern => &mut subs.patterns,
        };
        if set.contains(name) {
            return false;
        }
        let name = Bytes::copy_from_slice(name);
        let was_subscribed = subs.count() > 0;
        match kind {
            Kind::Channel => subs.channels.insert(name.clone()),
            Kind::Pattern => subs.patterns.insert(name.clone()),
        };
        self.map(kind)
            .entry(name)
            .or_default()
            .push(subs.mailbox.clone());
        if !was_subscribed {
            self.clients += 1;
        }
        true
    }

    /// Unsubscribes `subs` from a channel or pattern; false if it was not subscribed.
    pub fn unsubscribe(&mut self, subs: &mut Subscriptions, kind: Kind, name: &[u8]) -> bool {
        let removed = match kind {
            Kind::Channel => subs.channels.remove(name),
            Kind::Pattern => subs.patterns.remove(name),
        };
        if !removed {
            return false;
        }
        let map = self.map(kind);
        if let Some(list) = map.get_mut(name) {
            if let Some(i) = list.iter().position(|m| Rc::ptr_eq(m, &subs.mailbox)) {
                list.swap_remove(i);
            }
            if list.is_empty() {
                map.remove(name);
            }
        }
        if subs.count() == 0 {
            self.clients -= 1;
        }
        true
    }

    /// Drops every subscription of `subs` without confirmations (RESET, disconnect).
    pub fn forget(&mut self, subs: &mut Subscriptions) {
        let channels: Vec<Bytes> = subs.channels.iter().cloned().collect();
        for c in channels {
            self.unsubscribe(subs, Kind::Channel, &c);
        }
        let patterns: Vec<Bytes> = subs.patterns.iter().cloned().collect();
        for p in patterns {
            self.unsubscribe(subs, Kind::Pattern, &p);
        }
    }

    /// Delivers a message to this core's subscribers of `channel` and of every pattern matching it;
    /// returns how many deliveries that made (a connection subscribed twice over receives twice).
    pub fn publish(&self, channel: &[u8], payload: &[u8], limit: OutputLimit) -> usize {
        let mut copied: Option<(Bytes, Bytes)> = None;
        let mut copy = || {
            copied
                .get_or_insert_with(|| {
                    (
                        Bytes::copy_from_slice(channel),
                        Bytes::copy_from_slice(payload),
                    )
                })
                .clone()
        };
        let mut receivers = 0;
        if let Some(subs) = self.channels.get(channel) {
            let (channel, payload) = copy();
            for m in subs {
                m.deliver(
                    Message {
                        pattern: None,
                        channel: channel.clone(),
                        payload: payload.clone(),
                    },
                    limit,
                );
            }
            receivers += subs.len();
        }
        for (pat, subs) in &self.patterns {
            if !pattern::matches(pat, channel) {
                continue;
            }
            let (channel, payload) = copy();
            for m in subs {
                m.deliver(
                    Message {
                        pattern: Some(pat.clone()),
                        channel: channel.clone(),
                        payload: payload.clone(),
                    },
                    limit,
                );
            }
            receivers += subs.len();
        }
        receivers
    }

    /// Channels with subscribers on this core, optionally only those matching a glob pattern.
    pub fn channels(&self, matching: Option<&[u8]>) -> Vec<Bytes> {
        self.channels
            .keys()
            .filter(|c| matching.is_none_or(|p| pattern::matches(p, c)))
            .cloned()
            .collect()
    }

    /// Subscribers of `channel` on this core (pattern subscriptions not included).
    pub fn subscribers(&self, channel: &[u8]) -> usize {
        self.channels.get(channel).map_or(0, Vec::len)
    }

    /// Patterns subscribed to on this core.
    pub fn patterns(&self) -> Vec<Bytes> {
        self.patterns.keys().cloned().collect()
    }

    /// How many patterns are subscribed to on this core.
    pub fn pattern_count(&self) -> usize {
        self.patterns.len()
    }

    /// What INFO shows for this core: names when several cores must be merged (a channel subscribed on
    /// two cores counts once), counts alone otherwise.
    pub fn info(&self, with_names: bool) -> PubSubInfo {
        PubSubInfo {
            clients: self.clients,
            channel_count: self.channels.len(),
            pattern_count: self.patterns.len(),
            channels: if with_names {
                self.channels(None)
            } else {
                Vec::new()
            },
            patterns: if with_names {
                self.patterns()
            } else {
                Vec::new()
            },
        }
    }
}

/// One core's Pub/Sub numbers for INFO.
#[derive(Debug, Clone, Default)]
pub struct PubSubInfo {
    pub clients: usize,
    channel_count: usize,
    pattern_count: usize,
    channels: Vec<Bytes>,
    patterns: Vec<Bytes>,
}

impl PubSubInfo {
    /// Node-wide `(pubsub_clients, pubsub_channels, pubsub_patterns)`: distinct channels and patterns.
    pub fn merge<'a>(cores: impl Iterator<Item = &'a PubSubInfo>) -> (usize, usize, usize) {
        let cores: Vec<&PubSubInfo> = cores.collect();
        let clients = cores.iter().map(|c| c.clients).sum();
        if cores.len() == 1 {
            return (clients, cores[0].channel_count, cores[0].pattern_count);
        }
        let distinct = |f: fn(&PubSubInfo) -> &Vec<Bytes>| {
            cores
                .iter()
                .flat_map(|c| f(c).iter())
                .collect::<AHashSet<_>>()
                .len()
        };
        (
            clients,
            distinct(|c| &c.channels),
            distinct(|c| &c.patterns),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subs(id: u64) -> Subscriptions {
        // fd -1: shutdown(2) on it fails harmlessly if a test cuts the subscriber off.
        Subscriptions::new(id, -1, Rc::new(Cell::new(false)))
    }

    fn drained(m: &Mailbox, proto: Protocol) -> Vec<u8> {
        let mut out = BytesMut::new();
        m.take_into(proto, &mut out);
        out.to_vec()
    }

    const NO_LIMIT: OutputLimit = (0, 0, 0);

    #[test]
    fn channels_and_patterns_deliver_and_count() {
        let mut ps = PubSub::default();
        let mut a = subs(1);
        let mut b = subs(2);
        assert!(ps.subscribe(&mut a, Kind::Channel, b"news"));
        assert!(!ps.subscribe(&mut a, Kind::Channel, b"news"));
        assert!(ps.subscribe(&mut a, Kind::Pattern, b"n*"));
        assert!(ps.subscribe(&mut b, Kind::Channel, b"news"));
        assert_eq!(ps.clients, 2);
        assert_eq!(ps.publish(b"news", b"hi", NO_LIMIT), 3);
        assert_eq!(ps.publish(b"nope", b"x", NO_LIMIT), 1);
        assert_eq!(ps.publish(b"other", b"x", NO_LIMIT), 0);
        assert_eq!(
            drained(&a.mailbox, Protocol::Resp2),
            b"*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n\
              *4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$2\r\nhi\r\n\
              *4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnope\r\n$1\r\nx\r\n"
                .to_vec()
        );
        assert_eq!(
            drained(&b.mailbox, Protocol::Resp3),
            b">3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n".to_vec()
        );
        assert_eq!(ps.subscribers(b"news"), 2);
        assert_eq!(
            ps.channels(Some(b"n?ws")),
            vec![Bytes::from_static(b"news")]
        );
        ps.forget(&mut a);
        assert_eq!(ps.clients, 1);
        assert_eq!(ps.patterns().len(), 0);
        assert!(ps.unsubscribe(&mut b, Kind::Channel, b"news"));
        assert!(!ps.unsubscribe(&mut b, Kind::Channel, b"news"));
        assert_eq!(ps.clients, 0);
        assert!(ps.channels(None).is_empty());
        assert_eq!(ps.publish(b"news", b"hi", NO_LIMIT), 0);
    }

    #[test]
    fn a_backlog_past_the_hard_limit_cuts_the_subscriber_off() {
        let mut ps = PubSub::default();
        let mut a = subs(1);
        ps.subscribe(&mut a, Kind::Channel, b"c");
        let payload = vec![b'x'; 1000];
        for _ in 0..9 {
            ps.publish(b"c", &payload, (10_000, 0, 0));
        }
        assert!(!a.mailbox.is_cut_off());
        assert!(a.mailbox.has_messages());
        // Taken but unwritten bytes still count.
        let mut out = BytesMut::new();
        a.mailbox.take_into(Protocol::Resp2, &mut out);
        ps.publish(b"c", &payload, (10_000, 0, 0));
        ps.publish(b"c", &payload, (10_000, 0, 0));
        assert!(a.mailbox.is_cut_off());
        assert!(a.mailbox.killed.get());
        assert!(!a.mailbox.has_messages());
    }

    #[test]
    fn written_bytes_stop_counting() {
        let mut ps = PubSub::default();
        let mut a = subs(1);
        ps.subscribe(&mut a, Kind::Channel, b"c");
        let payload = vec![b'x'; 1000];
        for _ in 0..100 {
            ps.publish(b"c", &payload, (5_000, 0, 0));
            drained(&a.mailbox, Protocol::Resp2);
            a.mailbox.written();
        }
        assert!(!a.mailbox.is_cut_off());
    }

    #[test]
    fn info_merges_distinct_names() {
        let mut one = PubSub::default();
        let mut two = PubSub::default();
        let (mut a, mut b) = (subs(1), subs(2));
        one.subscribe(&mut a, Kind::Channel, b"x");
        one.subscribe(&mut a, Kind::Pattern, b"p*");
        two.subscribe(&mut b, Kind::Channel, b"x");
        two.subscribe(&mut b, Kind::Channel, b"y");
        two.subscribe(&mut b, Kind::Pattern, b"p*");
        let infos = [one.info(true), two.info(true)];
        assert_eq!(PubSubInfo::merge(infos.iter()), (2, 2, 1));
        assert_eq!(PubSubInfo::merge([two.info(false)].iter()), (1, 2, 1));
    }
}
