//! A minimal, safe wrapper around one epoll instance per client thread.
//!
//! Why epoll and not glommio's io_uring streams (the rest of slotkv's choice): a load generator
//! must cost the client machine as little as possible per request. glommio arms a one-shot
//! io_uring poll for every reply and its rings run without `COOP_TASKRUN`, so each completion
//! kicks the running client thread with an inter-processor interrupt; on our VMs that alone
//! cost 13% of the client's CPU with 16-deep pipelining and made it no cheaper than
//! redis-benchmark (measured, see docs/benchmarks.md). Level-triggered epoll with every socket
//! registered once costs one `epoll_wait` per batch of ready sockets and nothing per request
//! beyond the `send` and `recv` themselves.
//!
//! Timeouts use `epoll_pwait2` (nanosecond resolution, Linux 5.11+), falling back to
//! millisecond `epoll_wait` on older kernels; open-loop schedules need better than 1 ms.

use std::io;
use std::os::fd::RawFd;
use std::time::Duration;

/// Readiness reported for one registered socket.
#[derive(Clone, Copy, Debug)]
pub struct Event {
    pub token: u64,
    pub readable: bool,
    pub writable: bool,
    /// Error or hang-up on the socket (a read will say which).
    pub closed: bool,
}

pub struct Poller {
    epfd: RawFd,
    events: Vec<libc::epoll_event>,
    use_pwait2: bool,
}

impl Poller {
    pub fn new() -> io::Result<Poller> {
        // SAFETY: plain syscall; the returned fd is owned by the Poller and closed in Drop.
        let epfd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if epfd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Poller {
            epfd,
            events: vec![libc::epoll_event { events: 0, u64: 0 }; 256],
            use_pwait2: true,
        })
    }

    fn ctl(&self, op: libc::c_int, fd: RawFd, token: u64, write: bool) -> io::Result<()> {
        let mut ev = libc::epoll_event {
            events: (libc::EPOLLIN | libc::EPOLLRDHUP) as u32
                | if write { libc::EPOLLOUT as u32 } else { 0 },
            u64: token,
        };
        // SAFETY: `ev` is a valid epoll_event for the duration of the call; epfd is ours.
        if unsafe { libc::epoll_ctl(self.epfd, op, fd, &mut ev) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Watches `fd` for reads (level-triggered) under `token`.
    pub fn add(&self, fd: RawFd, token: u64) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_ADD, fd, token, false)
    }

    /// Turns write interest on or off (on only while a write is incomplete).
    pub fn set_write_interest(&self, fd: RawFd, token: u64, on: bool) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_MOD, fd, token, on)
    }

    /// Waits for readiness, at most `timeout` (`None`: indefinitely); fills `out`.
    pub fn wait(&mut self, out: &mut Vec<Event>, timeout: Option<Duration>) -> io::Result<()> {
        out.clear();
        let max = self.events.len() as libc::c_int;
        let n = loop {
            let n = if self.use_pwait2 {
                let ts = timeout.map(|d| libc::timespec {
                    tv_sec: d.as_secs() as libc::time_t,
                    tv_nsec: libc::c_long::from(d.subsec_nanos() as i32),
                });
                let tsp = ts
                    .as_ref()
                    .map_or(std::ptr::null(), |t| t as *const libc::timespec);
                // SAFETY: `events` has room for `max` entries; `tsp` is null or points to `ts`,
                // which outlives the call; a null sigmask means "unchanged".
                unsafe {
                    libc::epoll_pwait2(
                        self.epfd,
                        self.events.as_mut_ptr(),
                        max,
                        tsp,
                        std::ptr::null(),
                    )
                }
            } else {
                let ms = timeout.map_or(-1, |d| {
                    d.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128) as libc::c_int
                });
                // SAFETY: `events` has room for `max` entries.
                unsafe { libc::epoll_wait(self.epfd, self.events.as_mut_ptr(), max, ms) }
            };
            if n >= 0 {
                break n as usize;
            }
            let err = io::Error::last_os_error();
            match err.raw_os_error() {
                Some(libc::EINTR) => return Ok(()),
                Some(libc::ENOSYS) if self.use_pwait2 => self.use_pwait2 = false,
                _ => return Err(err),
            }
        };
        for ev in &self.events[..n] {
            let bits = ev.events;
            out.push(Event {
                token: ev.u64,
                readable: bits & (libc::EPOLLIN as u32) != 0,
                writable: bits & (libc::EPOLLOUT as u32) != 0,
                closed: bits & ((libc::EPOLLERR | libc::EPOLLHUP | libc::EPOLLRDHUP) as u32) != 0,
            });
        }
        Ok(())
    }
}

impl Drop for Poller {
    fn drop(&mut self) {
        // SAFETY: epfd was returned by epoll_create1 and is closed exactly once.
        unsafe { libc::close(self.epfd) };
    }
}

/// Asks the kernel to wake this thread on time: the default 50 µs timer slack would delay every
/// open-loop send by up to that much.
pub fn tighten_timer_slack() {
    // SAFETY: PR_SET_TIMERSLACK takes a plain integer argument and affects only this thread.
    unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong) };
}
