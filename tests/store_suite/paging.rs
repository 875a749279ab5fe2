//! Conversation lists read page by page after a sort key: every page
//! continues where the one before stopped, with no conversation repeated
//! or skipped.

use pons::store::{
    Account, AccountId, ArchiveFilter, ContactSeen, ConversationSortKey, ConversationSummary,
    DynStore, InboundReaction, IngestItem,
};

use super::{T0, conversation, ingest, send_text, tenant, text};

/// Which of the two lists a test reads.
#[derive(Clone, Copy, Debug)]
enum Kind {
    All,
    Unanswered,
}

/// Reads one page of `kind` after `after`.
async fn page(
    store: &DynStore,
    kind: Kind,
    accounts: &[AccountId],
    archive: ArchiveFilter,
    after: Option<&ConversationSortKey>,
    limit: u32,
) -> Vec<ConversationSummary> {
    let listed = match kind {
        Kind::All => {
            store
                .list_conversations(accounts, archive, after, limit)
                .await
        }
        Kind::Unanswered => store.list_unanswered(accounts, archive, after, limit).await,
    };
    listed.expect("list a page")
}

/// Reads every page of `limit` conversations, each after the last
/// conversation of the page before, and returns the ids in the order read.
async fn ids_page_by_page(
    store: &DynStore,
    kind: Kind,
    accounts: &[AccountId],
    archive: ArchiveFilter,
    limit: u32,
) -> Vec<String> {
    let mut ids = Vec::new();
    let mut after = None;
    // More pages than conversations would mean a page never advanced.
    for _ in 0..100 {
        let rows = page(store, kind, accounts, archive, after.as_ref(), limit).await;
        assert!(rows.len() <= limit as usize, "a page longer than {limit}");
        ids.extend(rows.iter().map(|row| row.id.to_string()));
        match rows.last() {
            Some(last) if rows.len() == limit as usize => after = Some(last.sort_key()),
            _ => return ids,
        }
    }
    panic!("paging with limit {limit} did not end: {ids:?}");
}

/// Returns the ids of the whole list, read as one page.
async fn ids_at_once(
    store: &DynStore,
    kind: Kind,
    accounts: &[AccountId],
    archive: ArchiveFilter,
) -> Vec<String> {
    let rows = page(store, kind, accounts, archive, None, 1000).await;
    rows.iter().map(|row| row.id.to_string()).collect()
}

/// Checks that paging with every limit from 1 to one more than the list
/// returns the whole list in the same order.
async fn assert_pages_cover_list(
    store: &DynStore,
    kind: Kind,
    accounts: &[AccountId],
    archive: ArchiveFilter,
    expected_len: usize,
) {
    let whole = ids_at_once(store, kind, accounts, archive).await;
    assert_eq!(whole.len(), expected_len, "{kind:?} {archive:?} at once");
    for limit in 1..=expected_len as u32 + 1 {
        let paged = ids_page_by_page(store, kind, accounts, archive, limit).await;
        assert_eq!(paged, whole, "{kind:?} {archive:?} with limit {limit}");
    }
}

/// Opens a conversation without messages with `wa_id`: a reaction to a
/// message that is not stored creates the contact and its conversation.
fn without_messages(account: &Account, wa_id: &str, wamid: &str) -> Vec<IngestItem> {
    vec![
        IngestItem::Contact(ContactSeen {
            account_id: account.id.clone(),
            wa_id: wa_id.to_owned(),
            profile_name: None,
            user_id: None,
        }),
        IngestItem::Reaction(InboundReaction {
            account_id: account.id.clone(),
            from: wa_id.to_owned(),
            wamid: wamid.to_owned(),
            target_wamid: "wamid.NOT-STORED".to_owned(),
            emoji: Some("👍".to_owned()),
            timestamp: T0,
        }),
    ]
}

