//! The `media_download` job and `GET /api/media/{messageId}` against the
//! Meta stand-in, on SQLite and (when configured) PostgreSQL.

#[macro_use]
mod app;
#[allow(dead_code)]
mod postgres_harness;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::{Digest, Sha256};

use app::{Backend, Env, inbound_image, message_by_wamid, seed_other_tenant, seed_sandbox};
use pons::jobs::JobOutcome;
use pons::metasim::{Fault, FaultTarget, MetaSimConfig};
use pons::store::TOKEN_RETRY_AFTER_SECONDS;

/// Builds 2 KiB of bytes standing in for an image, since the stand-in
/// serves any bytes.
fn photo(seed: u8) -> Vec<u8> {
    (0..2048u32).map(|i| (i as u8).wrapping_mul(seed)).collect()
}

async fn media_download_serves_bytes(backend: Backend) {
    let env = Env::new(backend, MetaSimConfig::default()).await;
    let bound = env.bind(env.settings()).await;
    let sandbox = seed_sandbox(&bound.store(), &bound.secrets(), env.sim.config()).await;
    let other_key = seed_other_tenant(&bound.store(), &bound.secrets()).await;
    let mut app = bound.run(&env);

    let bytes = photo(7);
    let sent = env
        .sim
        .send_inbound_image(
            "15550102222",
            "Ana",
            bytes.clone(),
            "image/png",
            Some("box"),
        )
        .await
        .expect("webhook sent");
    let report = app.next_report("media_download", false).await;
    assert_eq!(report.outcome, JobOutcome::Completed);
    assert_eq!(report.account_id.as_ref(), Some(&sandbox.account.id));

    let message = message_by_wamid(&app.store, &sandbox.account, &sent.delivery.wamid).await;
    let media = message.media.clone().expect("media");
    assert_eq!(media.download_status.as_deref(), Some("stored"));
    assert_eq!(media.size, Some(bytes.len() as i64));
    let sha256 = hex::encode(Sha256::digest(&bytes));
    let on_disk = env
        .data_dir()
        .join("media")
        .join(&sha256[..2])
        .join(&sha256);
    assert_eq!(std::fs::read(&on_disk).expect("stored file"), bytes);

    let path = format!("/api/media/{}", message.id);
    let response = app.get(&path, Some(&sandbox.key)).await;
    assert_eq!(response.status(), 200);
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    assert_eq!(header("content-type").as_deref(), Some("image/png"));
    assert_eq!(header("content-length"), Some(bytes.len().to_string()));
    assert!(header("cache-control").is_some_and(|v| v.starts_with("private")));
    assert_eq!(header("content-disposition").as_deref(), Some("inline"));
    assert_eq!(response.bytes().await.expect("body").to_vec(), bytes);

    let anonymous = app.get(&path, None).await;
    assert_eq!(anonymous.status(), 401);
    let challenge = anonymous
        .headers()
        .get("www-authenticate")
        .expect("challenge");
    assert!(
        challenge
            .to_str()
            .unwrap()
            .starts_with("Bearer resource_metadata=")
    );
    let wrong_key = app.get(&path, Some("pons_notakey")).await;
    assert_eq!(wrong_key.status(), 401);
    let other_tenant = app.get(&path, Some(&other_key)).await;
    assert_eq!(other_tenant.status(), 404);
    let unknown = app.get(
        "/api/media/0190aaaa-0000-7000-8000-000000000000",
        Some(&sandbox.key),
    );
    assert_eq!(unknown.await.status(), 404);
    let send_only = app::create_key(&app.store, &sandbox.user, &["send"]).await;
    let no_read = app.get(&path, Some(&send_only)).await;
    assert_eq!(no_read.status(), 403);
    let loner = app::create_user(&app.store, "loner@example.com").await;
    let no_account_key = app::create_key(&app.store, &loner, &["read"]).await;
    let no_account = app.get(&path, Some(&no_account_key)).await;
    assert_eq!(no_account.status(), 403);
    let reason = no_account.text().await.expect("body");
    assert!(reason.contains("reaches no WhatsApp account"), "{reason}");

    app.stop().await;
}
on_both_backends!(media_download_serves_bytes);

