use super::*;

const DAY: i64 = DAY_MS;

fn firm(name: &str) -> Firmographics {
    Firmographics {
        name: Some(name.into()),
        source: "companies".into(),
        ..Firmographics::default()
    }
}

#[test]
fn hot_accounts_rank_recent_activity_and_count_known_and_anonymous_visitors() {
    let site: Arc<str> = "demo".into();
    let mut accounts = Accounts::new(vec![Glob::new("/pricing*").expect("glob")]);
    let now = 100 * DAY;
    let visit = |accounts: &mut Accounts,
                 domain: &str,
                 v: u8,
                 person: Option<u64>,
                 at: i64,
                 paths: &[&str]| {
        accounts.record(
            &site,
            domain,
            firm(domain).seen(),
            Activity {
                visitor: VisitorId([v; 16]),
                person: person.map(PersonId),
                at_ms: at,
                new_visit: true,
                page_paths: paths,
            },
        );
    };
    visit(
        &mut accounts,
        "busy.jp",
        1,
        Some(10),
        now - DAY,
        &["/pricing", "/"],
    );
    visit(
        &mut accounts,
        "busy.jp",
        2,
        None,
        now - 2 * DAY,
        &["/pricing"],
    );
    visit(&mut accounts, "busy.jp", 3, Some(11), now - 3 * DAY, &["/"]);
    visit(&mut accounts, "quiet.jp", 4, None, now - DAY, &["/"]);
    visit(
        &mut accounts,
        "old.jp",
        5,
        Some(12),
        now - 30 * DAY,
        &["/pricing"],
    );

    let hot = accounts.hot("demo", now, 7 * DAY, 10);
    let domains: Vec<_> = hot.iter().map(|h| h.domain.as_str()).collect();
    assert_eq!(
        domains,
        vec!["busy.jp", "quiet.jp"],
        "old activity is outside the window"
    );
    let busy = &hot[0];
    assert_eq!((busy.visits, busy.pageviews, busy.visitors), (3, 4, 3));
    assert_eq!((busy.known_visitors, busy.anonymous_visitors), (2, 1));
    assert_eq!(busy.known_people, vec![PersonId(10), PersonId(11)]);
    assert_eq!(busy.key_pages.get("/pricing*"), Some(&2));
    assert_eq!(busy.heat, 3.0 + 2.0 * 2.0 + 3.0 * 3.0 + 5.0 * 2.0);
    assert!(
        accounts.hot("other", now, 7 * DAY, 10).is_empty(),
        "sites are separate"
    );

    accounts.forget(&[VisitorId([1; 16])], PersonId(10));
    let busy = &accounts.hot("demo", now, 7 * DAY, 10)[0];
    assert_eq!(busy.known_people, vec![PersonId(11)]);
}

#[test]
fn the_attack_list_is_csv_with_a_bom_and_japanese_intact() {
    let row = HotAccount {
        domain: "example.co.jp".into(),
        firmographics: Firmographics {
            name: Some("株式会社サンプル, 本社".into()),
            ..Firmographics::default()
        },
        visits: 3,
        pageviews: 9,
        visitors: 2,
        known_visitors: 1,
        anonymous_visitors: 1,
        known_people: vec![PersonId(7)],
        key_pages: BTreeMap::from([("/pricing*".to_string(), 4)]),
        last_seen_ms: 0,
        heat: 12.0,
        recent_visits: Vec::new(),
        first_seen_ms: 0,
        top_pages: Vec::new(),
        status: None,
        owner: None,
    };
    let customer = HotAccount {
        domain: "northwind.example".into(),
        status: Some("customer"),
        owner: Some("=suzuki@ours.example".into()),
        ..row.clone()
    };
    let text = attack_list(&[row, customer]);
    assert!(text.starts_with('\u{feff}'));
    let mut lines = text.trim_start_matches('\u{feff}').lines();
    assert_eq!(lines.next(), Some(attack::HEADER.join(",").as_str()));
    assert_eq!(
        lines.next(),
        Some(
            "1,\"株式会社サンプル, 本社\",example.co.jp,,,,,12.0,3,9,2,1,1,p7,/pricing*:4,1970-01-01T00:00:00Z,,"
        )
    );
    let second = lines.next().expect("the customer's row");
    assert!(
        second.ends_with(",customer,'=suzuki@ours.example"),
        "status and owner, the owner kept from running as a formula: {second}"
    );
}

