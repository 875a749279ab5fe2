//! `send_template` against the Meta stand-in: named and positional
//! variables, component types in any case sent in Meta's lower case,
//! media headers and URL buttons, the on-demand template sync, and every
//! refusal made before a message reaches Meta.

mod common;

use common::meta::*;
use common::*;
use pons::metasim::SimTemplate;
use serde_json::{Value, json};

const ALL: &[&str] = &["read", "write", "send"];

/// Returns the bodies of every `POST /messages` the stand-in received.
fn posts(shop: &Shop) -> Vec<Value> {
    shop.message_posts()
        .iter()
        .map(|r| r.json().expect("JSON body"))
        .collect()
}

fn template_syncs(shop: &Shop) -> usize {
    shop.server
        .sim
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/message_templates"))
        .count()
}

#[tokio::test]
async fn named_template_syncs_and_sends_lower_case() {
    let shop = shop(ALL).await;
    let result = shop
        .call(
            "send_template",
            json!({
                "phone": "+49 30 123456",
                "templateName": "appointment_reminder",
                "templateLanguage": "en_US",
                "components": [{"type": "BODY", "parameters": [
                    {"type": "TEXT", "text": "May 3", "parameter_name": "date"},
                    {"type": "text", "text": "Hans", "parameter_name": "first_name"}
                ]}]
            }),
        )
        .await;
    let output = tool_output(&result);
    assert_eq!(template_syncs(&shop), 1, "unknown template triggers a sync");
    assert_eq!(
        posts(&shop),
        [json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": "+4930123456",
            "type": "template",
            "template": {
                "name": "appointment_reminder",
                "language": {"code": "en_US"},
                "components": [{"type": "body", "parameters": [
                    {"type": "text", "text": "May 3", "parameter_name": "date"},
                    {"type": "text", "text": "Hans", "parameter_name": "first_name"}
                ]}]
            },
            "biz_opaque_callback_data": output["messageId"],
        })]
    );
    assert_eq!(output["status"], "sent");
    let stored = shop.messages().await.pop().unwrap();
    assert_eq!(stored.kind, "template");
    assert_eq!(
        stored.text.as_deref(),
        Some("Hello Hans, see you on May 3."),
        "the stored copy shows the filled text"
    );

    let again = shop
        .call(
            "send_template",
            json!({"phone": CUSTOMER, "templateName": "appointment_reminder",
                   "templateLanguage": "en_US", "components": [{"type": "Body", "parameters": [
                       {"type": "text", "text": "Jo", "parameter_name": "first_name"},
                       {"type": "text", "text": "today", "parameter_name": "date"}]}]}),
        )
        .await;
    tool_output(&again);
    assert_eq!(template_syncs(&shop), 1, "a known template needs no sync");
    assert_eq!(posts(&shop)[1]["template"]["components"][0]["type"], "body");
}

#[tokio::test]
async fn positional_template_with_header_and_button() {
    let shop = shop(ALL).await;
    shop.sync_templates().await;
    let output = tool_output(
        &shop
            .call(
                "send_template",
                json!({
                    "phone": CUSTOMER,
                    "templateName": "receipt",
                    "templateLanguage": "de",
                    "components": [
                        {"type": "HEADER", "parameters": [
                            {"type": "IMAGE", "image": {"link": "https://cdn.example.com/r.png"}}]},
                        {"type": "body", "parameters": [{"type": "text", "text": "Hans"}]},
                        {"type": "BUTTON", "sub_type": "URL", "index": 0,
                         "parameters": [{"type": "text", "text": "R-42"}]}
                    ]
                }),
            )
            .await,
    );
    assert_eq!(output["status"], "sent");
    assert_eq!(
        posts(&shop)[0]["template"],
        json!({
            "name": "receipt",
            "language": {"code": "de"},
            "components": [
                {"type": "header", "parameters": [
                    {"type": "image", "image": {"link": "https://cdn.example.com/r.png"}}]},
                {"type": "body", "parameters": [{"type": "text", "text": "Hans"}]},
                {"type": "button", "sub_type": "url", "index": "0",
                 "parameters": [{"type": "text", "text": "R-42"}]}
            ]
        })
    );
}