async fn identical_media_is_stored_once(backend: Backend) {
    let env = Env::new(backend, MetaSimConfig::default()).await;
    let bound = env.bind(env.settings()).await;
    let sandbox = seed_sandbox(&bound.store(), &bound.secrets(), env.sim.config()).await;
    let mut app = bound.run(&env);

    let mut wamids = Vec::new();
    for from in ["15550102222", "15550103333"] {
        let sent = env
            .sim
            .send_inbound_image(from, "Customer", photo(3), "image/jpeg", None)
            .await
            .expect("webhook sent");
        assert_eq!(
            app.next_report("media_download", false).await.outcome,
            JobOutcome::Completed
        );
        wamids.push(sent.delivery.wamid);
    }

    for wamid in &wamids {
        let message = message_by_wamid(&app.store, &sandbox.account, wamid).await;
        let response = app
            .get(&format!("/api/media/{}", message.id), Some(&sandbox.key))
            .await;
        assert_eq!(response.status(), 200);
    }
    let files: Vec<_> = walk(&env.data_dir().join("media"));
    assert_eq!(files.len(), 1, "{files:?}");
    app.stop().await;
}
on_both_backends!(identical_media_is_stored_once);

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read media dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

async fn expired_url_is_resolved_again(backend: Backend) {
    let env = Env::new(backend, MetaSimConfig::default()).await;
    let bound = env.bind(env.settings()).await;
    let sandbox = seed_sandbox(&bound.store(), &bound.secrets(), env.sim.config()).await;
    let mut app = bound.run(&env);
    env.sim
        .inject(FaultTarget::MediaDownload, Fault::Http { status: 404 });

    let sent = env
        .sim
        .send_inbound_image("15550102222", "Ana", photo(5), "image/jpeg", None)
        .await
        .expect("webhook sent");
    let report = app.next_report("media_download", true).await;

    assert_eq!(report.outcome, JobOutcome::Completed);
    assert_eq!(report.attempt, 1, "re-resolved within the first attempt");
    let requests = env.sim.requests();
    let info_path = format!("/v25.0/{}", sent.media_id);
    let lookups = requests.iter().filter(|r| r.path == info_path).count();
    let downloads = requests
        .iter()
        .filter(|r| r.path.starts_with("/media-download/"))
        .count();
    assert_eq!(lookups, 2);
    assert_eq!(downloads, 2);
    let message = message_by_wamid(&app.store, &sandbox.account, &sent.delivery.wamid).await;
    assert_eq!(
        message.media.unwrap().download_status.as_deref(),
        Some("stored")
    );
    app.stop().await;
}
on_both_backends!(expired_url_is_resolved_again);

async fn checksum_mismatch_fails(backend: Backend) {
    let env = Env::new(backend, MetaSimConfig::default()).await;
    let bound = env.bind(env.settings()).await;
    let sandbox = seed_sandbox(&bound.store(), &bound.secrets(), env.sim.config()).await;
    let mut app = bound.run(&env);
    let media_id = env.sim.add_media(photo(9), "image/jpeg");
    let wrong = BASE64.encode(Sha256::digest(b"other bytes"));
    let webhook = inbound_image(env.sim.config(), "wamid.CHECKSUM1", &media_id, &wrong);

    let status = app
        .post_webhook(&env.sim.config().app_secret, &webhook)
        .await;
    let report = app.next_report("media_download", false).await;

    assert_eq!(status, 200);
    let JobOutcome::Failed { error } = report.outcome else {
        panic!("expected a failed job, got {:?}", report.outcome);
    };
    assert!(error.contains("SHA-256"), "{error}");
    assert_eq!(report.attempt, 1, "a checksum mismatch is not retried");
    let message = message_by_wamid(&app.store, &sandbox.account, "wamid.CHECKSUM1").await;
    let media = message.media.expect("media");
    assert_eq!(media.download_status.as_deref(), Some("failed"));
    assert!(media.download_error.unwrap_or_default().contains("SHA-256"));
    let response = app
        .get(&format!("/api/media/{}", message.id), Some(&sandbox.key))
        .await;
    assert_eq!(response.status(), 404);
    let body: serde_json::Value = response.json().await.expect("JSON error");
    let text = body["error"].as_str().unwrap_or_default();
    assert!(text.starts_with("download failed: "), "{body}");
    let files = walk(&env.data_dir().join("media"));
    assert!(
        files.is_empty(),
        "nothing is stored or left behind: {files:?}"
    );
    app.stop().await;
}
on_both_backends!(checksum_mismatch_fails);

