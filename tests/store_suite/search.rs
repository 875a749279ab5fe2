//! Full-text search.

use pons::store::{DynStore, IngestItem, SEARCH_RANKED_MATCHES};

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
