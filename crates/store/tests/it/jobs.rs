//! The job queue: work enqueued as it appears (a scope's back-fill, then triggers), counts as
//! queries that match the store's listings, claims by priority across kinds, fencing of every
//! write by the claim, retries, dead jobs and their retry, and a stopped worker's jobs.

use std::time::Duration;

use shoebox_core::{
    Claim, Error, JobKind, JobQueue, JobScope, MetadataStore, NewJob, PhotoId, PhotoWrite,
    StoredCaption, StoredEmbedding, Wanted, ZeroShotTags,
};
use shoebox_store::SqliteStore;

use crate::support::{failed, hash, insert, replace, root, store, two_photos};

const MODEL: &str = "model-a";
const TAGGER: &str = "model-a#vocabulary";
const CAPTIONER: &str = "blip:en";
const LEASE: Duration = Duration::from_secs(600);

fn scope(kind: JobKind, name: &str, priority: i32) -> JobScope {
    JobScope {
        kind,
        scope: name.to_owned(),
        model: if kind == JobKind::Caption {
            "blip"
        } else {
            MODEL
        }
        .to_owned(),
        lang: if kind == JobKind::Caption { "en" } else { "" }.to_owned(),
        priority,
    }
}

fn wanted(kind: JobKind, name: &str, limit: u32) -> Wanted {
    Wanted {
        kind,
        scope: name.to_owned(),
        limit,
    }
}

async fn set_all(store: &SqliteStore) -> anyhow::Result<u64> {
    Ok(store
        .set_scopes(JobKind::Embed, vec![scope(JobKind::Embed, MODEL, 30)])
        .await?
        + store
            .set_scopes(JobKind::Tag, vec![scope(JobKind::Tag, TAGGER, 30)])
            .await?
        + store
            .set_scopes(
                JobKind::Caption,
                vec![scope(JobKind::Caption, CAPTIONER, 10)],
            )
            .await?)
}

/// Each stage's unfinished photos, counted by the queue and listed by the store.
async fn counted_and_listed(store: &SqliteStore) -> anyhow::Result<Vec<(u64, usize)>> {
    let total = |c: Option<shoebox_core::JobCounts>| c.map_or(0, |c| c.queued + c.running + c.dead);
    Ok(vec![
        (
            total(store.scope_counts(JobKind::Embed, MODEL).await?),
            store.pending_embeddings(MODEL, u32::MAX).await?.len(),
        ),
        (
            total(store.scope_counts(JobKind::Tag, TAGGER).await?),
            store.pending_tagging(MODEL, TAGGER, u32::MAX).await?.len(),
        ),
        (
            total(store.scope_counts(JobKind::Caption, CAPTIONER).await?),
            store.pending_captions("blip", "en", u32::MAX).await?.len(),
        ),
    ])
}

fn embedding(photo: PhotoId, n: u8) -> StoredEmbedding {
    StoredEmbedding {
        photo,
        hash: hash(n),
        vector: vec![1.0, 0.0],
    }
}

