//! The visitor side of identity: which person a batch joins the visitor to, and how. It changes
//! only the visitor (its links and pending click) and returns decisions that the person side
//! then applies, so that each side can be replayed on its own after a snapshot.

use ipdb::NetworkKind;

use super::email;
use crate::event::Event;
use crate::model::ids::RecordIds;
use crate::model::person::{JoinSource, PersonId};
use crate::model::{Batch, Link, PendingClick, Visitor};

/// An email click identifies only after a sign of a person: engagement this long, or another
/// page view. Mail scanners that open links show neither.
pub const HUMAN_ENGAGEMENT_MS: u64 = 1_000;

#[derive(Clone, Debug, PartialEq)]
pub enum Decision {
    Join {
        person: PersonId,
        /// The person did not exist before this batch.
        created: bool,
        email: String,
        source: JoinSource,
        fields: Vec<(String, String)>,
        /// Who the visitor belonged to before (`Some` of another person: a shared device).
        previous: Option<PersonId>,
        /// The person now owns the visitor's earlier sessions too.
        retroactive: bool,
    },
    /// An email click that identifies nobody.
    ClickIgnored {
        email: String,
        person: Option<PersonId>,
        owner: Option<PersonId>,
        reason: &'static str,
    },
}

/// Whether a form field carries the address that identifies the person.
pub fn is_email_field(name: &str) -> bool {
    matches!(name, "email" | "mail" | "e-mail")
}

/// The normalised address a form names, if any.
pub fn form_email(fields: &[(String, String)]) -> Option<String> {
    fields
        .iter()
        .find(|(name, _)| is_email_field(name))
        .and_then(|(_, value)| email::normalize(value))
}

/// Applies the identity side of `batch` to the visitor (after its events were added).
/// `lookup` finds the person an email already belongs to.
pub fn decide(
    visitor: &mut Visitor,
    seq: u64,
    batch: &Batch,
    lookup: &dyn Fn(&str) -> Option<PersonId>,
    ids: &mut RecordIds,
) -> Vec<Decision> {
    let mut decisions = Vec::new();
    let mut created: Vec<(String, PersonId)> = Vec::new();
    let now = batch.received_ms;
    let session_id = visitor.sessions.last().map_or(0, |s| s.id);
    if visitor
        .pending_click
        .as_ref()
        .is_some_and(|p| p.session_id != session_id)
    {
        visitor.pending_click = None;
    }
    let hosting = batch
        .company
        .as_ref()
        .is_some_and(|c| c.network_kind == NetworkKind::Hosting);

    for (index, timed) in batch.events.iter().enumerate() {
        match &timed.event {
            Event::Conversion { fields, .. } => {
                if let Some(address) = form_email(fields) {
                    let other: Vec<_> = fields
                        .iter()
                        .filter(|(n, _)| n != "email")
                        .cloned()
                        .collect();
                    decisions.push(join(
                        visitor,
                        (seq, index),
                        now,
                        address,
                        JoinSource::Form,
                        other,
                        lookup,
                        &mut created,
                        ids,
                    ));
                }
            }
            Event::EmailClick { email: address, .. } => {
                if hosting {
                    decisions.push(Decision::ClickIgnored {
                        person: find(address, lookup, &created),
                        email: address.clone(),
                        owner: visitor.owner(),
                        reason: "the click came from a hosting or cloud network (a mail scanner)",
                    });
                } else {
                    visitor.pending_click = Some(Box::new(PendingClick {
                        email: address.clone(),
                        seq,
                        session_id,
                    }));
                }
            }
            Event::Engagement { ms, .. } if *ms >= HUMAN_ENGAGEMENT_MS => {
                if let Some(d) =
                    resolve_click(visitor, (seq, index), now, lookup, &mut created, ids)
                {
                    decisions.push(d);
                }
            }
            Event::PageView { .. }
                if visitor.pending_click.as_ref().is_some_and(|p| p.seq < seq) =>
            {
                if let Some(d) =
                    resolve_click(visitor, (seq, index), now, lookup, &mut created, ids)
                {
                    decisions.push(d);
                }
            }
            _ => {}
        }
    }
    decisions
}

fn resolve_click(
    visitor: &mut Visitor,
    at: (u64, usize),
    now: i64,
    lookup: &dyn Fn(&str) -> Option<PersonId>,
    created: &mut Vec<(String, PersonId)>,
    ids: &mut RecordIds,
) -> Option<Decision> {
    let click = *visitor.pending_click.take()?;
    let clicked = find(&click.email, lookup, created);
    match visitor.owner() {
        // A forwarded mail: this browser is someone else's. Recorded, not joined.
        Some(owner) if clicked != Some(owner) => Some(Decision::ClickIgnored {
            email: click.email,
            person: clicked,
            owner: Some(owner),
            reason: "the browser already belongs to another person (a forwarded mail)",
        }),
        _ => Some(join(
            visitor,
            at,
            now,
            click.email,
            JoinSource::EmailClick,
            Vec::new(),
            lookup,
            created,
            ids,
        )),
    }
}

fn find(
    address: &str,
    lookup: &dyn Fn(&str) -> Option<PersonId>,
    created: &[(String, PersonId)],
) -> Option<PersonId> {
    created
        .iter()
        .find(|(e, _)| e == address)
        .map(|(_, id)| *id)
        .or_else(|| lookup(address))
}

/// `at`: the record's position and the index of the event that makes the join.
#[allow(clippy::too_many_arguments)]
fn join(
    visitor: &mut Visitor,
    (seq, index): (u64, usize),
    now: i64,
    address: String,
    source: JoinSource,
    fields: Vec<(String, String)>,
    lookup: &dyn Fn(&str) -> Option<PersonId>,
    created: &mut Vec<(String, PersonId)>,
    ids: &mut RecordIds,
) -> Decision {
    let (person, is_new) = match find(&address, lookup, created) {
        Some(id) => (id, false),
        None => {
            let id = ids.person(index);
            created.push((address.clone(), id));
            (id, true)
        }
    };
    let previous = visitor.owner();
    let mut retroactive = false;
    if previous != Some(person) {
        // A first join takes the visitor's whole history; after a split or on a shared device
        // only what comes from now on changes hands.
        retroactive = visitor.links.is_empty();
        let since_ms = if retroactive { i64::MIN } else { now };
        visitor.add_link(Link {
            seq,
            since_ms,
            person: Some(person),
        });
        for session in &mut visitor.sessions {
            if session.last_ms >= since_ms {
                session.updated_seq = seq;
            }
        }
    }
    Decision::Join {
        person,
        created: is_new,
        email: address,
        source,
        fields,
        previous,
        retroactive,
    }
}