pub async fn pages_break_ties_by_id(store: DynStore) {
    let t = tenant(&store, "paging-ties").await;
    let mut items = Vec::new();
    // Seven conversations, five of them at the same time, between two
    // others.
    for (index, at) in [T0 + 9, T0 + 5, T0 + 5, T0 + 5, T0 + 5, T0 + 5, T0]
        .iter()
        .enumerate()
    {
        let from = format!("1555140{index:04}");
        let wamid = format!("wamid.TIE{index}");
        items.push(IngestItem::Message(text(
            &t.account, &from, &wamid, *at, "hi",
        )));
    }
    ingest(&store, items).await;
    let accounts = std::slice::from_ref(&t.account.id);

    let whole = page(&store, Kind::All, accounts, ArchiveFilter::Any, None, 100).await;
    let tied: Vec<&str> = whole[1..6].iter().map(|row| row.id.as_str()).collect();
    let mut sorted = tied.clone();
    sorted.sort_unstable();
    assert_eq!(tied, sorted, "conversations of one time are in id order");
    for kind in [Kind::All, Kind::Unanswered] {
        assert_pages_cover_list(&store, kind, accounts, ArchiveFilter::Any, 7).await;
    }

    // A page that ends inside the tie continues with the next id of the
    // same time.
    let after = whole[2].sort_key();
    let next = page(
        &store,
        Kind::All,
        accounts,
        ArchiveFilter::Any,
        Some(&after),
        2,
    )
    .await;
    let next: Vec<&str> = next.iter().map(|row| row.id.as_str()).collect();
    assert_eq!(next, [whole[3].id.as_str(), whole[4].id.as_str()]);
}

pub async fn pages_reach_conversations_without_messages(store: DynStore) {
    let t = tenant(&store, "paging-undated").await;
    let mut items = vec![
        IngestItem::Message(text(&t.account, "15551410001", "wamid.U1", T0 + 2, "hi")),
        IngestItem::Message(text(&t.account, "15551410002", "wamid.U2", T0 + 1, "hi")),
    ];
    for index in 0..4 {
        let wa_id = format!("1555141100{index}");
        items.extend(without_messages(
            &t.account,
            &wa_id,
            &format!("wamid.UR{index}"),
        ));
    }
    ingest(&store, items).await;
    let accounts = std::slice::from_ref(&t.account.id);

    let whole = page(&store, Kind::All, accounts, ArchiveFilter::Any, None, 100).await;
    let times: Vec<_> = whole.iter().map(|row| row.last_message_at).collect();
    assert_eq!(
        times,
        [Some(T0 + 2), Some(T0 + 1), None, None, None, None],
        "conversations without messages come last"
    );
    assert_pages_cover_list(&store, Kind::All, accounts, ArchiveFilter::Any, 6).await;

    // After a conversation with messages come those without, and after one
    // without come the rest of them.
    let after_dated = whole[1].sort_key();
    let next = page(
        &store,
        Kind::All,
        accounts,
        ArchiveFilter::Any,
        Some(&after_dated),
        10,
    )
    .await;
    assert_eq!(next.len(), 4, "the four conversations without messages");
    let after_undated = whole[3].sort_key();
    let next = page(
        &store,
        Kind::All,
        accounts,
        ArchiveFilter::Any,
        Some(&after_undated),
        10,
    )
    .await;
    let next: Vec<&str> = next.iter().map(|row| row.id.as_str()).collect();
    assert_eq!(next, [whole[4].id.as_str(), whole[5].id.as_str()]);

    // After the last conversation, nothing is left.
    let after_last = whole[5].sort_key();
    let rest = page(
        &store,
        Kind::All,
        accounts,
        ArchiveFilter::Any,
        Some(&after_last),
        10,
    )
    .await;
    assert!(rest.is_empty(), "{rest:?}");
}