async fn unknown_media_fails_after_retries(backend: Backend) {
    let env = Env::new(backend, MetaSimConfig::default()).await;
    let mut settings = env.settings();
    settings.server.jobs.retry_base_delay = std::time::Duration::ZERO;
    let bound = env.bind(settings).await;
    let sandbox = seed_sandbox(&bound.store(), &bound.secrets(), env.sim.config()).await;
    let mut app = bound.run(&env);
    let webhook = inbound_image(env.sim.config(), "wamid.GONE1", "987654321", "AAAA");

    app.post_webhook(&env.sim.config().app_secret, &webhook)
        .await;
    let mut retries = 0;
    let report = loop {
        let report = app.next_report("media_download", true).await;
        match report.outcome {
            JobOutcome::Retrying { .. } => retries += 1,
            _ => break report,
        }
    };

    let JobOutcome::Failed { error } = &report.outcome else {
        panic!("expected a failed job, got {:?}", report.outcome);
    };
    assert!(error.starts_with("gave up after 8 attempts"), "{error}");
    assert_eq!(retries, 7);
    let message = message_by_wamid(&app.store, &sandbox.account, "wamid.GONE1").await;
    let media = message.media.expect("media");
    assert_eq!(media.download_status.as_deref(), Some("failed"));
    assert!(
        media
            .download_error
            .unwrap_or_default()
            .contains("987654321")
    );
    app.stop().await;
}
on_both_backends!(unknown_media_fails_after_retries);

async fn oversized_media_fails(backend: Backend) {
    let env = Env::new(backend, MetaSimConfig::default()).await;
    let mut settings = env.settings();
    settings.server.jobs.media_max_bytes = 1000;
    let bound = env.bind(settings).await;
    let sandbox = seed_sandbox(&bound.store(), &bound.secrets(), env.sim.config()).await;
    let mut app = bound.run(&env);

    let sent = env
        .sim
        .send_inbound_image("15550102222", "Ana", photo(2), "image/jpeg", None)
        .await
        .expect("webhook sent");
    let report = app.next_report("media_download", false).await;

    let JobOutcome::Failed { error } = report.outcome else {
        panic!("expected a failed job, got {:?}", report.outcome);
    };
    assert!(
        error.contains("larger than the limit of 1000 bytes"),
        "{error}"
    );
    let downloads = env.sim.requests();
    let downloads = downloads
        .iter()
        .filter(|r| r.path.starts_with("/media-download/"));
    assert_eq!(
        downloads.count(),
        0,
        "the announced size stops the download"
    );
    let message = message_by_wamid(&app.store, &sandbox.account, &sent.delivery.wamid).await;
    assert_eq!(
        message.media.unwrap().download_status.as_deref(),
        Some("failed")
    );
    app.stop().await;
}
on_both_backends!(oversized_media_fails);

async fn streamed_oversized_media_fails(backend: Backend) {
    let env = Env::new(backend, MetaSimConfig::default()).await;
    let mut settings = env.settings();
    settings.server.jobs.media_max_bytes = 1000;
    let bound = env.bind(settings).await;
    let sandbox = seed_sandbox(&bound.store(), &bound.secrets(), env.sim.config()).await;
    let mut app = bound.run(&env);
    let bytes = photo(6);
    let media_id = env
        .sim
        .add_media_of_unknown_size(bytes.clone(), "image/jpeg");
    let sha256 = BASE64.encode(Sha256::digest(&bytes));
    let webhook = inbound_image(env.sim.config(), "wamid.STREAMED1", &media_id, &sha256);

    app.post_webhook(&env.sim.config().app_secret, &webhook)
        .await;
    let report = app.next_report("media_download", false).await;

    let JobOutcome::Failed { error } = report.outcome else {
        panic!("expected a failed job, got {:?}", report.outcome);
    };
    assert!(
        error.contains("larger than the limit of 1000 bytes"),
        "{error}"
    );
    let requests = env.sim.requests();
    let downloads = requests
        .iter()
        .filter(|r| r.path.starts_with("/media-download/"))
        .count();
    assert_eq!(
        downloads, 1,
        "the limit stops the download once, while it streams"
    );
    let files = walk(&env.data_dir().join("media"));
    assert!(files.is_empty(), "the temporary file is deleted: {files:?}");
    let message = message_by_wamid(&app.store, &sandbox.account, "wamid.STREAMED1").await;
    assert_eq!(
        message.media.unwrap().download_status.as_deref(),
        Some("failed")
    );
    app.stop().await;
}
on_both_backends!(streamed_oversized_media_fails);

