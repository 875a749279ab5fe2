//! Inbound media: the download job that ingestion enqueues and the
//! download state that workers record.

use pons::store::{DynStore, IngestItem, MediaRef, MessageId, StoreError, StoredMedia};

use super::{LATER, T0, batch, message, tenant, text};

fn image(account: &pons::store::Account, from: &str, wamid: &str) -> IngestItem {
    let mut image = text(account, from, wamid, T0, "");
    image.kind = "image".to_owned();
    image.text = None;
    image.media = Some(MediaRef {
        media_id: Some(format!("media-{wamid}")),
        mime_type: Some("image/jpeg".to_owned()),
        sha256: Some("announced".to_owned()),
        ..MediaRef::default()
    });
    IngestItem::Message(image)
}

pub async fn media_job_enqueued_once(store: DynStore) {
    let t = tenant(&store, "media-job").await;
    let from = "15551320001";
    let items = vec![
        image(&t.account, from, "wamid.IMG1"),
        IngestItem::Message(text(&t.account, from, "wamid.TXT1", T0 + 1, "no media")),
    ];
    // Meta delivers the same webhook twice.
    store
        .ingest(batch(items.clone()))
        .await
        .expect("first delivery");
    let report = store.ingest(batch(items)).await.expect("second delivery");
    assert_eq!(report.duplicates, 2);

    let stored = message(&store, &t.account, from, "wamid.IMG1").await;
    let media = stored.media.clone().expect("media");
    assert_eq!(media.download_status.as_deref(), Some("pending"));
    assert_eq!(media.size, None);
    assert_eq!(media.download_error, None);

    let jobs = store
        .claim_jobs(&["media_download"], LATER, 60, 10)
        .await
        .expect("claim");
    assert_eq!(jobs.len(), 1, "one job for one image: {jobs:?}");
    let job = &jobs[0];
    assert_eq!(job.account_id.as_ref(), Some(&t.account.id));
    assert_eq!(job.max_attempts, 8);
    let payload: serde_json::Value = serde_json::from_str(&job.payload_json).expect("JSON");
    assert_eq!(payload, serde_json::json!({ "messageId": stored.id }));

    let plain = message(&store, &t.account, from, "wamid.TXT1").await;
    assert!(plain.media.is_none());
}

pub async fn media_stored_and_failed(store: DynStore) {
    let t = tenant(&store, "media-state").await;
    let from = "15551320002";
    store
        .ingest(batch(vec![
            image(&t.account, from, "wamid.OK"),
            image(&t.account, from, "wamid.BAD"),
        ]))
        .await
        .expect("ingest");
    let ok = message(&store, &t.account, from, "wamid.OK").await;
    let bad = message(&store, &t.account, from, "wamid.BAD").await;

    let file = StoredMedia {
        path: "media/ab/abcdef.jpg".to_owned(),
        sha256: "abcdef".to_owned(),
        size: 2048,
        mime_type: "image/png".to_owned(),
    };
    store.set_media_stored(&ok.id, file).await.expect("stored");
    store
        .set_media_failed(&bad.id, "media expired on Meta's side")
        .await
        .expect("failed");

    let media = message(&store, &t.account, from, "wamid.OK")
        .await
        .media
        .expect("media");
    assert_eq!(media.download_status.as_deref(), Some("stored"));
    assert_eq!(media.size, Some(2048));
    assert_eq!(media.sha256.as_deref(), Some("abcdef"));
    assert_eq!(media.mime_type.as_deref(), Some("image/png"));
    assert_eq!(media.media_id.as_deref(), Some("media-wamid.OK"));
    assert_eq!(media.download_error, None);

    let media = message(&store, &t.account, from, "wamid.BAD")
        .await
        .media
        .expect("media");
    assert_eq!(media.download_status.as_deref(), Some("failed"));
    assert_eq!(
        media.download_error.as_deref(),
        Some("media expired on Meta's side")
    );
    assert_eq!(media.size, None);

    let unknown = MessageId::generate();
    let file = StoredMedia {
        path: "x".to_owned(),
        sha256: "x".to_owned(),
        size: 1,
        mime_type: "x/x".to_owned(),
    };
    let result = store.set_media_stored(&unknown, file).await;
    assert!(matches!(result, Err(StoreError::NotFound(_))), "{result:?}");
    let result = store.set_media_failed(&unknown, "x").await;
    assert!(matches!(result, Err(StoreError::NotFound(_))), "{result:?}");
}