#[tokio::test]
async fn work_appears_with_the_photos_and_counts_match_the_listings() -> anyhow::Result<()> {
    let f = store().await?;
    let s = &f.store;
    let (r, ids) = two_photos(s).await?;
    assert_eq!(
        s.scope_counts(JobKind::Embed, MODEL).await?,
        None,
        "not set"
    );
    // A new scope back-fills the library: two embeddings, two captions (nothing to tag yet).
    assert_eq!(set_all(s).await?, 4);
    assert_eq!(set_all(s).await?, 0, "a scope already set costs nothing");
    let same = |pairs: Vec<(u64, usize)>| pairs.iter().all(|(c, l)| *c as usize == *l);
    let pairs = counted_and_listed(s).await?;
    assert!(same(pairs.clone()), "{pairs:?}");
    assert_eq!(pairs.iter().map(|p| p.1).collect::<Vec<_>>(), [2, 0, 2]);

    // New photos (and a failed one) through the triggers.
    s.apply(vec![
        insert(r, "c.jpg", 3),
        failed(r, "bad.jpg", "truncated"),
    ])
    .await?;
    // An embedding lands: its tagging appears; the photo's embedding job is stale work the
    // handler finishes, still counted until then as the listing no longer does.
    s.put_embeddings(MODEL, vec![embedding(ids[0], 1)]).await?;
    let claims = s
        .claim(&[wanted(JobKind::Embed, MODEL, 1)], "w", LEASE)
        .await?;
    assert_eq!(claims[0].photo, ids[0]);
    s.complete(std::slice::from_ref(&claims[0].claim)).await?;
    // A caption lands; a tagging run; content changes; a photo goes.
    s.put_captions(
        "blip",
        vec![StoredCaption {
            photo: ids[1],
            hash: hash(2),
            lang: "en".to_owned(),
            text: "a cat".to_owned(),
        }],
    )
    .await?;
    s.put_embeddings(MODEL, vec![embedding(ids[1], 2)]).await?;
    s.put_zero_shot_tags(
        TAGGER,
        MODEL,
        vec![ZeroShotTags {
            photo: ids[1],
            hash: hash(2),
            tags: Vec::new(),
            albums: Vec::new(),
        }],
    )
    .await?;
    let tag = s
        .claim(&[wanted(JobKind::Tag, TAGGER, 10)], "w", LEASE)
        .await?;
    let embed = s
        .claim(&[wanted(JobKind::Embed, MODEL, 10)], "w", LEASE)
        .await?;
    let done: Vec<Claim> = tag
        .iter()
        .chain(&embed)
        .filter(|j| j.photo == ids[1])
        .map(|j| j.claim.clone())
        .collect();
    s.complete(&done).await?;
    s.apply(vec![
        replace(ids[1], 9),
        PhotoWrite::MarkGone { id: ids[0] },
    ])
    .await?;
    let pairs = counted_and_listed(s).await?;
    assert!(same(pairs.clone()), "{pairs:?}");
    // Photo 2 changed (embed, caption), photo 3 is new (embed, caption); photo 1 left.
    assert_eq!(pairs.iter().map(|p| p.1).collect::<Vec<_>>(), [2, 0, 2]);

    // Dropping a scope drops its jobs; the reconciliation finds nothing missing.
    s.set_scopes(JobKind::Caption, Vec::new()).await?;
    assert_eq!(s.scope_counts(JobKind::Caption, CAPTIONER).await?, None);
    assert_eq!(s.reconcile_jobs().await?, 0);
    Ok(())
}

#[tokio::test]
async fn claims_go_by_priority_across_kinds_and_the_same_work_is_one_job() -> anyhow::Result<()> {
    let f = store().await?;
    let s = &f.store;
    let (_, ids) = two_photos(s).await?;
    let job = |kind: JobKind, photo: PhotoId, priority: i32| NewJob {
        kind,
        scope: MODEL.to_owned(),
        photo,
        hash: hash(1),
        priority,
    };
    let jobs = vec![
        job(JobKind::Caption, ids[0], 10),
        job(JobKind::Embed, ids[0], 20),
        job(JobKind::Embed, ids[1], 30),
    ];
    assert_eq!(s.enqueue(jobs.clone()).await?, 3);
    assert_eq!(s.enqueue(jobs).await?, 0, "idempotent");
    let all = [
        wanted(JobKind::Caption, MODEL, 5),
        wanted(JobKind::Embed, MODEL, 5),
    ];
    // The most urgent job decides the kind; the claim takes that kind's jobs by priority.
    let first = s.claim(&all, "w", LEASE).await?;
    assert_eq!(
        first.iter().map(|j| (j.kind, j.photo)).collect::<Vec<_>>(),
        [(JobKind::Embed, ids[0]), (JobKind::Embed, ids[1])]
    );
    let second = s.claim(&all, "w", LEASE).await?;
    assert_eq!(
        second.iter().map(|j| j.kind).collect::<Vec<_>>(),
        [JobKind::Caption]
    );
    assert!(s.claim(&all, "w", LEASE).await?.is_empty(), "all held");
    // Only the wanted scopes are claimed.
    s.enqueue(vec![NewJob {
        scope: "model-b".to_owned(),
        ..job(JobKind::Embed, ids[1], 99)
    }])
    .await?;
    assert!(s.claim(&all, "w", LEASE).await?.is_empty());
    let counts = s.job_counts().await?;
    assert_eq!(
        counts
            .iter()
            .map(|c| (c.kind.as_str(), c.queued, c.running))
            .collect::<Vec<_>>(),
        [("caption", 0, 1), ("embed", 1, 2)]
    );
    Ok(())
}

