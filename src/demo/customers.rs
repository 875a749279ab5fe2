//! The demo's customers: who they are, the conversations they start on a
//! new database, and the messages they send now and then while the demo
//! runs. Every message is a signed webhook from the stand-in, so it takes
//! the same path as a message from Meta.

use std::sync::Arc;
use std::time::Duration;

use anyhow::bail;
use rand::Rng;
use rand::seq::SliceRandom;
use tokio_util::sync::CancellationToken;

use crate::metasim::{MetaSim, WebhookDelivery};

/// A demo customer: profile name and WhatsApp id (fictional 555 numbers).
struct Customer {
    name: &'static str,
    wa_id: &'static str,
}

const CUSTOMERS: &[Customer] = &[
    Customer {
        name: "Maria Lopez",
        wa_id: "15550100001",
    },
    Customer {
        name: "Tom Becker",
        wa_id: "15550100002",
    },
    Customer {
        name: "Aisha Khan",
        wa_id: "15550100003",
    },
    Customer {
        name: "Kenji Sato",
        wa_id: "15550100004",
    },
];

/// One scripted message of the first conversations.
enum Line {
    Text(usize, &'static str),
    /// An image with a caption.
    Photo(usize, &'static str),
}

const HISTORY: &[Line] = &[
    Line::Text(
        0,
        "Hi! I ordered a blue backpack on Monday, order #4821. Has it shipped yet?",
    ),
    Line::Text(
        0,
        "Also, could you deliver it to my office instead? Same street, number 12.",
    ),
    Line::Text(
        1,
        "Hello, the zipper on the jacket I bought last week already broke.",
    ),
    Line::Photo(1, "This is what it looks like now"),
    Line::Text(1, "Can I get a replacement or a refund?"),
    Line::Text(
        2,
        "Are you open on Sunday? I'd like to pick up my order in the store.",
    ),
    Line::Text(
        3,
        "Thanks for the quick delivery, everything arrived in perfect condition!",
    ),
];

/// Messages a random customer sends while the demo runs.
const CHATTER: &[&str] = &[
    "Hi, is the sale still on this weekend?",
    "Do you ship to Canada?",
    "What's your return policy for sale items?",
    "Could you send me the invoice for my last order?",
    "My parcel tracking hasn't updated in three days, can you check?",
    "Do you have the running shoes in size 42?",
    "Is there a discount code for a first order?",
    "Can I pay on delivery?",
    "What time do you close today?",
    "Thanks, that solved it!",
];

/// The photo in the first conversations.
const PHOTO_PNG: &[u8] = include_bytes!("parcel.png");

/// The range of pauses between customer messages, in seconds; `max == 0`
/// sends none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CustomerInterval {
    pub min: u64,
    pub max: u64,
}

impl Default for CustomerInterval {
    /// Returns 30 to 90 seconds, about one message a minute.
    fn default() -> CustomerInterval {
        CustomerInterval { min: 30, max: 90 }
    }
}

impl CustomerInterval {
    /// Parses `MIN-MAX`, a single number of seconds, or `0` for none.
    pub fn parse(text: &str) -> Result<CustomerInterval, String> {
        let number = |part: &str| {
            part.trim().parse::<u64>().map_err(|_| {
                format!("invalid interval {text:?}: use MIN-MAX in seconds, e.g. 30-90, or 0")
            })
        };
        let (min, max) = match text.split_once('-') {
            Some((min, max)) => (number(min)?, number(max)?),
            None => {
                let seconds = number(text)?;
                (seconds, seconds)
            }
        };
        if min > max {
            return Err(format!("invalid interval {text:?}: MIN is larger than MAX"));
        }
        if max > 0 && min == 0 {
            return Err(format!(
                "invalid interval {text:?}: MIN must be at least 1 second"
            ));
        }
        Ok(CustomerInterval { min, max })
    }

    fn pause(self) -> Option<Duration> {
        (self.max > 0)
            .then(|| Duration::from_secs(rand::thread_rng().gen_range(self.min..=self.max)))
    }
}

/// Sends the first conversations, each message after the previous one
/// was stored, and returns how many of the messages carry media.
pub(super) async fn send_history(sim: &MetaSim) -> anyhow::Result<usize> {
    let mut media = 0;
    for line in HISTORY {
        let delivery = match line {
            Line::Text(who, body) => {
                let customer = &CUSTOMERS[*who];
                sim.send_inbound_text(customer.wa_id, customer.name, body)
                    .await?
            }
            Line::Photo(who, caption) => {
                let customer = &CUSTOMERS[*who];
                let bytes = PHOTO_PNG.to_vec();
                let photo = sim
                    .send_inbound_image(
                        customer.wa_id,
                        customer.name,
                        bytes,
                        "image/png",
                        Some(caption),
                    )
                    .await?;
                media += 1;
                photo.delivery
            }
        };
        check_accepted(&delivery)?;
    }
    Ok(media)
}

/// Lets a random customer send a random message after each pause, until
/// `shutdown` is cancelled.
pub(super) async fn write_in(
    sim: Arc<MetaSim>,
    interval: CustomerInterval,
    shutdown: CancellationToken,
) {
    loop {
        let Some(pause) = interval.pause() else {
            return;
        };
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(pause) => {}
        }
        let (customer, body) = {
            let mut rng = rand::thread_rng();
            let customer = CUSTOMERS.choose(&mut rng).unwrap_or(&CUSTOMERS[0]);
            (customer, *CHATTER.choose(&mut rng).unwrap_or(&CHATTER[0]))
        };
        let sent = sim
            .send_inbound_text(customer.wa_id, customer.name, body)
            .await;
        match sent
            .map_err(anyhow::Error::from)
            .and_then(|d| check_accepted(&d))
        {
            Ok(()) => tracing::info!(wa_id = customer.wa_id, "demo customer wrote in"),
            Err(error) => {
                tracing::warn!(wa_id = customer.wa_id, %error, "demo customer message not delivered")
            }
        }
    }
}

fn check_accepted(delivery: &WebhookDelivery) -> anyhow::Result<()> {
    match (delivery.http_status, &delivery.error) {
        (Some(200), _) => Ok(()),
        (Some(status), _) => bail!("the server responded to a demo webhook with HTTP {status}"),
        (None, Some(error)) => bail!("a demo webhook could not be delivered: {error}"),
        (None, None) => bail!("a demo webhook got no response"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_parsing() {
        let ok = [
            ("30-90", (30, 90)),
            ("5", (5, 5)),
            ("0", (0, 0)),
            (" 1 - 2 ", (1, 2)),
        ];
        for (text, (min, max)) in ok {
            assert_eq!(
                CustomerInterval::parse(text),
                Ok(CustomerInterval { min, max }),
                "{text}"
            );
        }
        for bad in ["", "90-30", "0-10", "a-b", "-5"] {
            assert!(CustomerInterval::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn history_names_known_customers() {
        for line in HISTORY {
            let (Line::Text(who, _) | Line::Photo(who, _)) = line;
            assert!(*who < CUSTOMERS.len());
        }
    }
}
