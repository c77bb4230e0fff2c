//! `GlommioRuntime` against openraft's runtime conformance suite, plus what the suite does not
//! check but slotkv relies on: panics and aborts of spawned tasks, detaching, channel close and
//! cancellation behaviour, and that thousands of idle groups cost the executor nothing.

use std::cell::Cell;
use std::future::{pending, Future};
use std::pin::pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_util::task::noop_waker;
use openraft_rt::testing::Suite;
use openraft_rt::{
    AsyncRuntime, Mpsc, MpscReceiver, MpscSender, Mutex, Oneshot, OneshotSender, Select4, Watch,
    WatchReceiver, WatchSender,
};
use raftlog::rt::{Elapsed, GlommioRuntime as Rt, JoinError};

/// Runs `future` on a fresh `GlommioRuntime` executor.
fn run<T>(future: impl Future<Output = T>) -> T {
    Rt::new(1).block_on(future)
}

fn poll_once<F: Future>(future: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    let waker = noop_waker();
    future.poll(&mut Context::from_waker(&waker))
}

#[test]
fn openraft_runtime_suite() {
    // Everything: block_on with !Send output, the per-primitive suite on one runtime, and the
    // deterministic-RNG suite (several runtimes, one after another).
    Suite::<Rt>::test_all();
}

#[test]
fn panicking_task_is_reported_and_the_executor_survives() {
    run(async {
        let handle = Rt::spawn(async {
            if Instant::now().elapsed() < Duration::from_secs(3600) {
                panic!("boom in a raft task");
            }
            1_u32
        });
        let err = handle.await.expect_err("a panicking task has no output");
        assert!(Rt::is_panic(&err));
        assert_eq!(err, JoinError::Panicked("boom in a raft task".to_owned()));
        assert_eq!(err.to_string(), "task panicked: boom in a raft task");

        // Other tasks keep running on the same executor.
        assert_eq!(Rt::spawn(async { 7 }).await, Ok(7));
    });
}

#[test]
fn aborted_task_is_cancelled_and_its_future_dropped() {
    struct SetOnDrop(Rc<Cell<bool>>);
    impl Drop for SetOnDrop {
        fn drop(&mut self) {
            self.0.set(true);
        }
    }

    run(async {
        let dropped = Rc::new(Cell::new(false));
        let guard = SetOnDrop(dropped.clone());
        let handle = Rt::spawn(async move {
            let _guard = guard;
            pending::<u32>().await
        });
        Rt::sleep(Duration::from_millis(2)).await;
        assert!(!dropped.get());

        handle.abort();
        let err = handle.await.expect_err("an aborted task has no output");
        assert_eq!(err, JoinError::Cancelled);
        assert!(!Rt::is_panic(&err));
        assert!(dropped.get(), "the aborted task's future must be dropped");

        // Aborting a finished task changes nothing.
        let done = Rt::spawn(async { 3 });
        Rt::sleep(Duration::from_millis(1)).await;
        done.abort();
        assert_eq!(done.await, Ok(3));
    });
}

#[test]
fn dropping_a_handle_detaches_the_task() {
    run(async {
        let (tx, rx) = <Rt as AsyncRuntime>::Oneshot::channel::<u32>();
        drop(Rt::spawn(async move {
            Rt::sleep(Duration::from_millis(5)).await;
            tx.send(11).unwrap();
        }));
        assert_eq!(rx.await, Ok(11));
    });
}

#[test]
fn sleeps_and_timeouts_at_the_edges() {
    run(async {
        // A deadline in the past is ready on the first poll.
        let past = Instant::now() - Duration::from_secs(1);
        assert!(poll_once(pin!(Rt::sleep_until(past))).is_ready());
        assert!(poll_once(pin!(Rt::sleep(Duration::ZERO))).is_ready());

        // A ready future wins even against an elapsed deadline.
        assert_eq!(Rt::timeout(Duration::ZERO, async { 5 }).await, Ok(5));
        assert_eq!(Rt::timeout_at(past, async { 6 }).await, Ok(6));

        // A pending one loses promptly, with the runtime's error.
        let start = Instant::now();
        let res = Rt::timeout(Duration::from_millis(5), pending::<()>()).await;
        assert_eq!(res, Err(Elapsed));
        assert!(start.elapsed() >= Duration::from_millis(5));
        assert!(start.elapsed() < Duration::from_secs(1));

        // An unrepresentable duration means "never", not a panic.
        assert_eq!(Rt::timeout(Duration::MAX, async { 8 }).await, Ok(8));
        assert!(poll_once(pin!(Rt::sleep(Duration::MAX))).is_pending());
    });
}

#[test]
fn spawned_tasks_inherit_the_task_queue() {
    run(async {
        let queue = glommio::executor().create_task_queue(
            glommio::Shares::default(),
            glommio::Latency::NotImportant,
            "raft-groups",
        );
        let inner = glommio::spawn_local_into(
            async {
                let spawner = glommio::executor().current_task_queue();
                let spawned = Rt::spawn(async { glommio::executor().current_task_queue() })
                    .await
                    .unwrap();
                (spawner, spawned)
            },
            queue,
        )
        .unwrap()
        .await;
        assert_eq!(inner.0, queue);
        assert_eq!(inner.1, queue);
    });
}

