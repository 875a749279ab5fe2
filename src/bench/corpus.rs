//! The synthetic corpus of `pons bench seed` and the search queries of
//! `pons bench tools`, both derived from one fixed vocabulary so that
//! the queries hit terms of known frequency in the seeded messages.
//!
//! Message text is a customer-service sentence from a template (with the
//! customer's product, order number, weekday or amount filled in) followed
//! by up to ten words drawn from a Zipf distribution over about 40,000
//! words: chat words first, then shop words, then a long tail of invented
//! words that each occur in only a few dozen messages of a million.

use rand::Rng;
use rand::rngs::StdRng;

/// Seed of every random generator in the corpus, so that two runs with the
/// same arguments write the same text.
pub(super) const RANDOM_SEED: u64 = 0x5EED_2025;
/// Zipf exponent of word frequencies; natural language is close to 1.
const ZIPF_EXPONENT: f64 = 1.05;
/// Invented words in the tail of the vocabulary.
const TAIL_WORDS: usize = 40_000;
/// Most filler words after the template sentence.
const MAX_FILLER_WORDS: usize = 10;
/// Conversations whose order numbers the query mix searches for; seeding
/// requires at least this many conversations.
pub(super) const MIN_CONVERSATIONS: u32 = 100;

/// Function words and chat words, most frequent first.
const CHAT_WORDS: &str = "the i you to a and is it my for of in on that this be have \
    can we with your not are me was at so just but if do no please what when will \
    hi ok yes thanks thank hello there how all get now one still would could today \
    about from here again know need any also very much good sorry wait already \
    soon time tomorrow week day back other new last next got see send sent \
    check help let us our an or as by up out more";

/// Words of a shop's customer service, most frequent first.
const SHOP_WORDS: &str = "order delivery payment refund shipping package address \
    tracking invoice price return size colour stock discount parcel courier \
    exchange receipt warranty account checkout voucher replacement cancel \
    cancellation confirmation damaged missing broken wrong delayed arrived \
    shipped delivered available subscription charger battery screen cable \
    box label store pickup branch card transfer bank cash installment quote \
    estimate appointment repair technician manual instructions battery \
    firmware update bluetooth pairing speaker headphones charger adapter \
    strap case cover lid handle wheel filter cartridge refill spare \
    customs duty tariff express standard overnight weekend holiday \
    complaint feedback review rating loyalty points membership gift wrap \
    engraving personalised bundle promotion coupon clearance preorder \
    backorder restock waitlist unboxing assembly screws hinge scratch dent \
    leak noise smell stain fade shrink tear zipper button seam";

/// Syllables of the invented tail words.
const SYLLABLES: [&str; 36] = [
    "ka", "lo", "mi", "ren", "tu", "sa", "vel", "dor", "ni", "quo", "bra", "the", "xi", "mun",
    "pa", "ro", "gil", "fe", "zan", "tor", "ly", "cha", "wen", "os", "bel", "ur", "dra", "ki",
    "nol", "es", "var", "po", "sin", "gu", "tre", "om",
];

const BRANDS: &str = "Aurora Nordlicht Kestrel Solenne Vantor Helix Marisol Quanta \
    Brixton Lumio Orbis Tessera Calypso Zephyr Ardent Pollux";
const MODELS: &str = "X200 Pro14 Mini S3 Air Max Lite Z9 Studio Go One Plus";
const FIRST_NAMES: &str = "Anna Ben Carla David Elif Farid Greta Hugo Ines Jonas \
    Karin Lukas Maria Noah Olga Paul Rosa Samir Tara Umar Vera Wim Yara Zoe";
const LAST_NAMES: &str = "Adler Berger Costa Dietrich Eriksen Fischer Garcia Hansen \
    Ibrahim Jung Keller Lang Moreau Novak Ortiz Petrov Quinn Rossi Schmidt Tanaka";
const WEEKDAYS: &str = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday";

/// Sentences a customer writes.
const INBOUND_TEMPLATES: [&str; 12] = [
    "Hi, where is my order {order}?",
    "Hello, I ordered the {product} on {day} and it has not arrived yet.",
    "Can I return the {product}? Order {order}.",
    "The {product} I received is damaged, what can I do?",
    "Is the {product} in stock again?",
    "I paid {amount} EUR but the invoice for {order} says something else.",
    "Could you change the delivery address for order {order}?",
    "My {product} stopped working after the update.",
    "Do you ship to my city before {day}?",
    "Thanks, the {product} arrived today!",
    "Can I still cancel order {order}?",
    "How long does the refund for {order} take?",
];

