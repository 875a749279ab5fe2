//! Background jobs: dedupe, claims, leases, retries and failures.

use std::collections::HashSet;

use pons::store::{AccountId, AttemptUse, DynStore, Job, JobId, NewJob, StoreError, UnixTime};

use super::{T0, tenant};

const KIND: &str = "test_job";
const LEASE: i64 = 30;

fn job(payload: &str, run_at: UnixTime, dedupe_key: Option<&str>) -> NewJob {
    NewJob {
        kind: KIND.to_owned(),
        account_id: None,
        payload_json: format!("{{\"n\":\"{payload}\"}}"),
        run_at,
        max_attempts: 3,
        dedupe_key: dedupe_key.map(str::to_owned),
    }
}

async fn enqueue(store: &DynStore, job: NewJob) {
    store.enqueue_job(job).await.expect("enqueue job");
}

async fn claim(store: &DynStore, now: UnixTime, limit: u32) -> Vec<Job> {
    store
        .claim_jobs(&[KIND], now, LEASE, limit)
        .await
        .expect("claim jobs")
}

/// Returns the `n` field of each job's payload, in claim order.
fn names(jobs: &[Job]) -> Vec<String> {
    jobs.iter()
        .map(|job| {
            let payload: serde_json::Value =
                serde_json::from_str(&job.payload_json).expect("JSON payload");
            payload["n"].as_str().expect("n").to_owned()
        })
        .collect()
}

pub async fn jobs_dedupe_while_queued(store: DynStore) {
    enqueue(&store, job("first", T0, Some("key"))).await;
    enqueue(&store, job("second", T0, Some("key"))).await;
    let claimed = claim(&store, T0, 10).await;
    assert_eq!(names(&claimed), ["first"], "a queued twin is not enqueued");

    // A running job does not block a new queued one with its key.
    enqueue(&store, job("third", T0, Some("key"))).await;
    enqueue(&store, job("fourth", T0, Some("key"))).await;
    assert_eq!(names(&claim(&store, T0, 10).await), ["third"]);

    // Jobs without a key never dedupe.
    enqueue(&store, job("plain", T0, None)).await;
    enqueue(&store, job("plain", T0, None)).await;
    assert_eq!(claim(&store, T0, 10).await.len(), 2);
}

pub async fn jobs_claim_order_and_filters(store: DynStore) {
    enqueue(&store, job("c", T0 + 3, None)).await;
    enqueue(&store, job("a", T0 + 1, None)).await;
    enqueue(&store, job("b", T0 + 2, None)).await;
    enqueue(&store, job("future", T0 + 100, None)).await;
    let mut other = job("other-kind", T0, None);
    other.kind = "other_kind".to_owned();
    enqueue(&store, other).await;

    let first = claim(&store, T0 + 10, 2).await;
    assert_eq!(
        names(&first),
        ["a", "b"],
        "earliest run_at first, up to the limit"
    );
    assert!(first.iter().all(|j| j.attempts == 1 && j.max_attempts == 3));
    assert!(first.iter().all(|j| j.kind == KIND));
    let last = claim(&store, T0 + 10, 10).await;
    assert_eq!(names(&last), ["c"]);
    assert!(
        claim(&store, T0 + 10, 10).await.is_empty(),
        "running jobs are leased"
    );
    assert!(
        store
            .claim_jobs(&[], T0 + 10, LEASE, 10)
            .await
            .expect("claim")
            .is_empty()
    );
    assert!(claim(&store, T0 + 10, 0).await.is_empty());
    for done in first.iter().chain(&last) {
        store
            .complete_job(&done.id, T0 + 11)
            .await
            .expect("complete");
    }

    let both = store
        .claim_jobs(&[KIND, "other_kind"], T0 + 100, LEASE, 10)
        .await
        .expect("claim");
    assert_eq!(names(&both), ["other-kind", "future"]);
}

pub async fn jobs_lease_expiry_reclaims(store: DynStore) {
    enqueue(&store, job("leased", T0, None)).await;
    let first = claim(&store, T0, 10).await;
    assert_eq!(first.len(), 1);
    assert!(
        claim(&store, T0 + LEASE, 10).await.is_empty(),
        "lease still held at its end"
    );

    let again = claim(&store, T0 + LEASE + 1, 10).await;
    assert_eq!(again.len(), 1, "a dead worker's job is claimed again");
    assert_eq!(again[0].id, first[0].id);
    assert_eq!(again[0].attempts, 2);
}

