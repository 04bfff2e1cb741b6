//! Lists as spreadsheets export them: a CSV file's bytes in the encoding Excel chose, its header
//! row mapped to what Mikomi knows, and each row either taken or refused with its line and the
//! reason. No HTTP and no storage here: the service decides what a valid row changes.

pub mod accounts;
pub mod apply;
pub mod decode;
pub mod people;
mod sheet;

pub use decode::{DecodeError, decode};
pub use people::{PeopleFile, Refused, parse_people};

/// Why a whole file is refused (one bad row never refuses the file).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FileError {
    #[error("{0}")]
    Encoding(#[from] DecodeError),
    #[error("the file has no header row")]
    Empty,
    #[error("no column of the header row is an email address (email, メールアドレス, …)")]
    NoEmailColumn,
    #[error("no column of the header row is a domain (domain, ドメイン, website, …)")]
    NoDomainColumn,
    #[error("the header row names `{0}` twice")]
    DuplicateColumn(String),
    #[error("the file has more than {max} rows: split it")]
    TooManyRows { max: usize },
}