/// Sentences the business writes.
const OUTBOUND_TEMPLATES: [&str; 12] = [
    "Hi {name}, your order {order} has shipped and should arrive by {day}.",
    "Thanks {name}! We refunded {amount} EUR for order {order}.",
    "The {product} is back in stock, shall we reserve one for you?",
    "Sorry for the delay {name}, the courier now expects to deliver on {day}.",
    "We have sent a return label for the {product} to your email.",
    "Your order {order} is confirmed, total {amount} EUR.",
    "A technician can look at the {product} on {day}.",
    "Please send us a photo of the damaged {product}.",
    "We updated the address of order {order}.",
    "Your order {order} was cancelled, the refund follows in 3 to 5 days.",
    "The firmware update for the {product} is available now.",
    "Happy to help {name}, anything else?",
];

/// Words ranked by frequency, with the cumulative Zipf distribution over them.
pub(super) struct Vocabulary {
    words: Vec<String>,
    cumulative: Vec<f64>,
    products: Vec<String>,
}

impl Vocabulary {
    /// Builds the vocabulary: chat words, then shop words, then invented words.
    pub(super) fn new() -> Vocabulary {
        let mut words: Vec<String> = Vec::with_capacity(TAIL_WORDS + 300);
        for word in CHAT_WORDS
            .split_whitespace()
            .chain(SHOP_WORDS.split_whitespace())
        {
            if !words.iter().any(|known| known == word) {
                words.push(word.to_owned());
            }
        }
        words.extend((0..TAIL_WORDS).map(invented_word));
        let mut total = 0.0;
        let cumulative = (1..=words.len())
            .map(|rank| {
                total += (rank as f64).powf(-ZIPF_EXPONENT);
                total
            })
            .collect();
        let products = BRANDS
            .split_whitespace()
            .flat_map(|brand| {
                MODELS
                    .split_whitespace()
                    .map(move |model| format!("{brand} {model}"))
            })
            .collect();
        Vocabulary {
            words,
            cumulative,
            products,
        }
    }

    /// Draws a word with probability proportional to `rank^-ZIPF_EXPONENT`.
    fn sample(&self, rng: &mut StdRng) -> &str {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let point = rng.gen_range(0.0..total);
        let rank = self.cumulative.partition_point(|&c| c <= point);
        &self.words[rank.min(self.words.len() - 1)]
    }

    /// Returns the word at a frequency rank (0 is the most frequent).
    pub(super) fn word(&self, rank: usize) -> &str {
        &self.words[rank.min(self.words.len() - 1)]
    }

    /// Returns the number of shop and chat words before the invented tail.
    pub(super) fn known_words(&self) -> usize {
        self.words.len() - TAIL_WORDS
    }

    /// Returns a product name; products with a low index are the popular ones.
    pub(super) fn product(&self, index: usize) -> &str {
        &self.products[index % self.products.len()]
    }

    /// Writes one message of `customer`: a template sentence, then filler.
    pub(super) fn message(&self, rng: &mut StdRng, customer: &Customer, inbound: bool) -> String {
        let templates = if inbound {
            &INBOUND_TEMPLATES
        } else {
            &OUTBOUND_TEMPLATES
        };
        let template = templates[rng.gen_range(0..templates.len())];
        let order = order_number(customer.index, rng.gen_range(0..ORDERS_PER_CUSTOMER));
        let product = if rng.gen_bool(0.8) {
            self.product(customer.product)
        } else {
            self.product(self.sample_product(rng))
        };
        let mut text = template
            .replace("{order}", &order)
            .replace("{product}", product)
            .replace("{name}", &customer.first_name)
            .replace("{day}", pick(WEEKDAYS, rng.gen_range(0..7)))
            .replace(
                "{amount}",
                &format!("{}.{:02}", rng.gen_range(5..900), rng.gen_range(0..100)),
            );
        for _ in 0..rng.gen_range(0..=MAX_FILLER_WORDS) {
            text.push(' ');
            text.push_str(self.sample(rng));
        }
        text
    }

    /// Draws a product index, the popular ones more often.
    fn sample_product(&self, rng: &mut StdRng) -> usize {
        let u: f64 = rng.r#gen();
        (u * u * self.products.len() as f64) as usize
    }
}

/// What the corpus knows about the customer of one conversation.
pub(super) struct Customer {
    pub index: u32,
    pub wa_id: String,
    pub profile_name: String,
    pub first_name: String,
    /// Index of the product this customer writes about most.
    pub product: usize,
}

impl Customer {
    /// Derives customer `index`; the same index always gives the same customer.
    pub(super) fn new(index: u32) -> Customer {
        let mixed = mix(u64::from(index));
        let first_name = pick(FIRST_NAMES, mixed as usize).to_owned();
        let last_name = pick(LAST_NAMES, (mixed >> 16) as usize);
        Customer {
            index,
            wa_id: (15_550_200_000 + u64::from(index)).to_string(),
            profile_name: format!("{first_name} {last_name}"),
            first_name,
            product: ((mixed >> 32) % 64) as usize,
        }
    }
}

