//! Sends whose Graph response is lost after the Meta stand-in accepted
//! them: the send carries the message id in `biz_opaque_callback_data`,
//! and the status webhook that echoes it gives the message its wamid and
//! status, before or after the tool reports the failure.

mod common;

use std::time::Duration;

use common::meta::*;
use common::*;
use pons::metasim::{Fault, FaultTarget, SimStatus};
use pons::store::MessageStatus;
use serde_json::json;

const ALL: &[&str] = &["read", "write", "send"];

/// Starts a shop whose Graph requests never time out within a test, so a
/// held send ends only when the test releases it.
async fn patient_shop() -> Shop {
    let options = FullOptions {
        graph_timeout: Duration::from_secs(600),
        ..FullOptions::default()
    };
    shop_with(options, ALL).await
}

#[tokio::test]
async fn status_after_lost_response_sets_wamid() {
    let shop = patient_shop().await;
    shop.inbound("Hi").await;
    let sim = &shop.server.sim;
    sim.inject(FaultTarget::Send, Fault::AcceptThenDrop { hold: false });
    let result = shop
        .call(
            "send_text",
            json!({"phone": CUSTOMER, "text": "Your order"}),
        )
        .await;
    let text = tool_error(&result);
    assert!(
        text.contains("connection to the Graph API failed"),
        "{text}"
    );
    let failed = shop.messages().await.pop().expect("stored message");
    assert_eq!(failed.status, MessageStatus::Failed);
    assert_eq!(failed.wamid, None);

    let accepted = sim.accepted_messages().pop().expect("accepted send");
    assert_eq!(
        accepted.biz_opaque_callback_data.as_deref(),
        Some(failed.id.as_str())
    );
    let delivery = sim
        .send_status(&accepted.wamid, SimStatus::Delivered)
        .await
        .expect("status webhook");
    assert_eq!(delivery.http_status, Some(200));

    let now = shop.messages().await.pop().expect("stored message");
    assert_eq!(now.id, failed.id);
    assert_eq!(now.status, MessageStatus::Delivered);
    assert_eq!(now.wamid.as_deref(), Some(accepted.wamid.as_str()));
    assert_eq!(now.error, None);
}

#[tokio::test]
async fn status_during_lost_send_confirms_it() {
    let shop = patient_shop().await;
    shop.inbound("Hi").await;
    let sim = &shop.server.sim;
    sim.inject(FaultTarget::Send, Fault::AcceptThenDrop { hold: true });
    let sending = shop.call(
        "send_text",
        json!({"phone": CUSTOMER, "text": "Your order"}),
    );
    tokio::pin!(sending);
    tokio::select! {
        () = sim.wait_for_held(1) => {}
        result = &mut sending => panic!("the send ended before the stand-in held it: {result}"),
    }

    let accepted = sim.accepted_messages().pop().expect("accepted send");
    let delivery = sim
        .send_status(&accepted.wamid, SimStatus::Delivered)
        .await
        .expect("status webhook");
    assert_eq!(delivery.http_status, Some(200));
    let during = shop.messages().await.pop().expect("stored message");
    assert_eq!(during.status, MessageStatus::Delivered);
    assert_eq!(during.wamid.as_deref(), Some(accepted.wamid.as_str()));

    assert_eq!(sim.release_held(), 1);
    let output = tool_output(&sending.await);
    assert_eq!(output["messageId"], during.id.as_str());
    assert_eq!(output["status"], "delivered");
    assert_eq!(output["wamid"], accepted.wamid.as_str());
    let warning = output["warnings"][0].as_str().expect("one warning");
    assert!(warning.contains("response from Meta was lost"), "{warning}");
    assert!(warning.contains("do not send it again"), "{warning}");

    let after = shop.messages().await.pop().expect("stored message");
    assert_eq!(
        after.status,
        MessageStatus::Delivered,
        "the failed call changes nothing"
    );
    assert_eq!(after.error, None);
    assert_eq!(shop.message_posts().len(), 1, "the send is not retried");
}
