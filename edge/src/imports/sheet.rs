//! A list as spreadsheets save it: a header row naming the columns, then data rows, each known
//! by its line, which is what whoever fixes the file looks for. People lists and accounts lists
//! differ only in their columns and in what makes a row.

use super::FileError;
use super::people::{Refused, RowError};

/// The rows `row` accepted, in file order with their lines, and the lines it refused.
pub struct Sheet<T> {
    pub rows: Vec<(u64, T)>,
    pub refused: Vec<Refused>,
}

/// Reads at most `max_rows` data rows of `text`. The header's cells become columns through
/// `column_of` (a column named twice is refused); without `required` the file is refused with
/// `missing`. Blank rows are skipped without a word.
pub fn read<C: Copy + PartialEq, T>(
    text: &str,
    max_rows: usize,
    column_of: impl Fn(&str) -> Option<C>,
    required: C,
    missing: FileError,
    mut row: impl FnMut(&[Option<C>], &csv::StringRecord) -> Result<T, RowError>,
) -> Result<Sheet<T>, FileError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut records = reader.records();
    let header = match records.next() {
        Some(Ok(header)) => header,
        Some(Err(_)) | None => return Err(FileError::Empty),
    };
    let mut columns: Vec<Option<C>> = Vec::new();
    for cell in header.iter() {
        let column = column_of(cell);
        if column.is_some() && columns.contains(&column) {
            return Err(FileError::DuplicateColumn(cell.trim().to_string()));
        }
        columns.push(column);
    }
    if !columns.contains(&Some(required)) {
        return Err(missing);
    }
    let mut sheet = Sheet {
        rows: Vec::new(),
        refused: Vec::new(),
    };
    for record in records {
        let (line, result) = match record {
            Ok(record) => {
                let line = record.position().map_or(0, |p| first_line(text, p));
                if record.iter().all(|c| c.trim().is_empty()) {
                    continue;
                }
                (line, row(&columns, &record))
            }
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                (line, Err(RowError::Malformed(e.to_string())))
            }
        };
        if sheet.rows.len() + sheet.refused.len() >= max_rows {
            return Err(FileError::TooManyRows { max: max_rows });
        }
        match result {
            Ok(taken) => sheet.rows.push((line, taken)),
            Err(reason) => sheet.refused.push(Refused { line, reason }),
        }
    }
    Ok(sheet)
}

/// The line a record's first cell is on: the reader places a record after blank lines at the
/// first of them, which would name the wrong line to whoever fixes the file.
fn first_line(text: &str, position: &csv::Position) -> u64 {
    let start = usize::try_from(position.byte()).unwrap_or(usize::MAX);
    let blank = text
        .as_bytes()
        .get(start..)
        .unwrap_or_default()
        .iter()
        .take_while(|b| matches!(b, b'\n' | b'\r'))
        .filter(|b| **b == b'\n')
        .count();
    position.line() + blank as u64
}