/// A company once named with confidence stays confident, whatever a later answer for the same
/// domain says, so the hot list does not lose it and a restart's rebuild order cannot matter.
#[test]
fn a_confidently_named_company_stays_confident() {
    let site: Arc<str> = "demo".into();
    let mut accounts = Accounts::new(Vec::new());
    let activity = |v: u8| Activity {
        visitor: VisitorId([v; 16]),
        person: None,
        at_ms: DAY,
        new_visit: true,
        page_paths: &[],
    };
    let sure = Firmographics {
        confident: true,
        ..firm("見込み精機")
    };
    accounts.record(&site, "mikomi-seiki.example", sure.seen(), activity(1));
    accounts.record(
        &site,
        "mikomi-seiki.example",
        firm("見込み精機").seen(),
        activity(2),
    );
    let query = HotQuery {
        now_ms: 2 * DAY,
        window_ms: 7 * DAY,
        limit: 10,
        confident_only: true,
    };
    let list = accounts.hot_list("demo", &query, &HotFilter::default());
    assert_eq!(list.accounts.len(), 1, "{list:?}");
    assert_eq!(list.hidden_unconfident, 0);
}

/// A later answer that names the company differently replaces what the account holds; an
/// email's domain does not replace a name a network gave.
#[test]
fn an_account_takes_a_changed_answer_but_not_an_emails_over_a_name() {
    let site: Arc<str> = "demo".into();
    let mut accounts = Accounts::new(Vec::new());
    let activity = |v: u8| Activity {
        visitor: VisitorId([v; 16]),
        person: None,
        at_ms: DAY,
        new_visit: true,
        page_paths: &[],
    };
    let held = |accounts: &Accounts| {
        accounts.hot("demo", 2 * DAY, 7 * DAY, 10)[0]
            .firmographics
            .clone()
    };
    accounts.record(&site, "corp.jp", firm("旧社名").seen(), activity(1));
    let renamed = Firmographics {
        industry: Some("製造業".into()),
        size_band: Some("mid".into()),
        ..firm("新社名")
    };
    accounts.record(&site, "corp.jp", renamed.seen(), activity(2));
    assert_eq!(held(&accounts), renamed);
    let by_email = Firmographics {
        source: "email".into(),
        ..firm("メールの社名")
    };
    accounts.record(&site, "corp.jp", by_email.seen(), activity(3));
    assert_eq!(held(&accounts), renamed);
}

/// The look-ahead alerts use is the row recording would make, and records nothing.
#[test]
fn a_preview_is_the_row_recording_would_make() {
    let site: Arc<str> = "demo".into();
    let mut accounts = Accounts::new(vec![Glob::new("/pricing*").expect("glob")]);
    let activity = |v: u8, person: Option<u64>, at: i64, paths: &'static [&'static str]| Activity {
        visitor: VisitorId([v; 16]),
        person: person.map(PersonId),
        at_ms: at,
        new_visit: true,
        page_paths: paths,
    };
    let now = 200 * DAY;
    accounts.record(
        &site,
        "corp.jp",
        firm("Corp").seen(),
        activity(1, None, now - 60 * DAY, &["/old"]),
    );
    accounts.record(
        &site,
        "corp.jp",
        firm("Corp").seen(),
        activity(2, Some(7), now - DAY, &["/pricing"]),
    );
    let windows = [7 * DAY, 90 * DAY];
    let (first, rows) = accounts.preview(
        &site,
        "corp.jp",
        firm("Corp").seen(),
        activity(3, None, now, &["/pricing", "/product"]),
        &windows,
    );
    assert!(!first);
    assert_eq!(
        accounts.hot("demo", now, 7 * DAY, 10)[0].visitors,
        1,
        "nothing recorded"
    );
    assert!(
        accounts
            .preview(
                &site,
                "new.jp",
                firm("New").seen(),
                activity(4, None, now, &[]),
                &windows
            )
            .0
    );
    accounts.record(
        &site,
        "corp.jp",
        firm("Corp").seen(),
        activity(3, None, now, &["/pricing", "/product"]),
    );
    for (row, window) in rows.iter().zip(windows) {
        let recorded = &accounts.hot("demo", now, window, 10)[0];
        assert_eq!(row.heat, recorded.heat, "{window}");
        assert_eq!(row.visitors, recorded.visitors);
        assert_eq!(row.key_pages, recorded.key_pages);
        assert_eq!(row.known_people, recorded.known_people);
        assert_eq!(row.top_pages, recorded.top_pages);
    }
    assert_eq!(rows[0].visitors, 2);
    assert_eq!(rows[1].visitors, 3);
}