pub async fn jobs_lease_extended_while_claimed(store: DynStore) {
    enqueue(&store, job("long", T0, None)).await;
    let first = claim(&store, T0, 10).await;
    let id = first[0].id.clone();

    let extended = store.extend_job_lease(&id, 1, T0 + 20, LEASE).await;
    assert!(extended.expect("extend"), "the first claim holds the job");
    assert!(
        claim(&store, T0 + 20 + LEASE, 10).await.is_empty(),
        "the lease runs from the extension"
    );

    let second_at = T0 + 21 + LEASE;
    let second = claim(&store, second_at, 10).await;
    assert_eq!(second.len(), 1, "the extended lease ran out");
    assert_eq!(second[0].attempts, 2);
    let stale = store.extend_job_lease(&id, 1, second_at + 5, LEASE).await;
    assert!(
        !stale.expect("extend"),
        "a claim taken over by another claim is not extended"
    );
    let third = claim(&store, second_at + LEASE + 1, 10).await;
    assert_eq!(
        third.len(),
        1,
        "the rejected extension left the lease alone"
    );
    assert_eq!(third[0].attempts, 3);

    store
        .complete_job(&id, second_at + LEASE + 2)
        .await
        .expect("complete");
    let finished = store.extend_job_lease(&id, 3, second_at + LEASE + 3, LEASE);
    assert!(
        !finished.await.expect("extend"),
        "a finished job is not extended"
    );
    let unknown = store
        .extend_job_lease(&JobId::generate(), 1, T0, LEASE)
        .await;
    assert!(!unknown.expect("extend"), "an unknown job is not extended");
    let result = store.extend_job_lease(&id, 3, T0, 0).await;
    assert!(matches!(result, Err(StoreError::Invalid(_))), "{result:?}");
}

pub async fn jobs_retry_then_max_attempts(store: DynStore) {
    let mut twice = job("twice", T0, None);
    twice.max_attempts = 2;
    enqueue(&store, twice).await;
    let first = claim(&store, T0, 10).await;
    assert_eq!(first[0].attempts, 1);

    store
        .retry_job(
            &first[0].id,
            "HTTP 500 from Meta",
            T0 + 50,
            AttemptUse::Spent,
        )
        .await
        .expect("retry");
    assert!(
        claim(&store, T0 + 49, 10).await.is_empty(),
        "not due before run_at"
    );
    let second = claim(&store, T0 + 50, 10).await;
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].id, first[0].id);
    assert_eq!(second[0].attempts, 2);

    // Retried after its last attempt, the job waits for the caller to fail it.
    store
        .retry_job(
            &second[0].id,
            "HTTP 500 from Meta",
            T0 + 60,
            AttemptUse::Spent,
        )
        .await
        .expect("retry");
    assert!(claim(&store, T0 + 1000, 10).await.is_empty());
    store
        .fail_job(&second[0].id, "gave up", T0 + 1000)
        .await
        .expect("fail");
}

pub async fn jobs_returned_attempt_not_counted(store: DynStore) {
    let mut once = job("once", T0, None);
    once.max_attempts = 1;
    enqueue(&store, once).await;
    let first = claim(&store, T0, 10).await;
    assert_eq!(first[0].attempts, 1);

    store
        .retry_job(
            &first[0].id,
            "token rejected",
            T0 + 300,
            AttemptUse::Returned,
        )
        .await
        .expect("retry without counting the attempt");
    assert!(
        claim(&store, T0 + 299, 10).await.is_empty(),
        "not due before run_at"
    );
    let second = claim(&store, T0 + 300, 10).await;
    assert_eq!(second.len(), 1, "the job keeps its only attempt");
    assert_eq!(second[0].id, first[0].id);
    assert_eq!(second[0].attempts, 2);
    assert_eq!(second[0].max_attempts, 2);

    store
        .retry_job(
            &second[0].id,
            "HTTP 500 from Meta",
            T0 + 400,
            AttemptUse::Spent,
        )
        .await
        .expect("retry");
    assert!(
        claim(&store, T0 + 1000, 10).await.is_empty(),
        "a spent attempt still counts"
    );
}

