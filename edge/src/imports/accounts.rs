//! An accounts list, as a CRM exports its companies: keyed by domain, with name, industry,
//! employees, country, status (customer, prospect, partner) and the owning salesperson's
//! email, headers in English or Japanese. Each row is taken or refused with its line.

use super::FileError;
use super::people::{MAX_CELL, Refused, RowError};
use crate::identity::email;
use crate::model::offline::{AccountStatus, ImportedAccount};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Column {
    Domain,
    Name,
    Industry,
    Employees,
    Country,
    Status,
    Owner,
}

impl Column {
    fn of(header: &str) -> Option<Column> {
        let h = header.trim().to_lowercase().replace([' ', '-', '_'], "");
        Some(match h.as_str() {
            "domain" | "website" | "url" | "web" | "ドメイン" | "ウェブサイト" | "ホームページ"
            | "url(ドメイン)" => Column::Domain,
            "company" | "name" | "companyname" | "account" | "accountname" | "会社名"
            | "企業名" | "社名" | "取引先名" => Column::Name,
            "industry" | "業種" => Column::Industry,
            "employees" | "employeecount" | "headcount" | "従業員数" | "社員数" => {
                Column::Employees
            }
            "country" | "国" | "国名" => Column::Country,
            "status" | "ステータス" | "区分" | "取引区分" => Column::Status,
            "owner"
            | "owneremail"
            | "担当者"
            | "担当者メール"
            | "担当者メールアドレス"
            | "担当"
            | "営業担当" => Column::Owner,
            _ => return None,
        })
    }
}

/// An accounts file read: the rows taken, in file order with their lines, and those refused.
#[derive(Debug, Default)]
pub struct AccountsFile {
    pub rows: Vec<(u64, ImportedAccount)>,
    pub refused: Vec<Refused>,
}

/// Reads an accounts list of at most `max_rows` rows. Blank rows are skipped.
pub fn parse_accounts(text: &str, max_rows: usize) -> Result<AccountsFile, FileError> {
    let sheet = super::sheet::read(
        text,
        max_rows,
        Column::of,
        Column::Domain,
        FileError::NoDomainColumn,
        row,
    )?;
    Ok(AccountsFile {
        rows: sheet.rows,
        refused: sheet.refused,
    })
}

fn row(
    columns: &[Option<Column>],
    record: &csv::StringRecord,
) -> Result<ImportedAccount, RowError> {
    let cell = |wanted: Column| -> Option<&str> {
        let at = columns.iter().position(|c| *c == Some(wanted))?;
        record.get(at).map(str::trim).filter(|v| !v.is_empty())
    };
    if record.iter().any(|c| c.chars().count() > MAX_CELL) {
        return Err(RowError::CellTooLong);
    }
    let raw = cell(Column::Domain).ok_or(RowError::NoDomain)?;
    let domain = domain(raw).ok_or_else(|| RowError::InvalidDomain(raw.into()))?;
    let employees = cell(Column::Employees)
        .map(|e| employees(e).ok_or_else(|| RowError::InvalidEmployees(e.into())))
        .transpose()?;
    let status = cell(Column::Status)
        .map(|s| AccountStatus::parse(s).ok_or_else(|| RowError::InvalidStatus(s.into())))
        .transpose()?;
    let owner = cell(Column::Owner)
        .map(|o| email::normalize(o).ok_or_else(|| RowError::InvalidOwner(o.into())))
        .transpose()?;
    Ok(ImportedAccount {
        domain,
        name: cell(Column::Name).map(str::to_string),
        industry: cell(Column::Industry).map(str::to_string),
        employees,
        country: cell(Column::Country).map(str::to_string),
        status,
        owner,
    })
}

/// A company's domain as lists write it: `example.co.jp`, `www.example.co.jp`,
/// `https://www.example.co.jp/about`, or an address at it.
pub fn domain(text: &str) -> Option<String> {
    let t = text.trim().to_lowercase();
    let t = t.rsplit_once('@').map_or(t.as_str(), |(_, d)| d);
    let t = t
        .strip_prefix("https://")
        .or_else(|| t.strip_prefix("http://"))
        .unwrap_or(t);
    let t = t.split(['/', '?', '#']).next().unwrap_or("");
    let t = t.strip_prefix("www.").unwrap_or(t).trim_end_matches('.');
    let valid = t.contains('.')
        && t.len() <= 253
        && !t.starts_with('.')
        && !t.contains("..")
        && t.chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '.');
    valid.then(|| t.to_string())
}

/// `1200`, `1,200`, `1200名`, `1,200人`.
fn employees(text: &str) -> Option<u32> {
    let t = text
        .trim()
        .trim_end_matches(['名', '人'])
        .replace([',', '，'], "");
    t.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crm_export_maps_its_japanese_headers_and_refuses_bad_rows_by_line() {
        let text = "ドメイン,会社名,業種,従業員数,国,区分,担当者メール\n\
            https://www.northwind.example/about,ノースウィンド株式会社,製造業,\"1,200名\",JP,顧客,Suzuki@Ours.example\n\
            southwind.example,サウスウィンド,,85,,見込み,\n\
            not a domain,X,,,,,\n\
            eastwind.example,,,many,,,\n\
            westwind.example,,,,,VIP,\n\
            \n\
            taro@partner.example,パートナー社,,,,パートナー,nobody\n";
        let file = parse_accounts(text, 100).expect("file");
        assert_eq!(file.rows.len(), 2);
        let (line, northwind) = &file.rows[0];
        assert_eq!(*line, 2);
        assert_eq!(northwind.domain, "northwind.example");
        assert_eq!(northwind.employees, Some(1_200));
        assert_eq!(northwind.status, Some(AccountStatus::Customer));
        assert_eq!(northwind.owner.as_deref(), Some("suzuki@ours.example"));
        let refused: Vec<(u64, RowError)> = file
            .refused
            .into_iter()
            .map(|r| (r.line, r.reason))
            .collect();
        assert_eq!(
            refused,
            vec![
                (4, RowError::InvalidDomain("not a domain".into())),
                (5, RowError::InvalidEmployees("many".into())),
                (6, RowError::InvalidStatus("VIP".into())),
                (8, RowError::InvalidOwner("nobody".into())),
            ]
        );
        assert_eq!(
            parse_accounts("会社名\nX\n", 10).err(),
            Some(FileError::NoDomainColumn)
        );
    }
}