#[test]
fn an_account_detail_has_its_days_key_pages_and_visitors_and_rows_a_sparkline() {
    let mut accounts = Accounts::new(vec![Glob::new("/pricing*").expect("glob")]);
    let site: Arc<str> = "demo".into();
    let firm = Firmographics {
        name: Some("Example".into()),
        source: "company".into(),
        confident: true,
        ..Firmographics::default()
    };
    let now = 100 * DAY;
    for (i, (visitor, at, paths)) in [
        (1u8, now - 3 * DAY, vec!["/pricing.html", "/"]),
        (2, now - DAY, vec!["/pricing.html"]),
        (1, now, vec!["/about"]),
    ]
    .into_iter()
    .enumerate()
    {
        accounts.record(
            &site,
            "example.co.jp",
            firm.seen(),
            Activity {
                visitor: VisitorId([visitor; 16]),
                person: (i == 2).then_some(PersonId(5)),
                at_ms: at,
                new_visit: true,
                page_paths: &paths,
            },
        );
    }
    let detail = accounts.detail("demo", "example.co.jp").expect("account");
    assert_eq!(detail.days.len(), 3);
    assert_eq!(detail.days[0].day_ms, now - 3 * DAY);
    assert_eq!(detail.days[0].pageviews, 2);
    assert_eq!(detail.key_pages, vec![("/pricing*".to_string(), 2)]);
    assert_eq!(
        detail.visitors[0],
        (VisitorId([1; 16]), now, Some(PersonId(5)))
    );
    assert_eq!(detail.people, vec![PersonId(5)]);
    assert!(accounts.detail("other", "example.co.jp").is_none());
    let row = &accounts.hot("demo", now, 7 * DAY, 10)[0];
    assert_eq!(row.recent_visits.len(), 14);
    assert_eq!(&row.recent_visits[10..], &[1, 0, 1, 1]);
    assert_eq!(row.first_seen_ms, now - 3 * DAY);
}

/// The ranked list is the one building every row, filtering and sorting would give: the cheap
/// first pass ranks by the same heat as the rows it does not build.
#[test]
fn the_hot_list_ranks_as_whole_rows_would() {
    let site: Arc<str> = "demo".into();
    let mut accounts = Accounts::new(vec![Glob::new("/pricing*").expect("glob")]);
    let now = 40 * DAY;
    let paths: [&[&str]; 3] = [
        &["/pricing", "/"],
        &["/"],
        &["/pricing/a", "/pricing/b", "/c"],
    ];
    for i in 0..300u32 {
        let domain = format!("c{:03}.example", i % 60);
        let band = ["small", "mid", "enterprise"][(i % 3) as usize];
        let f = Firmographics {
            size_band: Some(band.into()),
            industry: Some(format!("industry {}", i % 4)),
            confident: i % 7 != 0,
            ..firm(&domain)
        };
        let mut id = [0; 16];
        id[..4].copy_from_slice(&(i % 90).to_le_bytes());
        accounts.record(
            &site,
            &domain,
            f.seen(),
            Activity {
                visitor: VisitorId(id),
                person: (i % 5 == 0).then_some(PersonId(u64::from(i % 11))),
                at_ms: now - i64::from(i * 7919 % 35) * DAY - i64::from(i) * 60_000,
                new_visit: i % 2 == 0,
                page_paths: paths[(i % 3) as usize],
            },
        );
    }
    let filters = [
        HotFilter::default(),
        HotFilter {
            size_band: Some("mid".into()),
            ..HotFilter::default()
        },
        HotFilter {
            has_known_people: true,
            industry: Some("industry 1".into()),
            ..HotFilter::default()
        },
        HotFilter {
            first_seen_since_ms: Some(now - 20 * DAY),
            last_seen_since_ms: Some(now - 3 * DAY),
            ..HotFilter::default()
        },
    ];
    for window_days in [1, 7, 30] {
        for confident_only in [false, true] {
            for filter in &filters {
                let query = HotQuery {
                    now_ms: now,
                    window_ms: window_days * DAY,
                    limit: 9,
                    confident_only,
                };
                let from_ms = now - query.window_ms;
                let mut whole: Vec<HotAccount> = accounts
                    .by_key
                    .values()
                    .filter(|a| a.last_seen_ms >= from_ms)
                    .map(|a| row(a, from_ms.div_euclid(BUCKET_MS)..i64::MAX, from_ms, now))
                    .filter(|r| {
                        filter.keeps(
                            &r.firmographics,
                            r.first_seen_ms,
                            r.last_seen_ms,
                            r.known_people.len(),
                        )
                    })
                    .collect();
                let before = whole.len();
                if confident_only {
                    whole.retain(|r| r.firmographics.confident);
                }
                let hidden = before - whole.len();
                whole.sort_by(|a, b| {
                    b.heat
                        .total_cmp(&a.heat)
                        .then(b.last_seen_ms.cmp(&a.last_seen_ms))
                        .then(a.domain.cmp(&b.domain))
                });
                whole.truncate(query.limit);
                let list = accounts.hot_list("demo", &query, filter);
                if *filter == HotFilter::default() {
                    assert_eq!(whole.len(), query.limit, "{window_days} days");
                }
                assert_eq!(list.accounts, whole, "{window_days} days, {filter:?}");
                assert_eq!(list.hidden_unconfident, hidden);
            }
        }
    }
}