#[tokio::test]
async fn positional_template_fills_in_order() {
    let shop = shop(ALL).await;
    shop.sync_templates().await;
    tool_output(
        &shop
            .call(
                "send_template",
                json!({"phone": CUSTOMER, "templateName": "order_update",
                       "templateLanguage": "en_US", "components": [{"type": "body",
                       "parameters": [{"type": "text", "text": "Hans"},
                                      {"type": "text", "text": "#42"}]}]}),
            )
            .await,
    );
    let body = &posts(&shop)[0]["template"]["components"][0];
    assert_eq!(
        body,
        &json!({"type": "body", "parameters": [
            {"type": "text", "text": "Hans"}, {"type": "text", "text": "#42"}]})
    );
    let stored = shop.messages().await.pop().unwrap();
    assert_eq!(
        stored.text.as_deref(),
        Some("Hi Hans, your order #42 has shipped.")
    );
}

#[tokio::test]
async fn sent_template_named_in_conversation() {
    let shop = shop(ALL).await;
    shop.sync_templates().await;
    let customer_wamid = shop.inbound("Where is my order?").await;
    tool_output(
        &shop
            .call(
                "send_template",
                json!({"phone": CUSTOMER, "templateName": "order_update",
                       "templateLanguage": "en_US", "components": [{"type": "body",
                       "parameters": [{"type": "text", "text": "Hans"},
                                      {"type": "text", "text": "#42"}]}]}),
            )
            .await,
    );
    tool_output(
        &shop
            .call("send_text", json!({"phone": CUSTOMER, "text": "Thanks!"}))
            .await,
    );

    let output = shop.read_conversation().await;
    let messages = output["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), 3, "{output}");
    let inbound = &messages[0];
    assert_eq!(inbound["wamid"], json!(customer_wamid), "{inbound}");
    assert!(inbound.get("template").is_none(), "{inbound}");
    let template = &messages[1];
    assert_eq!(template["type"], "template", "{template}");
    assert_eq!(
        template["text"], "Hi Hans, your order #42 has shipped.",
        "{template}"
    );
    assert_eq!(
        template["template"],
        json!({"name": "order_update", "language": "en_US"}),
        "{template}"
    );
    let text = &messages[2];
    assert_eq!(text["type"], "text", "{text}");
    assert!(text.get("template").is_none(), "{text}");
}

#[tokio::test]
async fn missing_variables_named_before_meta() {
    let shop = shop(ALL).await;
    shop.sync_templates().await;
    let cases = [
        (
            json!({"phone": CUSTOMER, "templateName": "appointment_reminder",
                   "templateLanguage": "en_US", "components": [{"type": "body", "parameters": [
                       {"type": "text", "text": "Hans", "parameter_name": "first_name"}]}]}),
            vec![
                "missing values for body {{date}}",
                "\"parameter_name\":\"date\"",
            ],
        ),
        (
            json!({"phone": CUSTOMER, "templateName": "order_update",
                   "templateLanguage": "en_US"}),
            vec![
                "missing values for body {{1}}, body {{2}}",
                "\"type\":\"body\"",
            ],
        ),
        (
            json!({"phone": CUSTOMER, "templateName": "receipt", "templateLanguage": "de",
                   "components": [{"type": "body", "parameters": [
                       {"type": "text", "text": "Hans"}]}]}),
            vec!["header image, button 0 (url) {{1}}", "\"sub_type\":\"url\""],
        ),
    ];
    for (arguments, expected) in cases {
        let text = tool_error(&shop.call("send_template", arguments.clone()).await);
        for fragment in expected {
            assert!(text.contains(fragment), "{arguments}: {text}");
        }
    }
    assert!(posts(&shop).is_empty(), "nothing reached Meta");
    assert!(shop.messages().await.is_empty(), "nothing stored");
}

#[tokio::test]
async fn wrong_components_are_rejected() {
    let shop = shop(ALL).await;
    shop.sync_templates().await;
    let named = |parameters: Value| {
        json!({"phone": CUSTOMER, "templateName": "appointment_reminder",
               "templateLanguage": "en_US",
               "components": [{"type": "body", "parameters": parameters}]})
    };
    let cases = [
        (
            named(json!([{"type": "text", "text": "Hans"}, {"type": "text", "text": "x"}])),
            "has no parameter_name",
        ),
        (
            named(json!([{"type": "text", "text": "Hans", "parameter_name": "name"}])),
            "\"name\" is not a body variable",
        ),
        (
            json!({"phone": CUSTOMER, "templateName": "order_update", "templateLanguage": "en_US",
                   "components": [{"type": "body", "parameters": [
                       {"type": "text", "text": "a"}, {"type": "text", "text": "b"},
                       {"type": "text", "text": "c"}]}]}),
            "has 2 variable(s) but 3 parameters",
        ),
        (
            json!({"phone": CUSTOMER, "templateName": "order_update", "templateLanguage": "en_US",
                   "components": [{"type": "footer"}]}),
            r#"`components[0].type` is "footer", which is not a component type"#,
        ),
        (
            json!({"phone": CUSTOMER, "templateName": "receipt", "templateLanguage": "de",
                   "components": [{"type": "header", "parameters": [
                       {"type": "text", "text": "no image"}]}]}),
            "exactly one image parameter",
        ),
    ];
    for (arguments, expected) in cases {
        let text = tool_error(&shop.call("send_template", arguments.clone()).await);
        assert!(text.contains(expected), "{arguments}: {text}");
    }
    assert!(posts(&shop).is_empty());
}

#[tokio::test]
async fn component_errors_name_path_and_key() {
    let shop = shop(ALL).await;
    shop.sync_templates().await;
    let order_update = |components: Value| {
        json!({"phone": CUSTOMER, "templateName": "order_update", "templateLanguage": "en_US",
               "components": components})
    };
    let cases = [
        (
            order_update(json!([{"type": "body", "extra": "x", "parameters": [
                {"type": "text", "text": "Hans"}, {"type": "text", "text": "#42"}]}])),
            vec![
                r#"`components[0]` has the unknown key "extra""#,
                "a body component takes the keys type and parameters",
            ],
        ),
        (
            order_update(json!([
                {"type": "body", "parameters": [{"type": "text", "text": "Hans"}]},
                {"type": "body", "parameters": [{"type": "text", "text": 42}]},
            ])),
            vec!["`components[1].parameters[0].text` must be a string, not an integer"],
        ),
        (
            json!({"phone": CUSTOMER, "templateName": "receipt", "templateLanguage": "de",
            "components": [
                {"type": "header", "parameters": [
                    {"type": "image", "image": {"link": "https://cdn.example.com/r.png"}}]},
                {"type": "body", "parameters": [
                    {"type": "image", "image": {"link": "http://cdn.example.com/r.png"}}]},
            ]}),
            vec!["the image in the body component (`components[1].parameters[0]`)"],
        ),
    ];
    for (arguments, expected) in cases {
        let text = tool_error(&shop.call("send_template", arguments.clone()).await);
        for fragment in expected {
            assert!(text.contains(fragment), "{fragment:?} not in {text}");
        }
        assert!(!text.contains("at `.`"), "{text}");
        assert!(!text.contains("header image"), "{text}");
    }
    assert!(posts(&shop).is_empty(), "nothing reached Meta");
    assert!(shop.messages().await.is_empty(), "nothing stored");
}

#[tokio::test]
async fn unsendable_templates_are_rejected() {
    let shop = shop(ALL).await;
    shop.sync_templates().await;
    let cases = [
        (
            json!({"phone": CUSTOMER, "templateName": "weekly_offer", "templateLanguage": "en_US",
                   "components": [{"type": "body", "parameters": [{"type": "text", "text": "x"}]}]}),
            vec!["cannot be sent", "PENDING", "only APPROVED"],
        ),
        (
            json!({"phone": CUSTOMER, "templateName": "order_update", "templateLanguage": "en"}),
            vec![
                "order_update in language en",
                "must match exactly",
                "en_US (APPROVED)",
            ],
        ),
        (
            json!({"phone": CUSTOMER, "templateName": "order_update"}),
            vec!["missing argument `templateLanguage`", "en_US"],
        ),
        (
            json!({"phone": CUSTOMER, "templateName": "no_such_template",
                   "templateLanguage": "en_US"}),
            vec![
                "template not found: no_such_template",
                "order_update (en_US)",
            ],
        ),
    ];
    for (arguments, expected) in cases {
        let text = tool_error(&shop.call("send_template", arguments.clone()).await);
        for fragment in expected {
            assert!(text.contains(fragment), "{arguments}: {text}");
        }
    }
    assert!(posts(&shop).is_empty());
    assert!(shop.messages().await.is_empty());
}

#[tokio::test]
async fn template_name_guide_follows_scopes() {
    let shop = shop(ALL).await;
    shop.sync_templates().await;
    let text = tool_error(&shop.call("send_template", json!({"phone": CUSTOMER})).await);
    assert!(text.contains("missing argument `templateName`"), "{text}");
    assert!(
        text.contains("appointment_reminder (en_US): variables body {{first_name}}, body {{date}}"),
        "{text}"
    );
    assert!(
        !text.contains("weekly_offer"),
        "pending templates are no choice: {text}"
    );

    let send_only = shop.key(&["send"]).await;
    let text = tool_error(
        &shop
            .server
            .call_tool(&send_only, "send_template", json!({"phone": CUSTOMER}))
            .await,
    );
    assert!(text.contains("missing argument `templateName`"), "{text}");
    assert!(!text.contains("order_update"), "{text}");
    assert!(text.contains("`read` scope"), "{text}");
}

/// Seeds the stand-in with `template` and loads the list into the store.
async fn shop_with_template(template: SimTemplate) -> Shop {
    let shop = shop(ALL).await;
    shop.server.sim.add_template(template);
    shop.sync_templates().await;
    shop
}

#[tokio::test]
async fn location_header_sent_as_meta_expects() {
    let template = SimTemplate::positional(
        "200000000000061",
        "pickup_point",
        "en_US",
        "Your parcel {{1}} waits here.",
    )
    .with_component(json!({"type": "HEADER", "format": "LOCATION"}));
    let shop = shop_with_template(template).await;
    let key = shop.key(&["read"]).await;
    let listed = tool_output(
        &shop
            .server
            .call_tool(&key, "list_templates", json!({}))
            .await,
    );
    let pickup = listed["templates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "pickup_point")
        .expect("pickup_point listed")
        .clone();
    assert_eq!(pickup["header"], json!({"format": "LOCATION"}));
    assert_eq!(
        pickup["variables"],
        json!(["header location", "body {{1}}"])
    );
    assert_eq!(
        pickup["exampleComponents"][0]["parameters"][0]["type"],
        "location"
    );

    let body = json!({"type": "body", "parameters": [{"type": "text", "text": "P-7"}]});
    let text = tool_error(
        &shop
            .call(
                "send_template",
                json!({"phone": CUSTOMER, "templateName": "pickup_point",
                       "templateLanguage": "en_US", "components": [body.clone()]}),
            )
            .await,
    );
    assert!(
        text.contains("missing values for header location"),
        "{text}"
    );
    assert!(text.contains(r#""type":"location""#), "{text}");
    assert!(posts(&shop).is_empty(), "nothing reached Meta");

    let location = json!({"latitude": 52.5251, "longitude": 13.3694,
                          "name": "Parcel shop", "address": "Invalidenstr. 1, Berlin"});
    let output = tool_output(
        &shop
            .call(
                "send_template",
                json!({"phone": CUSTOMER, "templateName": "pickup_point",
                "templateLanguage": "en_US", "components": [
                    {"type": "HEADER", "parameters": [
                        {"type": "LOCATION", "location": location.clone()}]},
                    body,
                ]}),
            )
            .await,
    );
    assert_eq!(output["status"], "sent");
    assert_eq!(
        posts(&shop)[0]["template"],
        json!({
            "name": "pickup_point",
            "language": {"code": "en_US"},
            "components": [
                {"type": "header", "parameters": [{"type": "location", "location": location}]},
                {"type": "body", "parameters": [{"type": "text", "text": "P-7"}]}
            ]
        })
    );
}

#[tokio::test]
async fn oversized_components_rejected_early() {
    let shop = shop(ALL).await;
    shop.sync_templates().await;
    let body = json!({"type": "body", "parameters": [
        {"type": "text", "text": "Hans"}, {"type": "text", "text": "#42"}]});
    let arguments = json!({"phone": CUSTOMER, "templateName": "order_update",
                           "templateLanguage": "en_US",
                           "components": vec![body; 40_000]});
    let text = tool_error(&shop.call("send_template", arguments).await);
    assert!(text.contains("40000 components were given"), "{text}");
    assert!(text.contains("at most 12"), "{text}");
    assert!(!text.contains("second body component"), "{text}");

    let parameters = vec![json!({"type": "text", "text": "Hans"}); 5_000];
    let arguments = json!({"phone": CUSTOMER, "templateName": "order_update",
                           "templateLanguage": "en_US",
                           "components": [{"type": "body", "parameters": parameters}]});
    let text = tool_error(&shop.call("send_template", arguments).await);
    assert!(
        text.contains("`components[0]` has 5000 parameters"),
        "{text}"
    );
    assert!(text.contains("at most 204"), "{text}");
    assert!(posts(&shop).is_empty(), "nothing reached Meta");
}

#[tokio::test]
async fn button_values_checked_before_meta() {
    let template = SimTemplate {
        components: vec![
            json!({"type": "BODY", "text": "Take 10% off today."}),
            json!({"type": "BUTTONS", "buttons": [
                {"type": "COPY_CODE", "example": "SAVE10"},
                {"type": "QUICK_REPLY", "text": "Stop"},
                {"type": "URL", "text": "Shop", "url": "https://shop.example/s/{{1}}"}
            ]}),
        ],
        category: "MARKETING".to_owned(),
        ..SimTemplate::positional("200000000000062", "coupon_offer", "en_US", "")
    };
    let shop = shop_with_template(template).await;
    let send = |coupon_code: &str, payload: &str, suffix: &str| {
        json!({"phone": CUSTOMER, "templateName": "coupon_offer", "templateLanguage": "en_US",
        "components": [
            {"type": "button", "sub_type": "copy_code", "index": "0", "parameters": [
                {"type": "coupon_code", "coupon_code": coupon_code}]},
            {"type": "button", "sub_type": "quick_reply", "index": "1", "parameters": [
                {"type": "payload", "payload": payload}]},
            {"type": "button", "sub_type": "url", "index": "2", "parameters": [
                {"type": "text", "text": suffix}]},
        ]})
    };
    let long_code = "C".repeat(100);
    let long_suffix = "s".repeat(3_000);
    let cases = [
        (
            send("", "stop", "a1"),
            "button 0 (copy_code) coupon code is empty",
        ),
        (
            send(&long_code, "stop", "a1"),
            "button 0 (copy_code) coupon code is 100 characters long, and WhatsApp allows 15",
        ),
        (
            send("SAVE\n10", "stop", "a1"),
            "button 0 (copy_code) coupon code contains a new line",
        ),
        (
            send("\u{202e}", "stop", "a1"),
            "button 0 (copy_code) coupon code has no visible character",
        ),
        (
            send("SAVE10", "", "a1"),
            "button 1 (quick_reply) payload is empty",
        ),
        (
            send("SAVE10", "stop\n", "a1"),
            "button 1 (quick_reply) payload contains a new line",
        ),
        (
            send("SAVE10", "stop", &long_suffix),
            "button 2 (url) {{1}} is 3000 characters long, and WhatsApp allows 2000",
        ),
    ];
    for (arguments, expected) in cases {
        let text = tool_error(&shop.call("send_template", arguments).await);
        assert!(text.contains(expected), "{expected:?} not in {text}");
    }
    assert!(posts(&shop).is_empty(), "nothing reached Meta");

    tool_output(
        &shop
            .call("send_template", send("SAVE10", "stop", "a1"))
            .await,
    );
    let buttons = &posts(&shop)[0]["template"]["components"];
    assert_eq!(buttons[0]["parameters"][0]["coupon_code"], "SAVE10");
    assert_eq!(buttons[1]["parameters"][0]["payload"], "stop");
}