pub async fn jobs_retry_with_queued_twin(store: DynStore) {
    enqueue(&store, job("running", T0, Some("sync"))).await;
    let running = claim(&store, T0, 10).await;
    enqueue(&store, job("queued", T0 + 5, Some("sync"))).await;

    store
        .retry_job(&running[0].id, "timed out", T0 + 1, AttemptUse::Spent)
        .await
        .expect("retry with a queued twin");
    let next = claim(&store, T0 + 10, 10).await;
    assert_eq!(names(&next), ["queued"], "the twin does the work once");
    store
        .complete_job(&next[0].id, T0 + 11)
        .await
        .expect("complete");
    assert!(
        claim(&store, T0 + 1000, 10).await.is_empty(),
        "the retried job was closed"
    );
}

pub async fn jobs_fail_and_complete(store: DynStore) {
    enqueue(&store, job("done", T0, Some("d"))).await;
    enqueue(&store, job("failed", T0 + 1, Some("f"))).await;
    let claimed = claim(&store, T0 + 1, 10).await;
    assert_eq!(names(&claimed), ["done", "failed"]);
    store
        .complete_job(&claimed[0].id, T0 + 2)
        .await
        .expect("complete");
    store
        .fail_job(&claimed[1].id, "media expired", T0 + 2)
        .await
        .expect("fail");
    assert!(
        claim(&store, T0 + 1000, 10).await.is_empty(),
        "finished jobs are never claimed, even after their lease"
    );

    // Finished jobs leave their dedupe keys free.
    enqueue(&store, job("done-again", T0, Some("d"))).await;
    assert_eq!(names(&claim(&store, T0 + 1000, 10).await), ["done-again"]);

    let unknown = JobId::generate();
    let results = [
        store.complete_job(&unknown, T0).await,
        store.fail_job(&unknown, "x", T0).await,
        store.retry_job(&unknown, "x", T0, AttemptUse::Spent).await,
    ];
    for result in results {
        assert!(matches!(result, Err(StoreError::NotFound(_))), "{result:?}");
    }
}

pub async fn jobs_expired_last_attempt_not_claimed(store: DynStore) {
    let mut once = job("once", T0, Some("once"));
    once.max_attempts = 1;
    enqueue(&store, once).await;
    assert_eq!(claim(&store, T0, 10).await.len(), 1);
    assert!(
        claim(&store, T0 + LEASE + 1, 10).await.is_empty(),
        "a job out of attempts is not claimed after its lease ran out"
    );
}

pub async fn jobs_concurrent_claimers_disjoint(store: DynStore) {
    const JOBS: usize = 40;
    for n in 0..JOBS {
        enqueue(&store, job(&n.to_string(), T0, None)).await;
    }
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut taken = Vec::new();
                loop {
                    let jobs = claim(&store, T0, 3).await;
                    if jobs.is_empty() {
                        return taken;
                    }
                    taken.extend(jobs.into_iter().map(|j| j.id));
                }
            })
        })
        .collect();
    let mut all = Vec::new();
    for worker in workers {
        all.extend(worker.await.expect("join worker"));
    }
    let distinct: HashSet<&JobId> = all.iter().collect();
    assert_eq!(all.len(), JOBS, "every job claimed");
    assert_eq!(distinct.len(), JOBS, "no job claimed twice");
}

pub async fn jobs_invalid_input_rejected(store: DynStore) {
    let mut none = job("none", T0, None);
    none.max_attempts = 0;
    let result = store.enqueue_job(none).await;
    assert!(matches!(result, Err(StoreError::Invalid(_))), "{result:?}");

    let mut nameless = job("nameless", T0, None);
    nameless.kind = " ".to_owned();
    let result = store.enqueue_job(nameless).await;
    assert!(matches!(result, Err(StoreError::Invalid(_))), "{result:?}");

    let result = store.claim_jobs(&[KIND], T0, 0, 10).await;
    assert!(matches!(result, Err(StoreError::Invalid(_))), "{result:?}");

    let mut orphan = job("orphan", T0, None);
    orphan.account_id = Some(AccountId::generate());
    let result = store.enqueue_job(orphan).await;
    assert!(matches!(result, Err(StoreError::NotFound(_))), "{result:?}");

    let t = tenant(&store, "job-account").await;
    let mut owned = job("owned", T0, None);
    owned.account_id = Some(t.account.id.clone());
    enqueue(&store, owned).await;
    let claimed = claim(&store, T0, 10).await;
    assert_eq!(claimed[0].account_id.as_ref(), Some(&t.account.id));
}