#[test]
fn blocked_sender_fails_when_the_receiver_goes() {
    run(async {
        let (tx, rx) = <Rt as AsyncRuntime>::Mpsc::channel::<u32>(1);
        tx.send(1).await.unwrap();
        let blocked = Rt::spawn(async move { tx.send(2).await });
        Rt::sleep(Duration::from_millis(2)).await;

        drop(rx);
        let sent = Rt::timeout(Duration::from_secs(5), blocked)
            .await
            .expect("blocked sender was not released");
        assert_eq!(sent.unwrap().unwrap_err().0, 2);
    });
}

#[test]
fn a_woken_sender_that_is_cancelled_passes_the_wake_up_on() {
    run(async {
        let (tx, mut rx) = <Rt as AsyncRuntime>::Mpsc::channel::<u32>(1);
        tx.send(0).await.unwrap();
        let first = Rt::spawn({
            let tx = tx.clone();
            async move { tx.send(1).await }
        });
        Rt::sleep(Duration::from_millis(2)).await;
        let second = Rt::spawn({
            let tx = tx.clone();
            async move { tx.send(2).await }
        });
        Rt::sleep(Duration::from_millis(2)).await;

        // Frees the slot and wakes the first waiting sender, which is then cancelled before it
        // runs: the second one must get the slot instead of waiting forever.
        assert_eq!(rx.try_recv(), Ok(0));
        first.abort();
        assert_eq!(first.await.unwrap_err(), JoinError::Cancelled);

        let got = Rt::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("the wake-up was lost");
        assert_eq!(got, Some(2));
        second.await.unwrap().unwrap();
    });
}

#[test]
fn watch_sender_drop_wakes_every_waiting_receiver() {
    run(async {
        let (tx, rx) = <Rt as AsyncRuntime>::Watch::channel(0_u32);
        let waiters: Vec<_> = (0..8)
            .map(|_| {
                let mut rx = rx.clone();
                Rt::spawn(async move { rx.changed().await })
            })
            .collect();
        Rt::sleep(Duration::from_millis(2)).await;

        // A send that changes nothing wakes no one.
        assert!(!tx.send_if_modified(|_| false));
        drop(tx);
        for waiter in waiters {
            let res = Rt::timeout(Duration::from_secs(5), waiter)
                .await
                .expect("receiver not woken on close");
            assert!(res.unwrap().is_err());
        }
        // The last value stays readable after the sender is gone.
        assert_eq!(*rx.borrow_watched(), 0);
    });
}

/// 2048 Raft groups, each with a task parked on every primitive, must not make the executor run
/// anything while nothing happens; then closing their channels must wake each one.
#[test]
fn idle_groups_do_not_wake_the_executor() {
    const GROUPS: usize = 2048;
    run(async {
        let lock = Arc::new(<Rt as AsyncRuntime>::Mutex::new(()));
        let held = lock.lock().await;

        let mut senders = Vec::with_capacity(GROUPS);
        let mut tasks = Vec::with_capacity(GROUPS);
        for _ in 0..GROUPS {
            let (mtx, mut mrx) = <Rt as AsyncRuntime>::Mpsc::channel::<u64>(64);
            let (wtx, mut wrx) = <Rt as AsyncRuntime>::Watch::channel(0_u64);
            let (otx, orx) = <Rt as AsyncRuntime>::Oneshot::channel::<u64>();
            let lock = lock.clone();
            tasks.push(Rt::spawn(async move {
                let far = Duration::from_secs(3600);
                let waits = Rt::select4(
                    mrx.recv(),
                    wrx.changed(),
                    orx,
                    Rt::select2(Rt::sleep(far), Rt::timeout(far, lock.lock())),
                );
                // Only the mpsc branch can complete: its sender is dropped below.
                matches!(waits.await, Select4::First(None))
            }));
            senders.push((mtx, wtx, otx));
        }
        // Let every task reach its waits, then count what runs during an idle stretch.
        Rt::sleep(Duration::from_millis(20)).await;
        let _reset = glommio::executor().executor_stats();
        Rt::sleep(Duration::from_millis(200)).await;
        let ran = glommio::executor().executor_stats().tasks_executed();
        assert!(
            ran <= 2,
            "{ran} task runs while {GROUPS} groups were idle (expected only this one)"
        );

        // Closing a group's mpsc wakes that group (its watch and oneshot senders stay alive).
        let mut still_open = Vec::with_capacity(GROUPS);
        for (mtx, wtx, otx) in senders {
            drop(mtx);
            still_open.push((wtx, otx));
        }
        for task in tasks {
            let closed = Rt::timeout(Duration::from_secs(5), task)
                .await
                .expect("group not woken");
            assert!(
                closed.unwrap(),
                "a group woke on something other than its closed channel"
            );
        }
        drop(held);
        drop(still_open);
    });
}
