//! Transaction history: newest first, keyset pages without duplicates or gaps, filters, and
//! no way to see another tenant's entries.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod scenario;

use std::collections::HashSet;

use chrono::Duration;
use loyalty_core::ledger::EntryKind;
use loyalty_core::{ExpiryPolicy, ReturnPolicy};
use loyalty_store::StoreError;
use loyalty_store::ops::history::{HistoryFilter, LedgerEntryView};
use scenario::*;

fn shop(t: &common::TestStore, name: &str) -> Shop {
    open_shop(
        t,
        name,
        shop_rules(ExpiryPolicy::Never, ReturnPolicy::CapAtAvailable),
    )
}

/// Every page of a listing, following the cursors.
fn all_pages(
    t: &common::TestStore,
    tenant: &str,
    filter: &HistoryFilter,
    size: u32,
) -> Vec<Vec<LedgerEntryView>> {
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = t
            .store
            .history(tenant, filter.clone(), cursor.as_deref(), size)
            .unwrap();
        pages.push(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return pages,
        }
    }
}

on_both_backends! {
    fn history_pages_through_25_entries_newest_first_without_duplicates_or_gaps(t) {
        let shop = shop(t, "Cathay Shop");
        let member = shop.member(t, "CARD-0001", None);
        for points in 1..=25 {
            shop.adjust(t, &member, &points.to_string());
        }
        let filter = HistoryFilter { member_id: Some(member.clone()), ..HistoryFilter::default() };

        let pages = all_pages(t, &shop.tenant, &filter, 10);

        assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), vec![10, 10, 5]);
        let entries: Vec<&LedgerEntryView> = pages.iter().flatten().collect();
        let ids: HashSet<&str> = entries.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids.len(), 25, "no entry twice");
        let points: Vec<String> = entries.iter().map(|e| e.points.to_string()).collect();
        let expected: Vec<String> = (1..=25).rev().map(|p: i32| p.to_string()).collect();
        assert_eq!(points, expected, "newest first, none missing");
        assert!(entries.windows(2).all(|w| w[0].id > w[1].id));
        let newest = entries[0];
        assert_eq!((newest.kind, newest.balance_after, newest.d_available), (EntryKind::Adjusted, d("325"), d("25")));
        assert_eq!((newest.actor.as_str(), newest.reason.as_deref()), ("admin-1", Some("goodwill")));
    }

    fn entries_written_while_paging_never_show_up_in_later_pages(t) {
        let shop = shop(t, "Cathay Shop");
        let member = shop.member(t, "CARD-0001", None);
        for _ in 0..15 {
            shop.adjust(t, &member, "1");
        }
        let first = t.store.history(&shop.tenant, HistoryFilter::default(), None, 10).unwrap();
        for _ in 0..5 {
            shop.adjust(t, &member, "2");
        }
        let second = t.store.history(&shop.tenant, HistoryFilter::default(), first.next_cursor.as_deref(), 10).unwrap();
        assert_eq!(second.items.len(), 5);
        assert!(second.items.iter().all(|e| e.points == pts("1")));
        assert_eq!(second.next_cursor, None);
    }

    fn history_filters_by_kind_date_reference_member_and_program(t) {
        let shop = shop(t, "Cathay Shop");
        let asha = shop.member(t, "CARD-0001", None);
        let ravi = shop.member(t, "CARD-0002", None);
        let start = common::start();
        shop.earn(t, &asha, "ORDER1", "1000");
        t.clock.advance(Duration::days(1));
        shop.redeem(t, &asha, "ORDER2", "100", "10");
        shop.earn(t, &ravi, "ORDER3", "500");
        t.clock.advance(Duration::days(1));
        shop.reverse(t, &asha, "ORDER1", Some("500"));

        let list = |filter: HistoryFilter| -> Vec<LedgerEntryView> {
            t.store.history(&shop.tenant, filter, None, 100).unwrap().items
        };
        let kinds = |entries: &[LedgerEntryView]| entries.iter().map(|e| e.kind).collect::<Vec<_>>();

        let redeemed = list(HistoryFilter { kinds: vec![EntryKind::Redeemed], ..HistoryFilter::default() });
        assert_eq!((kinds(&redeemed), redeemed[0].points), (vec![EntryKind::Redeemed], pts("10")));
        let day_two = list(HistoryFilter {
            from: Some(start + Duration::days(1)),
            to: Some(start + Duration::days(2)),
            ..HistoryFilter::default()
        });
        assert_eq!(kinds(&day_two), vec![EntryKind::Earned, EntryKind::Redeemed]);
        let order1 = list(HistoryFilter { reference: Some("ORDER1".into()), ..HistoryFilter::default() });
        assert_eq!(kinds(&order1), vec![EntryKind::Reversed, EntryKind::Earned]);
        let ravis = list(HistoryFilter {
            member_id: Some(ravi.clone()),
            program_id: Some(shop.program.clone()),
            ..HistoryFilter::default()
        });
        assert_eq!(kinds(&ravis), vec![EntryKind::Earned]);
        assert_eq!(ravis[0].member_id, ravi);
        let program = list(HistoryFilter { program_id: Some(shop.program.clone()), ..HistoryFilter::default() });
        assert_eq!(program.len(), 4);
        let asha_earned = list(HistoryFilter {
            member_id: Some(asha.clone()),
            kinds: vec![EntryKind::Earned, EntryKind::Reversed],
            ..HistoryFilter::default()
        });
        assert_eq!(kinds(&asha_earned), vec![EntryKind::Reversed, EntryKind::Earned]);
    }

    fn a_cursor_that_is_not_one_is_an_invalid_argument(t) {
        let shop = shop(t, "Cathay Shop");
        let err = t.store.history(&shop.tenant, HistoryFilter::default(), Some("page-2"), 10).unwrap_err();
        assert!(matches!(err, StoreError::InvalidArgument(_)), "{err:?}");
    }

    fn history_never_shows_another_tenants_entries(t) {
        let shop = shop(t, "Cathay Shop");
        let member = shop.member(t, "CARD-0001", None);
        shop.earn(t, &member, "ORDER1", "1000");
        let other = shop_with_member(t);

        let page = t.store.history(&other, HistoryFilter::default(), None, 100).unwrap();
        assert!(page.items.is_empty());
        let by_reference = HistoryFilter { reference: Some("ORDER1".into()), ..HistoryFilter::default() };
        assert!(t.store.history(&other, by_reference, None, 100).unwrap().items.is_empty());
        let by_member = HistoryFilter { member_id: Some(member.clone()), ..HistoryFilter::default() };
        let err = t.store.history(&other, by_member, None, 100).unwrap_err();
        assert!(matches!(err, StoreError::NotFound { what: "member", .. }), "{err:?}");
        let by_program = HistoryFilter { program_id: Some(shop.program.clone()), ..HistoryFilter::default() };
        let err = t.store.history(&other, by_program, None, 100).unwrap_err();
        assert!(matches!(err, StoreError::NotFound { what: "program", .. }), "{err:?}");
    }
}

/// Another tenant with a program but no entries; returns its id.
fn shop_with_member(t: &common::TestStore) -> String {
    let other = shop(t, "Other Shop");
    other.member(t, "CARD-0001", None);
    other.tenant
}
