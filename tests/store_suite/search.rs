//! Full-text search.

use pons::store::{AccountId, DynStore, IngestItem, SEARCH_RANKED_MATCHES};

use super::{T0, ingest, tenant, text};

pub async fn search_ranks_and_isolates_tenants(store: DynStore) {
    let a = tenant(&store, "search-a").await;
    let b = tenant(&store, "search-b").await;
    let from = "15551260001";
    ingest(
        &store,
        vec![
            IngestItem::Message(text(
                &a.account,
                from,
                "wamid.S1",
                T0,
                "the quick brown fox jumps over the lazy dog",
            )),
            IngestItem::Message(text(&a.account, from, "wamid.S2", T0 + 1, "fox fox fox")),
            IngestItem::Message(text(&a.account, from, "wamid.S3", T0 + 2, "nothing to see")),
            IngestItem::Message(text(
                &b.account,
                from,
                "wamid.S4",
                T0 + 3,
                "zebra crossing fox",
            )),
        ],
    )
    .await;
    let only_a = [a.account.id.clone()];
    let only_b = [b.account.id.clone()];

    let hits = store
        .search_messages(&only_a, "fox", 10)
        .await
        .expect("search");
    let wamids: Vec<_> = hits.iter().map(|h| h.message.wamid.clone()).collect();
    assert_eq!(
        wamids,
        vec![Some("wamid.S2".to_owned()), Some("wamid.S1".to_owned())]
    );
    assert!(
        hits[0].rank >= hits[1].rank,
        "higher rank is the better match"
    );
    assert!(hits.iter().all(|h| h.account_id == a.account.id));
    assert_eq!(hits[0].wa_id, from);

    let zebra_in_a = store
        .search_messages(&only_a, "zebra", 10)
        .await
        .expect("search");
    assert!(
        zebra_in_a.is_empty(),
        "a word only in account B is not found in A"
    );
    let zebra_in_b = store
        .search_messages(&only_b, "zebra", 10)
        .await
        .expect("search");
    assert_eq!(zebra_in_b.len(), 1);
    assert_eq!(zebra_in_b[0].account_id, b.account.id);

    let both = [a.account.id.clone(), b.account.id.clone()];
    let all_fox = store
        .search_messages(&both, "fox", 10)
        .await
        .expect("search");
    assert_eq!(all_fox.len(), 3);
    assert_eq!(
        all_fox[0].message.wamid.as_deref(),
        Some("wamid.S2"),
        "a key that reaches every account ranks like one that does not"
    );
    let limited = store
        .search_messages(&both, "fox", 1)
        .await
        .expect("search");
    assert_eq!(limited.len(), 1);

    let every_term = store
        .search_messages(&only_a, "quick dog", 10)
        .await
        .expect("search");
    assert_eq!(every_term.len(), 1);
    assert_eq!(every_term[0].message.wamid.as_deref(), Some("wamid.S1"));
}

pub async fn search_input_never_errors(store: DynStore) {
    let t = tenant(&store, "syntax").await;
    ingest(
        &store,
        vec![IngestItem::Message(text(
            &t.account,
            "15551260002",
            "wamid.Q1",
            T0,
            "apple pie",
        ))],
    )
    .await;
    let ids = [t.account.id.clone()];
    let inputs = [
        "\"unbalanced",
        "apple OR",
        "NEAR(apple",
        "-apple",
        "apple AND \"",
        "text:apple",
        "^apple",
        "apple*",
        "(apple) pie)",
        "'; DROP TABLE messages; --",
        "a & b | !c",
        "{apple}",
        "apple\0pie",
        "\0",
    ];
    for input in inputs {
        let result = store.search_messages(&ids, input, 10).await;
        assert!(result.is_ok(), "search for {input:?} failed: {result:?}");
    }
    for nothing in ["", "   ", "\"\"", "***", "- ( ) :"] {
        let hits = store
            .search_messages(&ids, nothing, 10)
            .await
            .expect("search");
        assert!(hits.is_empty(), "search for {nothing:?} must find nothing");
    }
    let quoted = store
        .search_messages(&ids, "\"apple\"", 10)
        .await
        .expect("search");
    assert_eq!(quoted.len(), 1, "quotes around a word still find it");
    let nul_separated = store
        .search_messages(&ids, "pie\0apple", 10)
        .await
        .expect("search");
    assert_eq!(nul_separated.len(), 1, "NUL separates terms like a space");
}

/// Only the most recent `SEARCH_RANKED_MATCHES` matches are ranked: an
/// older message that would score best is left out once that many newer
/// messages match, and the ranked ones still come best first.
pub async fn search_ranks_only_recent_matches(store: DynStore) {
    let t = tenant(&store, "recent").await;
    let from = "15551260003";
    let mut items = vec![IngestItem::Message(text(
        &t.account,
        from,
        "wamid.OLD",
        T0,
        "kettle kettle kettle kettle",
    ))];
    let newer = SEARCH_RANKED_MATCHES as i64;
    for i in 0..newer {
        let body = if i == newer - 1 {
            "kettle kettle descaled"
        } else {
            "the kettle arrived today with a small scratch on the lid"
        };
        items.push(IngestItem::Message(text(
            &t.account,
            from,
            &format!("wamid.NEW{i}"),
            T0 + 1 + i,
            body,
        )));
    }
    ingest(&store, items).await;

    let ids = [t.account.id.clone()];
    let hits = store
        .search_messages(&ids, "kettle", 5)
        .await
        .expect("search");
    let wamids: Vec<_> = hits
        .iter()
        .filter_map(|h| h.message.wamid.clone())
        .collect();
    assert_eq!(hits.len(), 5);
    assert_eq!(
        wamids[0],
        format!("wamid.NEW{}", newer - 1),
        "best recent match first"
    );
    assert!(
        !wamids.contains(&"wamid.OLD".to_owned()),
        "the oldest match is beyond the ranked window: {wamids:?}"
    );

    let fewer = store
        .search_messages(&ids, "descaled", 5)
        .await
        .expect("search");
    assert_eq!(fewer.len(), 1, "a rare word is still found");
}