async fn streamed_media_of_unknown_size_stored(backend: Backend) {
    let env = Env::new(backend, MetaSimConfig::default()).await;
    let bound = env.bind(env.settings()).await;
    let sandbox = seed_sandbox(&bound.store(), &bound.secrets(), env.sim.config()).await;
    let mut app = bound.run(&env);
    // Several of the stand-in's 16 KiB chunks.
    let bytes: Vec<u8> = (0..100_000u32).map(|i| (i % 253) as u8).collect();
    let media_id = env
        .sim
        .add_media_of_unknown_size(bytes.clone(), "video/mp4");
    let sha256 = BASE64.encode(Sha256::digest(&bytes));
    let video = serde_json::json!({"mime_type": "video/mp4", "sha256": sha256, "id": media_id});
    let webhook = app::inbound_media(env.sim.config(), "wamid.VIDEO1", "video", video);

    app.post_webhook(&env.sim.config().app_secret, &webhook)
        .await;
    let report = app.next_report("media_download", false).await;

    assert_eq!(report.outcome, JobOutcome::Completed);
    let message = message_by_wamid(&app.store, &sandbox.account, "wamid.VIDEO1").await;
    let response = app
        .get(&format!("/api/media/{}", message.id), Some(&sandbox.key))
        .await;
    assert_eq!(response.status(), 200);
    let length = response.headers().get("content-length").cloned();
    assert_eq!(length.unwrap().to_str().unwrap(), bytes.len().to_string());
    assert_eq!(response.bytes().await.unwrap().to_vec(), bytes);
    let files = walk(&env.data_dir().join("media"));
    assert_eq!(files.len(), 1, "only the stored file: {files:?}");
    app.stop().await;
}
on_both_backends!(streamed_media_of_unknown_size_stored);

#[tokio::test]
async fn stale_partial_files_removed_at_start() {
    let env = Env::new(Backend::Sqlite, MetaSimConfig::default()).await;
    let partial_dir = env.data_dir().join("media").join("partial");
    std::fs::create_dir_all(&partial_dir).unwrap();
    let stale = partial_dir.join("0123456789abcdef0123456789abcdef.part");
    std::fs::write(&stale, b"left by a killed process").unwrap();

    let bound = env.bind(env.settings()).await;

    assert!(
        !stale.exists(),
        "start-up deleted the unlocked temporary file"
    );
    bound.run(&env).stop().await;
}

