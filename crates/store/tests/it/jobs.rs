//! The job queue: one job per key, claims by priority under a lease, expired leases claimed
//! again, retries after their backoff, failures kept with their reason.

use std::time::Duration;

use shoebox_core::{JobKind, MetadataStore, NewJob, PhotoId};

use crate::support::{store, two_photos};

fn job(photo: PhotoId, key: &str, priority: i32) -> NewJob {
    NewJob {
        photo,
        key: key.to_owned(),
        scope: SCOPE.to_owned(),
        priority,
    }
}

const SCOPE: &str = "model-a";
const LEASE: Duration = Duration::from_secs(600);

#[tokio::test]
async fn the_same_key_is_one_job_and_claims_go_by_priority() -> anyhow::Result<()> {
    let f = store().await?;
    let (_, ids) = two_photos(&f.store).await?;
    let jobs = vec![job(ids[0], "low", 10), job(ids[1], "high", 30)];
    assert_eq!(f.store.enqueue_jobs(JobKind::Embed, jobs.clone()).await?, 2);
    assert_eq!(
        f.store.enqueue_jobs(JobKind::Embed, jobs).await?,
        0,
        "idempotent"
    );
    // Another kind has its own keys.
    assert_eq!(
        f.store
            .enqueue_jobs(JobKind::Tag, vec![job(ids[0], "low", 10)])
            .await?,
        1
    );

    let first = f
        .store
        .claim_jobs(JobKind::Embed, SCOPE, "w1", 1, LEASE)
        .await?;
    assert_eq!(first.len(), 1);
    assert_eq!((first[0].key.as_str(), first[0].photo), ("high", ids[1]));
    assert!(
        f.store
            .claim_jobs(JobKind::Embed, "model-b", "w1", 10, LEASE)
            .await?
            .is_empty(),
        "another scope's jobs are not this worker's"
    );
    assert_eq!(first[0].attempts, 1);
    // A running job is not claimed again while its lease holds.
    let second = f
        .store
        .claim_jobs(JobKind::Embed, SCOPE, "w2", 10, LEASE)
        .await?;
    assert_eq!(
        second.iter().map(|j| j.key.as_str()).collect::<Vec<_>>(),
        ["low"]
    );
    assert!(
        f.store
            .claim_jobs(JobKind::Embed, SCOPE, "w3", 10, LEASE)
            .await?
            .is_empty()
    );

    let counts = f.store.job_counts().await?;
    let embed = counts
        .iter()
        .find(|c| c.kind == "embed")
        .expect("embed counts");
    assert_eq!((embed.queued, embed.running, embed.failed), (0, 2, 0));

    f.store
        .complete_jobs(vec![first[0].id, second[0].id])
        .await?;
    let counts = f.store.job_counts().await?;
    assert!(
        counts.iter().all(|c| c.kind != "embed"),
        "finished jobs leave: {counts:?}"
    );
    // Finished work enqueued again (its derived data went stale) is a job again.
    assert_eq!(
        f.store
            .enqueue_jobs(JobKind::Embed, vec![job(ids[0], "low", 10)])
            .await?,
        1
    );
    Ok(())
}

#[tokio::test]
async fn expired_leases_and_released_workers_give_their_jobs_back() -> anyhow::Result<()> {
    let f = store().await?;
    let (_, ids) = two_photos(&f.store).await?;
    f.store
        .enqueue_jobs(
            JobKind::Caption,
            vec![job(ids[0], "a", 10), job(ids[1], "b", 10)],
        )
        .await?;
    // A worker that died holding "a" under a lease that has run out.
    let dead = f
        .store
        .claim_jobs(JobKind::Caption, SCOPE, "dead", 1, Duration::ZERO)
        .await?;
    assert_eq!(dead[0].key, "a");
    let taken = f
        .store
        .claim_jobs(JobKind::Caption, SCOPE, "live", 10, LEASE)
        .await?;
    assert_eq!(
        taken
            .iter()
            .map(|j| (j.key.as_str(), j.attempts))
            .collect::<Vec<_>>(),
        [("a", 2), ("b", 1)]
    );
    // The only worker, at start-up, takes back what others held.
    assert_eq!(f.store.release_jobs("live").await?, 0, "its own stay");
    assert_eq!(f.store.release_jobs("next").await?, 2);
    assert_eq!(
        f.store
            .claim_jobs(JobKind::Caption, SCOPE, "next", 10, LEASE)
            .await?
            .len(),
        2
    );
    Ok(())
}

#[tokio::test]
async fn failures_retry_after_their_backoff_then_stay_with_their_reason() -> anyhow::Result<()> {
    let f = store().await?;
    let (_, ids) = two_photos(&f.store).await?;
    f.store
        .enqueue_jobs(JobKind::Embed, vec![job(ids[0], "a", 10)])
        .await?;
    let claimed = f
        .store
        .claim_jobs(JobKind::Embed, SCOPE, "w", 1, LEASE)
        .await?;
    f.store
        .fail_job(
            claimed[0].id,
            "truncated file",
            Some(Duration::from_secs(3600)),
        )
        .await?;
    assert!(
        f.store
            .claim_jobs(JobKind::Embed, SCOPE, "w", 1, LEASE)
            .await?
            .is_empty(),
        "waits out its backoff"
    );
    f.store
        .fail_job(claimed[0].id, "truncated file", Some(Duration::ZERO))
        .await?;
    let again = f
        .store
        .claim_jobs(JobKind::Embed, SCOPE, "w", 1, LEASE)
        .await?;
    assert_eq!(again[0].attempts, 2);
    f.store
        .fail_job(again[0].id, "truncated file", None)
        .await?;
    assert!(
        f.store
            .claim_jobs(JobKind::Embed, SCOPE, "w", 1, LEASE)
            .await?
            .is_empty()
    );
    let failures = f.store.job_failures(10).await?;
    assert_eq!(failures.len(), 1);
    assert_eq!(
        (
            failures[0].kind.as_str(),
            failures[0].photo,
            failures[0].attempts,
            failures[0].reason.as_str()
        ),
        ("embed", ids[0], 2, "truncated file")
    );
    // Failed for good: the same work is not queued again.
    assert_eq!(
        f.store
            .enqueue_jobs(JobKind::Embed, vec![job(ids[0], "a", 10)])
            .await?,
        0
    );
    Ok(())
}