/// Returns the wamids that a search for `query` finds, sorted.
async fn found(store: &DynStore, accounts: &[AccountId], query: &str) -> Vec<String> {
    let hits = store
        .search_messages(accounts, query, 50)
        .await
        .unwrap_or_else(|error| panic!("search for {query:?}: {error}"));
    let mut wamids: Vec<String> = hits.into_iter().filter_map(|h| h.message.wamid).collect();
    wamids.sort();
    wamids
}

/// Codes joined by hyphens, slashes and dots are split into their words on
/// both backends: each word finds the message on its own, and the whole
/// code finds only messages with those words next to each other.
pub async fn search_splits_codes_at_punctuation(store: DynStore) {
    let t = tenant(&store, "codes").await;
    let from = "15551260004";
    let bodies = [
        ("wamid.C1", "Your order ORD-123456 has shipped"),
        ("wamid.C2", "Reference 123456 for your refund"),
        ("wamid.C3", "ORD 777777 replaces 123456"),
        ("wamid.C4", "Invoice INV/2024/0042 is attached"),
        ("wamid.C5", "Update the app to 2.5.1 and pay 19.99"),
        ("wamid.C6", "Nothing to match here"),
    ];
    let items = bodies
        .iter()
        .zip(0..)
        .map(|((wamid, body), i)| IngestItem::Message(text(&t.account, from, wamid, T0 + i, body)))
        .collect();
    ingest(&store, items).await;
    let ids = [t.account.id.clone()];

    let cases: [(&str, &[&str]); 13] = [
        ("123456", &["wamid.C1", "wamid.C2", "wamid.C3"]),
        ("ORD 123456", &["wamid.C1", "wamid.C3"]),
        ("ORD-123456", &["wamid.C1"]),
        ("ord-123456", &["wamid.C1"]),
        ("ORD/123456", &["wamid.C1"]),
        ("123456-ORD", &[]),
        ("ORD-777777", &["wamid.C3"]),
        ("2024", &["wamid.C4"]),
        ("0042", &["wamid.C4"]),
        ("INV/2024/0042", &["wamid.C4"]),
        ("INV-2024-0042", &["wamid.C4"]),
        ("5", &["wamid.C5"]),
        ("2.5.1 19.99", &["wamid.C5"]),
    ];
    for (query, expected) in cases {
        assert_eq!(
            found(&store, &ids, query).await,
            expected.to_vec(),
            "search for {query:?}"
        );
    }
}

/// E-mail addresses, host names and URL paths are split at `@`, `.` and
/// `/`, so a domain finds the addresses at it.
pub async fn search_finds_email_and_host_parts(store: DynStore) {
    let t = tenant(&store, "hosts").await;
    let from = "15551260005";
    let items = vec![
        IngestItem::Message(text(
            &t.account,
            from,
            "wamid.H1",
            T0,
            "Write to sales@example.com for a quote",
        )),
        IngestItem::Message(text(
            &t.account,
            from,
            "wamid.H2",
            T0 + 1,
            "See https://shop.example.org/help/returns?id=9",
        )),
        IngestItem::Message(text(
            &t.account,
            from,
            "wamid.H3",
            T0 + 2,
            "example text without a host",
        )),
    ];
    ingest(&store, items).await;
    let ids = [t.account.id.clone()];

    let cases: [(&str, &[&str]); 11] = [
        ("example.com", &["wamid.H1"]),
        ("sales", &["wamid.H1"]),
        ("sales@example.com", &["wamid.H1"]),
        ("SALES@EXAMPLE.COM", &["wamid.H1"]),
        ("example", &["wamid.H1", "wamid.H2", "wamid.H3"]),
        ("example.org", &["wamid.H2"]),
        ("shop.example.org/help", &["wamid.H2"]),
        ("returns", &["wamid.H2"]),
        ("https", &["wamid.H2"]),
        ("example.net", &[]),
        ("sales@example.org", &[]),
    ];
    for (query, expected) in cases {
        assert_eq!(
            found(&store, &ids, query).await,
            expected.to_vec(),
            "search for {query:?}"
        );
    }
}

/// `ß` and `ss` each find the spelling they are written in on both
/// backends. Whether one also finds the other differs by backend (see the
/// README's limitations), so the backends' own test files check that.
pub async fn search_finds_eszett_as_written(store: DynStore) {
    let t = tenant(&store, "eszett").await;
    let from = "15551260006";
    let items = vec![
        IngestItem::Message(text(&t.account, from, "wamid.E1", T0, "Hauptstraße 5")),
        IngestItem::Message(text(&t.account, from, "wamid.E2", T0 + 1, "Hauptstrasse 7")),
    ];
    ingest(&store, items).await;
    let ids = [t.account.id.clone()];

    for query in ["Hauptstraße", "HAUPTSTRAẞE", "hauptstraße 5"] {
        let wamids = found(&store, &ids, query).await;
        assert!(
            wamids.contains(&"wamid.E1".to_owned()),
            "search for {query:?} found {wamids:?}"
        );
    }
    for query in ["Hauptstrasse", "HAUPTSTRASSE", "hauptstrasse 7"] {
        let wamids = found(&store, &ids, query).await;
        assert!(
            wamids.contains(&"wamid.E2".to_owned()),
            "search for {query:?} found {wamids:?}"
        );
    }
}