pub async fn pages_merge_accounts(store: DynStore) {
    let a = tenant(&store, "paging-a").await;
    let b = tenant(&store, "paging-b").await;
    let c = tenant(&store, "paging-c").await;
    let mut items = Vec::new();
    // Times repeat within and across accounts, and every account has a
    // conversation without messages.
    for (index, offset) in [4, 3, 3, 1, 0].iter().enumerate() {
        for (tag, tenant) in [("A", &a), ("B", &b), ("C", &c)] {
            if tag == "C" && index % 2 == 1 {
                continue;
            }
            let from = format!("15551420{index:03}");
            let wamid = format!("wamid.M{tag}{index}");
            let at = T0 + offset;
            items.push(IngestItem::Message(text(
                &tenant.account,
                &from,
                &wamid,
                at,
                "hi",
            )));
        }
    }
    for (tag, tenant) in [("A", &a), ("B", &b), ("C", &c)] {
        let wamid = format!("wamid.MR{tag}");
        items.extend(without_messages(&tenant.account, "15551429999", &wamid));
    }
    ingest(&store, items).await;
    // Account B replies to its second customer, who leaves list_unanswered.
    send_text(&store, &b.account, "15551420001", "wamid.MB-REPLY", T0 + 3).await;
    let all = [
        a.account.id.clone(),
        b.account.id.clone(),
        c.account.id.clone(),
    ];

    assert_pages_cover_list(&store, Kind::All, &all, ArchiveFilter::Any, 16).await;
    assert_pages_cover_list(&store, Kind::Unanswered, &all, ArchiveFilter::Any, 12).await;
    assert_pages_cover_list(&store, Kind::All, &all[..2], ArchiveFilter::Any, 12).await;
}

pub async fn pages_keep_archive_filter(store: DynStore) {
    let t = tenant(&store, "paging-archive").await;
    let mut items = Vec::new();
    for index in 0..6 {
        let from = format!("1555143{index:04}");
        let wamid = format!("wamid.A{index}");
        // Pairs of conversations share a time.
        let at = T0 + index / 2;
        items.push(IngestItem::Message(text(
            &t.account, &from, &wamid, at, "hi",
        )));
    }
    items.extend(without_messages(&t.account, "15551439998", "wamid.AR1"));
    items.extend(without_messages(&t.account, "15551439999", "wamid.AR2"));
    ingest(&store, items).await;
    // Archive every other conversation, among them one without messages.
    for wa_id in ["15551430000", "15551430003", "15551430004", "15551439999"] {
        let id = conversation(&store, &t.account, wa_id).await.id;
        store
            .set_conversation_archived(&id, Some(T0 + 10))
            .await
            .expect("archive");
    }
    let accounts = std::slice::from_ref(&t.account.id);

    // Conversations without messages wait for no reply, so
    // list_unanswered has one fewer of each archive state.
    for (kind, without) in [(Kind::All, 0), (Kind::Unanswered, 1)] {
        assert_pages_cover_list(&store, kind, accounts, ArchiveFilter::Any, 8 - 2 * without).await;
        assert_pages_cover_list(&store, kind, accounts, ArchiveFilter::Archived, 4 - without).await;
        assert_pages_cover_list(&store, kind, accounts, ArchiveFilter::Active, 4 - without).await;
    }

    // A page of archived conversations after an active one starts with
    // the next archived conversation in list order.
    let whole = page(&store, Kind::All, accounts, ArchiveFilter::Any, None, 100).await;
    let active = whole
        .iter()
        .position(|row| !row.archived)
        .expect("an active conversation");
    let next_archived = whole[active..]
        .iter()
        .find(|row| row.archived)
        .expect("an archived conversation after it");
    let after = whole[active].sort_key();
    let archived = page(
        &store,
        Kind::All,
        accounts,
        ArchiveFilter::Archived,
        Some(&after),
        1,
    )
    .await;
    let ids: Vec<&str> = archived.iter().map(|row| row.id.as_str()).collect();
    assert_eq!(ids, [next_archived.id.as_str()]);
}
