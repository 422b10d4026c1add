//! [`Cancelled`]: waits for a [`CancellationToken`] at the cost of an atomic load per poll.
//!
//! `token.cancelled()` re-checks its waiter list under a lock every time it is polled, and
//! the futures that wait for the proxy's shutdown tokens are polled on every wake-up of
//! their task (several per request). Polled once, the token keeps the task's waker, which
//! does not change for the life of a task: after that, looking at the flag is enough.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;
use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};

pin_project! {
    /// Resolves once `token` is cancelled (see the module docs).
    pub(crate) struct Cancelled<'a> {
        token: &'a CancellationToken,
        #[pin]
        wait: WaitForCancellationFuture<'a>,
        registered: bool,
    }
}

impl<'a> Cancelled<'a> {
    pub(crate) fn new(token: &'a CancellationToken) -> Self {
        Cancelled {
            token,
            wait: token.cancelled(),
            registered: false,
        }
    }
}

impl Future for Cancelled<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        if *this.registered {
            if this.token.is_cancelled() {
                return Poll::Ready(());
            }
            return Poll::Pending;
        }
        *this.registered = true;
        this.wait.poll(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn wakes_the_task_once_cancelled() {
        let token = CancellationToken::new();
        let waiter = {
            let token = token.clone();
            tokio::spawn(async move {
                let cancelled = Cancelled::new(&token);
                tokio::pin!(cancelled);
                // Polled many times (as in a select! loop) before the cancellation.
                let mut polls = 0;
                loop {
                    tokio::select! {
                        () = cancelled.as_mut() => return polls,
                        () = tokio::time::sleep(Duration::from_millis(5)) => polls += 1,
                    }
                }
            })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        token.cancel();
        let polls = tokio::time::timeout(Duration::from_secs(2), waiter)
            .await
            .expect("woken")
            .unwrap();
        assert!(polls > 1, "{polls}");
        // Already cancelled: ready at once.
        Cancelled::new(&token).await;
    }
}