async fn rejected_token_marks_account(backend: Backend) {
    let env = Env::new(backend, MetaSimConfig::default()).await;
    let bound = env.bind(env.settings()).await;
    let sandbox = seed_sandbox(&bound.store(), &bound.secrets(), env.sim.config()).await;
    let mut app = bound.run(&env);
    env.sim.inject(FaultTarget::MediaInfo, Fault::graph(190));

    let sent = env
        .sim
        .send_inbound_image("15550102222", "Ana", photo(4), "image/jpeg", None)
        .await
        .expect("webhook sent");
    let report = app.next_report("media_download", true).await;

    let JobOutcome::Retrying { error, run_at } = report.outcome else {
        panic!(
            "a rejected token is retried later, got {:?}",
            report.outcome
        );
    };
    assert!(error.contains("rejected the access token"), "{error}");
    assert!(error.contains("tries the token again at"), "{error}");
    let account = app
        .store
        .find_account(sandbox.account.id.as_str())
        .await
        .unwrap()
        .unwrap();
    let rejected_at = account.token_invalid_at.expect("account marked");
    assert_eq!(run_at, rejected_at + TOKEN_RETRY_AFTER_SECONDS);

    // While the rejection is recent, another download waits without a
    // Graph call and without using up an attempt.
    let graph_calls = env.sim.requests().len();
    let second = env
        .sim
        .send_inbound_image("15550102223", "Bo", photo(5), "image/jpeg", None)
        .await
        .expect("webhook sent");
    let waiting = app.next_report("media_download", true).await;
    let JobOutcome::Retrying { error, run_at } = waiting.outcome else {
        panic!("the download waits, got {:?}", waiting.outcome);
    };
    assert_eq!(run_at, rejected_at + TOKEN_RETRY_AFTER_SECONDS);
    assert!(
        error.contains(&format!(
            "rejected the access token of +{}",
            account.phone_number
        )),
        "{error}"
    );
    assert!(error.contains("pons account set-credentials"), "{error}");
    let media_calls: Vec<_> = env.sim.requests()[graph_calls..]
        .iter()
        .filter(|request| request.method == "GET")
        .map(|request| request.path.clone())
        .collect();
    assert!(media_calls.is_empty(), "{media_calls:?}");
    let waiting_message =
        message_by_wamid(&app.store, &sandbox.account, &second.delivery.wamid).await;
    let claimed = app
        .store
        .claim_jobs(&["media_download"], run_at, 30, 10)
        .await
        .expect("claim");
    let job = claimed
        .iter()
        .find(|job| job.payload_json.contains(waiting_message.id.as_str()))
        .expect("the waiting download is due at the retry time");
    assert_eq!(
        job.max_attempts - job.attempts,
        7,
        "one attempt used of {job:?}"
    );

    // The media route names the rejected token instead of "a few seconds".
    let message = message_by_wamid(&app.store, &sandbox.account, &sent.delivery.wamid).await;
    let pending = app
        .get(&format!("/api/media/{}", message.id), Some(&sandbox.key))
        .await;
    assert_eq!(pending.status(), 409);
    assert!(pending.headers().get("retry-after").is_none());
    let body: serde_json::Value = pending.json().await.unwrap();
    let error = body["error"].as_str().unwrap();
    assert!(
        error.contains(&format!(
            "rejected the access token of +{}",
            account.phone_number
        )),
        "{error}"
    );
    assert!(error.contains("pons account set-credentials"), "{error}");
    assert!(error.contains("resumes by itself"), "{error}");
    assert!(
        error.contains("a send or template sync succeeds"),
        "{error}"
    );
    app.stop().await;
}
on_both_backends!(rejected_token_marks_account);

async fn job_survives_restart(backend: Backend) {
    let env = Env::new(backend, MetaSimConfig::default()).await;
    let mut settings = env.settings();
    settings.server.jobs.workers = 0;
    let bound = env.bind(settings).await;
    let sandbox = seed_sandbox(&bound.store(), &bound.secrets(), env.sim.config()).await;
    let app = bound.run(&env);
    let bytes = photo(11);
    let sent = env
        .sim
        .send_inbound_image("15550102222", "Ana", bytes.clone(), "image/jpeg", None)
        .await
        .expect("webhook sent");
    let message = message_by_wamid(&app.store, &sandbox.account, &sent.delivery.wamid).await;
    assert_eq!(
        message.media.unwrap().download_status.as_deref(),
        Some("pending")
    );
    let pending = app
        .get(&format!("/api/media/{}", message.id), Some(&sandbox.key))
        .await;
    assert_eq!(pending.status(), 409);
    app.stop().await;

    let mut app = env.bind(env.settings()).await.run(&env);
    let report = app.next_report("media_download", false).await;

    assert_eq!(report.outcome, JobOutcome::Completed);
    let response = app
        .get(&format!("/api/media/{}", message.id), Some(&sandbox.key))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.bytes().await.unwrap().to_vec(), bytes);
    app.stop().await;
}
on_both_backends!(job_survives_restart);

