//! Bounded parallel setup work (enrolling members, seeding balances, growing a ledger).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::Context;

/// Runs `f(0) .. f(count - 1)` with at most `parallelism` running at once and returns their
/// results in index order; the first error fails the whole (the others finish their current
/// item and stop).
pub async fn parallel_map<T, F, Fut>(
    count: usize,
    parallelism: usize,
    f: F,
) -> anyhow::Result<Vec<T>>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<T>> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let f = Arc::new(f);
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..parallelism.clamp(1, count.max(1)) {
        let (next, f) = (Arc::clone(&next), Arc::clone(&f));
        workers.spawn(async move {
            let mut done = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    return anyhow::Ok(done);
                }
                match f(i).await {
                    Ok(value) => done.push((i, value)),
                    Err(err) => {
                        // Stop the other workers after their current item.
                        next.store(count, Ordering::Relaxed);
                        return Err(err.context(format!("item {i}")));
                    }
                }
            }
        });
    }
    let mut slots: Vec<Option<T>> = (0..count).map(|_| None).collect();
    while let Some(joined) = workers.join_next().await {
        for (i, value) in joined.context("a worker task failed")?? {
            slots[i] = Some(value);
        }
    }
    slots
        .into_iter()
        .enumerate()
        .map(|(i, slot)| slot.with_context(|| format!("item {i} was not done")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn results_come_back_in_index_order() -> anyhow::Result<()> {
        let squares = parallel_map(50, 7, |i| async move { Ok(i * i) }).await?;
        assert_eq!(squares, (0..50).map(|i| i * i).collect::<Vec<_>>());
        Ok(())
    }

    #[tokio::test]
    async fn one_failed_item_fails_the_whole() {
        let result = parallel_map(20, 3, |i| async move {
            anyhow::ensure!(i != 13, "unlucky");
            Ok(i)
        })
        .await;
        assert!(result.is_err());
    }

    #[tokio::test]
    async fn nothing_to_do_returns_nothing() -> anyhow::Result<()> {
        let none: Vec<usize> = parallel_map(0, 4, |i| async move { Ok(i) }).await?;
        assert!(none.is_empty());
        Ok(())
    }
}