/// Order numbers each customer has, one of which each order sentence names.
const ORDERS_PER_CUSTOMER: u32 = 3;

/// Returns order number `which` of customer `customer`, like `ORD-583920`.
pub(super) fn order_number(customer: u32, which: u32) -> String {
    let mixed = mix(u64::from(customer) * u64::from(ORDERS_PER_CUSTOMER) + u64::from(which));
    format!("ORD-{}", 100_000 + mixed % 900_000)
}

/// One search of the query mix with its frequency class.
pub(super) struct Query {
    pub class: &'static str,
    pub text: String,
}

/// Returns the search queries: common, mid-frequency and rare words,
/// product names, order numbers and two-word searches, in a fixed order.
pub(super) fn query_mix(vocabulary: &Vocabulary) -> Vec<Query> {
    let known = vocabulary.known_words();
    let mut queries = Vec::new();
    let mut add = |class: &'static str, text: String| queries.push(Query { class, text });
    for word in ["order", "delivery", "refund", "thanks", "stock", "invoice"] {
        add("common", word.to_owned());
    }
    for rank in [
        known - 60,
        known - 45,
        known - 30,
        known - 20,
        known - 10,
        known - 1,
    ] {
        add("mid", vocabulary.word(rank).to_owned());
    }
    for rank in [
        known + 500,
        known + 2_000,
        known + 8_000,
        known + 15_000,
        known + 25_000,
    ] {
        add("rare", vocabulary.word(rank).to_owned());
    }
    for index in [0, 5, 23, 57] {
        add("product", vocabulary.product(index).to_owned());
    }
    for customer in [3, 17, 42, 99] {
        add(
            "order number",
            order_number(customer, customer % ORDERS_PER_CUSTOMER),
        );
    }
    add(
        "two words",
        format!("refund {}", vocabulary.word(known - 30)),
    );
    add("two words", "delivery tomorrow".to_owned());
    add("two words", format!("damaged {}", vocabulary.product(1)));
    queries
}

/// Spells tail word `index` from three syllables, so every index gives a
/// different word.
fn invented_word(index: usize) -> String {
    let n = SYLLABLES.len();
    let mut word = String::new();
    for position in [index / (n * n) % n, index / n % n, index % n] {
        word.push_str(SYLLABLES[position]);
    }
    word
}

/// Picks the `index`-th (modulo the count) whitespace-separated word.
fn pick(list: &'static str, index: usize) -> &'static str {
    let count = list.split_whitespace().count();
    list.split_whitespace().nth(index % count).unwrap_or("")
}

/// Scrambles a number (SplitMix64's finalizer), for per-customer variety
/// that does not depend on the random generator's state.
fn mix(value: u64) -> u64 {
    let mut z = value.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn invented_words_are_distinct() {
        let words: std::collections::HashSet<String> = (0..TAIL_WORDS).map(invented_word).collect();
        assert_eq!(words.len(), TAIL_WORDS);
    }

    #[test]
    fn messages_are_deterministic() {
        let vocabulary = Vocabulary::new();
        let customer = Customer::new(7);
        let mut first = StdRng::seed_from_u64(RANDOM_SEED);
        let mut second = StdRng::seed_from_u64(RANDOM_SEED);
        for inbound in [true, false, true] {
            let a = vocabulary.message(&mut first, &customer, inbound);
            let b = vocabulary.message(&mut second, &customer, inbound);
            assert_eq!(a, b);
            assert!(!a.contains('{'), "unfilled slot in {a:?}");
        }
    }

    #[test]
    fn zipf_prefers_frequent_words() {
        let vocabulary = Vocabulary::new();
        let mut rng = StdRng::seed_from_u64(RANDOM_SEED);
        let draws: Vec<String> = (0..20_000)
            .map(|_| vocabulary.sample(&mut rng).to_owned())
            .collect();
        let count = |word: &str| draws.iter().filter(|d| *d == word).count();
        assert!(count(vocabulary.word(0)) > 10 * count(vocabulary.word(50)).max(1));
        assert!(
            draws
                .iter()
                .any(|d| d == vocabulary.word(vocabulary.known_words() + 10))
        );
    }

    #[test]
    fn query_mix_uses_corpus_terms() {
        let vocabulary = Vocabulary::new();
        let queries = query_mix(&vocabulary);
        assert!(queries.iter().any(|q| q.class == "rare"));
        assert!(queries.iter().all(|q| !q.text.trim().is_empty()));
        let order = order_number(3, 0);
        assert!(order.starts_with("ORD-") && order.len() == 10, "{order}");
    }
}