async fn document_served_as_attachment(backend: Backend) {
    let env = Env::new(backend, MetaSimConfig::default()).await;
    let bound = env.bind(env.settings()).await;
    let sandbox = seed_sandbox(&bound.store(), &bound.secrets(), env.sim.config()).await;
    let mut app = bound.run(&env);
    let bytes = b"%PDF-1.4 invoice".to_vec();
    let media_id = env.sim.add_media(bytes.clone(), "application/pdf");
    let document = serde_json::json!({
        "filename": "../../Invoice \"March\".pdf",
        "mime_type": "application/pdf",
        "sha256": BASE64.encode(Sha256::digest(&bytes)),
        "id": media_id,
    });
    let webhook = app::inbound_media(env.sim.config(), "wamid.DOC1", "document", document);

    app.post_webhook(&env.sim.config().app_secret, &webhook)
        .await;
    let report = app.next_report("media_download", false).await;

    assert_eq!(report.outcome, JobOutcome::Completed);
    let message = message_by_wamid(&app.store, &sandbox.account, "wamid.DOC1").await;
    let response = app
        .get(&format!("/api/media/{}", message.id), Some(&sandbox.key))
        .await;
    assert_eq!(response.status(), 200);
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    assert_eq!(header("content-type").as_deref(), Some("application/pdf"));
    assert_eq!(
        header("content-disposition").as_deref(),
        Some("attachment; filename=\"Invoice _March_.pdf\"")
    );
    assert_eq!(header("x-content-type-options").as_deref(), Some("nosniff"));
    assert_eq!(response.bytes().await.unwrap().to_vec(), bytes);
    app.stop().await;
}
on_both_backends!(document_served_as_attachment);

/// Another server on the same database may have downloaded the file into
/// its own media directory. This server's error names the missing file's
/// cause.
async fn missing_file_named_in_error(backend: Backend) {
    let env = Env::new(backend, MetaSimConfig::default()).await;
    let bound = env.bind(env.settings()).await;
    let sandbox = seed_sandbox(&bound.store(), &bound.secrets(), env.sim.config()).await;
    let mut app = bound.run(&env);
    let sent = env
        .sim
        .send_inbound_image("15550102222", "Ana", photo(12), "image/jpeg", None)
        .await
        .expect("webhook sent");
    let report = app.next_report("media_download", false).await;
    assert_eq!(report.outcome, JobOutcome::Completed);
    let media_dir = env.data_dir().join("media");
    let mut removed = 0;
    let mut dirs = vec![media_dir.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                std::fs::remove_file(&path).unwrap();
                removed += 1;
            }
        }
    }
    assert_eq!(removed, 1, "one stored file in {}", media_dir.display());

    let message = message_by_wamid(&app.store, &sandbox.account, &sent.delivery.wamid).await;
    let response = app
        .get(&format!("/api/media/{}", message.id), Some(&sandbox.key))
        .await;
    assert_eq!(response.status(), 500);
    let body: serde_json::Value = response.json().await.unwrap();
    let error = body["error"].as_str().unwrap();
    assert!(
        error.contains("not in this server's media directory"),
        "{error}"
    );
    app.stop().await;
}
on_both_backends!(missing_file_named_in_error);

/// Downloads a 2 KiB image through the stand-in and returns its media path.
async fn stored_photo(env: &Env, app: &mut app::App, sandbox: &app::Sandbox) -> String {
    let sent = env
        .sim
        .send_inbound_image("15550102222", "Ana", photo(7), "video/mp4", None)
        .await
        .expect("webhook sent");
    let report = app.next_report("media_download", false).await;
    assert_eq!(report.outcome, JobOutcome::Completed);
    let message = message_by_wamid(&app.store, &sandbox.account, &sent.delivery.wamid).await;
    format!("/api/media/{}", message.id)
}