#[tokio::test]
async fn a_stale_worker_s_writes_are_refused_after_its_lease_is_taken_over() -> anyhow::Result<()> {
    let f = store().await?;
    let s = &f.store;
    let (_, ids) = two_photos(s).await?;
    s.set_scopes(JobKind::Embed, vec![scope(JobKind::Embed, MODEL, 30)])
        .await?;
    let want = [wanted(JobKind::Embed, MODEL, 1)];
    // The first worker's lease runs out at once; the second takes the job over.
    let stale = s.claim(&want, "slow", Duration::ZERO).await?.remove(0);
    let fresh = s.claim(&want, "fast", LEASE).await?.remove(0);
    assert_eq!(stale.photo, fresh.photo);
    assert_eq!(fresh.attempts, 2);
    let refused = |r: shoebox_core::Result<()>| matches!(r, Err(Error::Conflict(_)));
    assert!(refused(
        s.renew(std::slice::from_ref(&stale.claim), LEASE).await
    ));
    assert!(refused(
        s.complete(std::slice::from_ref(&stale.claim)).await
    ));
    assert!(refused(s.fail(&stale.claim, "late", None).await));
    assert!(refused(
        s.give_back(std::slice::from_ref(&stale.claim)).await
    ));
    // A refused batch changes nothing, even for the claims in it that are held.
    let other = s.claim(&want, "fast", LEASE).await?.remove(0);
    assert!(refused(
        s.complete(&[other.claim.clone(), stale.claim.clone()])
            .await
    ));
    assert_eq!(s.job_counts().await?[0].running, 2);
    // The holder's writes go through.
    s.renew(std::slice::from_ref(&fresh.claim), LEASE).await?;
    s.complete(&[fresh.claim.clone(), other.claim.clone()])
        .await?;
    assert_eq!(s.job_counts().await?, Vec::new());
    assert_eq!(ids.len(), 2);
    Ok(())
}

#[tokio::test]
async fn failures_retry_then_die_with_their_reason_and_come_back_on_retry() -> anyhow::Result<()> {
    let f = store().await?;
    let s = &f.store;
    two_photos(s).await?;
    s.set_scopes(JobKind::Embed, vec![scope(JobKind::Embed, MODEL, 30)])
        .await?;
    let want = [wanted(JobKind::Embed, MODEL, 1)];
    let job = s.claim(&want, "w", LEASE).await?.remove(0);
    // A retry waits out its backoff.
    s.fail(&job.claim, "truncated file", Some(Duration::from_secs(60)))
        .await?;
    let next = s.claim(&want, "w", LEASE).await?.remove(0);
    assert_ne!(next.photo, job.photo, "the failed one waits");
    s.fail(&next.claim, "model error", None).await?;
    let dead = s.dead_jobs(10).await?;
    assert_eq!(
        dead.iter()
            .map(|d| (d.photo, d.attempts, d.reason.as_str()))
            .collect::<Vec<_>>(),
        [(next.photo, 1, "model error")]
    );
    assert_eq!(s.retry_dead(Some(JobKind::Tag)).await?, 0);
    assert_eq!(s.retry_dead(None).await?, 1);
    let again = s.claim(&want, "w", LEASE).await?.remove(0);
    assert_eq!((again.photo, again.attempts), (next.photo, 1));
    // A give-back does not count an attempt.
    s.give_back(std::slice::from_ref(&again.claim)).await?;
    let after = s.claim(&want, "w", LEASE).await?.remove(0);
    assert_eq!((after.photo, after.attempts), (next.photo, 1));
    assert!(
        after.claim.token > again.claim.token,
        "every claim raises the token"
    );
    Ok(())
}

#[tokio::test]
async fn a_stopped_worker_s_jobs_come_back_and_its_last_attempts_are_dead() -> anyhow::Result<()> {
    let f = store().await?;
    let s = &f.store;
    let r = root(s, "/p").await?;
    s.apply((0..3).map(|n| insert(r, &format!("{n}.jpg"), n)).collect())
        .await?;
    s.set_scopes(JobKind::Embed, vec![scope(JobKind::Embed, MODEL, 30)])
        .await?;
    let want = [wanted(JobKind::Embed, MODEL, 1)];
    // One job is claimed three times by workers that died (the first two leases ran out).
    let mut attempts = Vec::new();
    for lease in [Duration::ZERO, Duration::ZERO, LEASE] {
        attempts.push(s.claim(&want, "dead", lease).await?[0].attempts);
    }
    assert_eq!(attempts, [1, 2, 3], "the same job each time");
    let live = s.claim(&want, "live", LEASE).await?;
    assert_eq!(live[0].attempts, 1);
    let held = s.claim(&want, "dead", LEASE).await?;
    assert_eq!(s.release("live", 3).await?, (1, 1), "one queued, one dead");
    assert_eq!(s.release("live", 3).await?, (0, 0), "its own stay");
    let dead = s.dead_jobs(10).await?;
    assert_eq!(dead.len(), 1);
    assert!(dead[0].reason.contains("stopped"), "{}", dead[0].reason);
    let again = s.claim(&want, "next", LEASE).await?;
    assert_eq!(again[0].photo, held[0].photo);
    Ok(())
}
