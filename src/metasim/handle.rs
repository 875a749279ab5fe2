//! `MetaSim`: a running stand-in and the calls tests and the demo make on
//! it (seeding, faults, records, on-demand webhooks).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::messages::new_wamid;
use super::state::{self, Inner, Media};
use super::webhooks::{self, SimStatus};
use base64::Engine;

use super::{
    AcceptedMessage, Fault, FaultTarget, MetaSimConfig, RecordedRequest, Sim, SimError,
    SimRecipient, SimTemplate, StatusPlan, WebhookDelivery,
};

/// A running stand-in. Dropping it stops the server and pending webhooks.
pub struct MetaSim {
    sim: Arc<Sim>,
    /// The accept loop; set once it is spawned and taken when stopping.
    server: Mutex<Option<JoinHandle<()>>>,
}

/// An inbound image sent by `send_inbound_image`.
#[derive(Clone, Debug)]
pub struct InboundMedia {
    pub media_id: String,
    pub delivery: WebhookDelivery,
}

impl MetaSim {
    /// Binds 127.0.0.1 on a free port and starts serving.
    pub async fn start(config: MetaSimConfig) -> std::io::Result<MetaSim> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let sim = new_sim(config, &listener)?;
        let router = super::routes::router(sim.clone());
        let server = tokio::spawn(super::server::serve(listener, router, sim.shutdown.clone()));
        tracing::info!(origin = %sim.origin, "Meta stand-in started");
        Ok(MetaSim {
            sim,
            server: Mutex::new(Some(server)),
        })
    }

    /// Binds `addr` and starts serving the Graph routes plus the control
    /// API under [`super::control::PREFIX`]. Another process drives the
    /// stand-in through that API as Rust tests drive a `MetaSim`, which is
    /// what `pons metasim` is for. The served router keeps a reference to
    /// the handle, so dropping it does not stop the server: call
    /// [`MetaSim::stop`].
    pub async fn start_with_control(
        config: MetaSimConfig,
        addr: SocketAddr,
    ) -> std::io::Result<Arc<MetaSim>> {
        let listener = TcpListener::bind(addr).await?;
        let sim = new_sim(config, &listener)?;
        let handle = Arc::new(MetaSim {
            sim: sim.clone(),
            server: Mutex::new(None),
        });
        let router =
            super::routes::router(sim.clone()).merge(super::control::router(handle.clone()));
        let server = tokio::spawn(super::server::serve(listener, router, sim.shutdown.clone()));
        *handle.server_slot() = Some(server);
        tracing::info!(origin = %sim.origin, "Meta stand-in started with its control API");
        Ok(handle)
    }

    /// The Graph API base URL with version, such as
    /// `http://127.0.0.1:41234/v25.0`.
    pub fn base_url(&self) -> String {
        format!("{}/{}", self.sim.origin, self.sim.config.version)
    }

    /// Returns scheme, host and port, without the version.
    pub fn origin(&self) -> &str {
        &self.sim.origin
    }

    /// Returns the configuration it was started with.
    pub fn config(&self) -> &MetaSimConfig {
        &self.sim.config
    }

    /// Returns every request received so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.inner().requests.clone()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        self.inner().requests.clear();
    }

    /// Queues `fault` for the next request matching `target`. Faults are
    /// consumed in order, one per request.
    pub fn inject(&self, target: FaultTarget, fault: Fault) {
        self.inner().faults.push_back((target, fault));
    }

    /// Counts the faults still queued.
    pub fn pending_faults(&self) -> usize {
        self.inner().faults.len()
    }

    /// Counts the requests that a [`Fault::Hold`], a
    /// [`Fault::AcceptThenHold`] or a held [`Fault::AcceptThenDrop`] is
    /// holding and whose client still waits for the response.
    pub fn held_requests(&self) -> usize {
        self.inner().held_count()
    }

    /// Waits until at least `count` requests are held. It never returns
    /// while fewer are, so callers race it against the request they sent.
    pub async fn wait_for_held(&self, count: usize) {
        loop {
            let notified = self.sim.held_changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.held_requests() >= count {
                return;
            }
            notified.await;
        }
    }

    /// Lets every held request go on, to its normal response or, for
    /// [`Fault::AcceptThenDrop`], to the closed connection, and returns how
    /// many were released. Requests held later stay held.
    pub fn release_held(&self) -> usize {
        self.inner().release_held()
    }

    pub fn add_template(&self, template: SimTemplate) {
        self.inner().templates.push(template);
    }

    pub fn add_recipient(&self, recipient: SimRecipient) {
        let mut inner = self.inner();
        inner.recipients.insert(recipient.wa_id.clone(), recipient);
    }

    /// Stores a media file and returns its new media id.
    pub fn add_media(&self, bytes: Vec<u8>, mime_type: &str) -> String {
        self.insert_media(bytes, mime_type, false)
    }

    /// Stores a media file whose size the stand-in never states: its
    /// metadata has no `file_size` and its download is chunked without a
    /// `Content-Length`, so a client must enforce its size limit while it
    /// reads. Returns the new media id.
    pub fn add_media_of_unknown_size(&self, bytes: Vec<u8>, mime_type: &str) -> String {
        self.insert_media(bytes, mime_type, true)
    }

    fn insert_media(&self, bytes: Vec<u8>, mime_type: &str, size_unknown: bool) -> String {
        let mut inner = self.inner();
        let id = inner.next_numeric_id();
        let media = Media {
            bytes,
            mime_type: mime_type.to_owned(),
            size_unknown,
        };
        inner.media.insert(id.clone(), media);
        id
    }

    /// Makes every download URL issued so far return 404.
    pub fn expire_media_urls(&self) {
        self.inner().tickets.clear();
    }

    /// Records that `wa_id` last wrote `seconds_ago` seconds ago, as if
    /// through `send_inbound_*`, so a stand-in started after the customer
    /// wrote enforces the same 24-hour window as the store.
    pub fn set_last_inbound(&self, wa_id: &str, seconds_ago: u64) {
        let now = tokio::time::Instant::now();
        if let Some(at) = now.checked_sub(std::time::Duration::from_secs(seconds_ago)) {
            self.inner().last_inbound.insert(wa_id.to_owned(), at);
        }
    }

    /// Sets or clears the webhook receiver.
    pub fn set_webhook_url(&self, url: Option<&str>) {
        self.inner().webhook_url = url.map(str::to_owned);
    }

    /// Sets the timing of automatic status webhooks for later sends.
    pub fn set_status_plan(&self, plan: StatusPlan) {
        self.inner().status_plan = plan;
    }

    /// Returns the messages accepted so far, oldest first.
    pub fn accepted_messages(&self) -> Vec<AcceptedMessage> {
        self.inner().accepted.clone()
    }

    /// Returns the wamids marked read so far, oldest first.
    pub fn read_receipts(&self) -> Vec<String> {
        self.inner().read_receipts.clone()
    }

    /// Returns the webhooks sent so far, oldest first.
    pub fn webhook_deliveries(&self) -> Vec<WebhookDelivery> {
        self.inner().deliveries.clone()
    }

    /// Sends a status webhook for an accepted message now, echoing the
    /// send's `biz_opaque_callback_data` as Meta does.
    pub async fn send_status(
        &self,
        wamid: &str,
        status: SimStatus,
    ) -> Result<WebhookDelivery, SimError> {
        let message = self
            .inner()
            .accepted
            .iter()
            .find(|m| m.wamid == wamid)
            .cloned()
            .ok_or_else(|| SimError::UnknownMessage(wamid.to_owned()))?;
        let payload = webhooks::status_payload(&self.sim, &message, status);
        let kind = format!("status:{}", status.name());
        webhooks::deliver(&self.sim, kind, wamid, &payload).await
    }

    /// Sends a customer's text message as a webhook; the delivery's `wamid`
    /// is the new message's id. Opens the customer's service window.
    pub async fn send_inbound_text(
        &self,
        from: &str,
        profile_name: &str,
        body: &str,
    ) -> Result<WebhookDelivery, SimError> {
        self.send_inbound(from, profile_name, "text", json!({ "body": body }))
            .await
    }

    /// Stores `bytes` as media and sends a customer's image message that
    /// refers to it, with a download URL as Meta now includes.
    pub async fn send_inbound_image(
        &self,
        from: &str,
        profile_name: &str,
        bytes: Vec<u8>,
        mime_type: &str,
        caption: Option<&str>,
    ) -> Result<InboundMedia, SimError> {
        let sha256 = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&bytes));
        let media_id = self.add_media(bytes, mime_type);
        let url = {
            let mut inner = self.inner();
            super::media::download_url(&self.sim, &mut inner, &media_id)
        };
        let mut image =
            json!({"mime_type": mime_type, "sha256": sha256, "id": media_id, "url": url});
        if let Some(caption) = caption {
            image["caption"] = json!(caption);
        }
        let delivery = self
            .send_inbound(from, profile_name, "image", image)
            .await?;
        Ok(InboundMedia { media_id, delivery })
    }

    async fn send_inbound(
        &self,
        from: &str,
        profile_name: &str,
        kind: &str,
        content: serde_json::Value,
    ) -> Result<WebhookDelivery, SimError> {
        let wamid = new_wamid(from);
        let payload =
            webhooks::inbound_payload(&self.sim, &wamid, from, profile_name, kind, content);
        self.inner()
            .last_inbound
            .insert(from.to_owned(), tokio::time::Instant::now());
        webhooks::deliver(&self.sim, format!("inbound:{kind}"), &wamid, &payload).await
    }

    /// Stops the server and waits for its accept loop to end.
    pub async fn shutdown(self) {
        self.stop().await;
    }

    /// Stops the server and pending webhooks, and waits for the accept
    /// loop to end. Connections still open are closed.
    pub async fn stop(&self) {
        self.sim.shutdown.cancel();
        let server = self.server_slot().take();
        if let Some(server) = server {
            let _ = server.await;
        }
        tracing::info!(origin = %self.sim.origin, "Meta stand-in stopped");
    }

    fn server_slot(&self) -> std::sync::MutexGuard<'_, Option<JoinHandle<()>>> {
        self.server
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        state::lock(&self.sim.inner)
    }
}

/// Builds the shared state of a stand-in that listens on `listener`.
fn new_sim(config: MetaSimConfig, listener: &TcpListener) -> std::io::Result<Arc<Sim>> {
    let origin = format!("http://{}", listener.local_addr()?);
    let http = crate::whatsapp::graph::http_client(config.webhook_timeout)
        .map_err(std::io::Error::other)?;
    let inner = Inner {
        templates: config.templates.clone(),
        recipients: config
            .recipients
            .iter()
            .map(|r| (r.wa_id.clone(), r.clone()))
            .collect(),
        webhook_url: config.webhook_url.clone(),
        status_plan: config.status_plan.clone(),
        ..Inner::default()
    };
    Ok(Arc::new(Sim {
        config,
        origin,
        inner: Mutex::new(inner),
        http,
        shutdown: CancellationToken::new(),
        held_changed: tokio::sync::Notify::new(),
    }))
}

impl Drop for MetaSim {
    fn drop(&mut self) {
        self.sim.shutdown.cancel();
    }
}