async fn media_ranges_served(backend: Backend) {
    let env = Env::new(backend, MetaSimConfig::default()).await;
    let bound = env.bind(env.settings()).await;
    let sandbox = seed_sandbox(&bound.store(), &bound.secrets(), env.sim.config()).await;
    let mut app = bound.run(&env);
    let path = stored_photo(&env, &mut app, &sandbox).await;
    let bytes = photo(7);
    let length = bytes.len();

    let cases: [(&str, u16, Option<String>, &[u8]); 6] = [
        (
            "bytes=0-99",
            206,
            Some(format!("bytes 0-99/{length}")),
            &bytes[..100],
        ),
        (
            "bytes=-100",
            206,
            Some(format!("bytes {}-{}/{length}", length - 100, length - 1)),
            &bytes[length - 100..],
        ),
        (
            "bytes=100-",
            206,
            Some(format!("bytes 100-{}/{length}", length - 1)),
            &bytes[100..],
        ),
        (
            "bytes=2000-9999",
            206,
            Some(format!("bytes 2000-{}/{length}", length - 1)),
            &bytes[2000..],
        ),
        ("bytes=0-9, 20-29", 200, None, &bytes[..]),
        ("", 200, None, &bytes[..]),
    ];
    for (range, status, content_range, body) in cases {
        let mut request = app.http.get(app.url(&path)).bearer_auth(&sandbox.key);
        if !range.is_empty() {
            request = request.header("range", range);
        }
        let response = request.send().await.expect("HTTP exchange");
        assert_eq!(response.status(), status, "{range}");
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
        };
        assert_eq!(header("accept-ranges").as_deref(), Some("bytes"), "{range}");
        assert_eq!(header("content-range"), content_range, "{range}");
        assert_eq!(
            header("content-length"),
            Some(body.len().to_string()),
            "{range}"
        );
        assert_eq!(header("content-type").as_deref(), Some("video/mp4"));
        assert_eq!(response.bytes().await.unwrap().as_ref(), body, "{range}");
    }

    let outside = app
        .http
        .get(app.url(&path))
        .bearer_auth(&sandbox.key)
        .header("range", format!("bytes={length}-"))
        .send()
        .await
        .expect("HTTP exchange");
    assert_eq!(outside.status(), 416);
    let content_range = outside.headers().get("content-range").unwrap();
    assert_eq!(content_range.to_str().unwrap(), format!("bytes */{length}"));
    let body: serde_json::Value = outside.json().await.unwrap();
    let error = body["error"].as_str().unwrap_or_default();
    assert!(error.contains(&format!("{length} bytes")), "{body}");

    let head = app
        .http
        .head(app.url(&path))
        .bearer_auth(&sandbox.key)
        .header("range", "bytes=0-99")
        .send()
        .await
        .expect("HTTP exchange");
    assert_eq!(head.status(), 206);
    assert_eq!(head.headers().get("content-length").unwrap(), "100");
    app.stop().await;
}
on_both_backends!(media_ranges_served);

async fn media_preflight_allowed_origin(backend: Backend) {
    let env = Env::new(backend, MetaSimConfig::default()).await;
    let mut settings = env.settings();
    settings.server.allowed_origins = vec!["http://app.example:*".to_owned()];
    let bound = env.bind(settings).await;
    let sandbox = seed_sandbox(&bound.store(), &bound.secrets(), env.sim.config()).await;
    let mut app = bound.run(&env);
    let path = stored_photo(&env, &mut app, &sandbox).await;
    let preflight = |origin: &'static str| {
        app.http
            .request(reqwest::Method::OPTIONS, app.url(&path))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization, range")
            .send()
    };

    let allowed = preflight("http://app.example:5173").await.unwrap();
    assert!(allowed.status().is_success(), "{}", allowed.status());
    let header = |response: &reqwest::Response, name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_lowercase())
            .unwrap_or_default()
    };
    assert_eq!(
        header(&allowed, "access-control-allow-origin"),
        "http://app.example:5173"
    );
    let methods = header(&allowed, "access-control-allow-methods");
    assert!(methods.contains("get"), "{methods}");
    assert!(methods.contains("head"), "{methods}");
    assert!(!methods.contains("post"), "{methods}");
    let headers = header(&allowed, "access-control-allow-headers");
    assert!(headers.contains("authorization"), "{headers}");
    assert!(headers.contains("range"), "{headers}");

    let foreign = preflight("https://evil.example").await.unwrap();
    assert!(
        foreign
            .headers()
            .get("access-control-allow-origin")
            .is_none(),
        "a foreign origin gets no CORS grant"
    );

    let fetched = app
        .http
        .get(app.url(&path))
        .bearer_auth(&sandbox.key)
        .header("origin", "http://app.example:5173")
        .header("range", "bytes=0-9")
        .send()
        .await
        .unwrap();
    assert_eq!(fetched.status(), 206);
    assert_eq!(
        header(&fetched, "access-control-allow-origin"),
        "http://app.example:5173"
    );
    let exposed = header(&fetched, "access-control-expose-headers");
    for name in ["content-range", "content-disposition", "accept-ranges"] {
        assert!(exposed.contains(name), "{name} missing from {exposed}");
    }
    app.stop().await;
}
on_both_backends!(media_preflight_allowed_origin);
