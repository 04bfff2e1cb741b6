//! What the CRM's account list says of a company, kept per site and domain: firmographics for
//! companies known only by an email domain (name, industry, employees, country), whether they
//! are already a customer, a prospect or a partner, and which salesperson owns them. The hot
//! list shows status and owner beside the activity, and fills blank firmographics from here.
//!
//! Unlike activity, which is rebuilt from the sessions after a restart, profiles exist only
//! because a list was imported: they are snapshot entries of their own.

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::Firmographics;
use crate::model::offline::{AccountStatus, ImportedAccount};

/// One company's profile from imported account lists.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    pub domain: String,
    pub name: Option<String>,
    pub industry: Option<String>,
    pub employees: Option<u32>,
    pub country: Option<String>,
    pub status: Option<AccountStatus>,
    pub owner: Option<String>,
    /// The last log position applied to it (replay skips what a snapshot holds).
    pub last_seq: u64,
}

/// What one row changed (or, in a dry run, would change).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProfileEffect {
    pub created: bool,
    /// Something of the profile changed.
    pub changed: bool,
}

impl Profile {
    pub fn new(domain: &str) -> Profile {
        Profile {
            domain: domain.to_string(),
            ..Profile::default()
        }
    }

    /// Takes a row: the list is the CRM's word, so a value it gives replaces the one known (a
    /// company moves from prospect to customer, an account changes hands); a blank cell keeps
    /// what is known.
    pub fn apply(&mut self, row: &ImportedAccount) -> bool {
        let before = self.clone();
        let take = |slot: &mut Option<String>, value: &Option<String>| {
            if value.is_some() {
                slot.clone_from(value);
            }
        };
        take(&mut self.name, &row.name);
        take(&mut self.industry, &row.industry);
        take(&mut self.country, &row.country);
        take(&mut self.owner, &row.owner);
        if row.employees.is_some() {
            self.employees = row.employees;
        }
        if row.status.is_some() {
            self.status = row.status;
        }
        Profile {
            last_seq: before.last_seq,
            ..self.clone()
        } != before
    }

    /// Fills what activity left blank: a company known only from an email domain gets its
    /// name, industry, employees (and so its band) and country.
    pub fn enrich(&self, f: &mut Firmographics) {
        if f.name.is_none() {
            f.name.clone_from(&self.name);
        }
        if f.industry.is_none() {
            f.industry.clone_from(&self.industry);
        }
        if f.country.is_none() {
            f.country.clone_from(&self.country);
        }
        if f.employees.is_none() && self.employees.is_some() {
            f.employees = self.employees;
            f.size_band = Some(
                format!("{:?}", ipdb::SizeBand::from_employees(self.employees)).to_lowercase(),
            );
        }
    }
}

/// Every site's profiles.
#[derive(Clone, Debug, Default)]
pub struct Profiles {
    by_key: HashMap<(Arc<str>, String), Profile>,
}

impl Profiles {
    pub fn get(&self, site: &str, domain: &str) -> Option<&Profile> {
        self.by_key.get(&(Arc::from(site), domain.to_string()))
    }

    /// Applies a row as the record at `seq`; a profile that already holds it is left alone.
    pub fn apply(&mut self, site: &Arc<str>, row: &ImportedAccount, seq: u64) -> ProfileEffect {
        let key = (Arc::clone(site), row.domain.clone());
        let created = !self.by_key.contains_key(&key);
        let profile = self
            .by_key
            .entry(key)
            .or_insert_with(|| Profile::new(&row.domain));
        if profile.last_seq > seq {
            return ProfileEffect::default();
        }
        profile.last_seq = seq;
        let changed = profile.apply(row);
        ProfileEffect { created, changed }
    }

    /// Every profile with its site: the snapshot's entries.
    pub fn all(&self) -> impl Iterator<Item = (&Arc<str>, &Profile)> {
        self.by_key.iter().map(|((site, _), p)| (site, p))
    }

    /// Puts a snapshot's profile back.
    pub fn load(&mut self, site: Arc<str>, profile: Profile) {
        self.by_key.insert((site, profile.domain.clone()), profile);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(status: Option<AccountStatus>, owner: Option<&str>) -> ImportedAccount {
        ImportedAccount {
            domain: "northwind.example".into(),
            name: Some("ノースウィンド株式会社".into()),
            industry: None,
            employees: Some(320),
            country: None,
            status,
            owner: owner.map(str::to_string),
        }
    }

    #[test]
    fn the_lists_word_replaces_the_known_value_and_a_blank_keeps_it() {
        let mut profiles = Profiles::default();
        let site: Arc<str> = Arc::from("demo");
        let first = profiles.apply(
            &site,
            &row(Some(AccountStatus::Prospect), Some("suzuki@ours.example")),
            1,
        );
        assert_eq!((first.created, first.changed), (true, true));
        let again = profiles.apply(
            &site,
            &row(Some(AccountStatus::Prospect), Some("suzuki@ours.example")),
            2,
        );
        assert_eq!((again.created, again.changed), (false, false), "idempotent");
        profiles.apply(&site, &row(Some(AccountStatus::Customer), None), 3);
        let p = profiles.get("demo", "northwind.example").expect("profile");
        assert_eq!(p.status, Some(AccountStatus::Customer));
        assert_eq!(
            p.owner.as_deref(),
            Some("suzuki@ours.example"),
            "a blank keeps it"
        );

        let mut f = Firmographics {
            source: "email".into(),
            ..Firmographics::default()
        };
        p.enrich(&mut f);
        assert_eq!(f.name.as_deref(), Some("ノースウィンド株式会社"));
        assert_eq!(f.size_band.as_deref(), Some("mid"));
    }
}
