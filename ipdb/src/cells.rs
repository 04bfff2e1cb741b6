//! CSV cells that a spreadsheet shows as text. AS organisation names are chosen by whoever
//! registers the AS; the sample files `mikomi-ipdb sample` and `unlisted` write are opened in a
//! spreadsheet for labelling, where a name starting with `=`, `+`, `-`, `@`, tab or carriage
//! return would run as a formula. Such a cell gets a leading `'` (the spreadsheet hides it and
//! shows the rest as text), and reading a labelled file takes it off again.

/// Starts like a formula.
fn formula_like(value: &str) -> bool {
    value.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

/// `value` as a cell a spreadsheet will not evaluate.
pub fn text_cell(value: &str) -> String {
    if formula_like(value) {
        format!("'{value}")
    } else {
        value.to_owned()
    }
}

/// The value `text_cell` wrote (a cell without its guard is returned as it is).
pub fn from_text_cell(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if formula_like(rest) => rest,
        _ => cell,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_like_cells_are_guarded_and_read_back() {
        for value in [
            "=HYPERLINK(\"http://x\")",
            "+1",
            "-2",
            "@SUM(A1)",
            "\tx",
            "\rx",
        ] {
            let cell = text_cell(value);
            assert_eq!(cell, format!("'{value}"));
            assert_eq!(from_text_cell(&cell), value);
        }
        for value in ["NTT Communications", "'quoted", "a=b", ""] {
            assert_eq!(text_cell(value), value);
            assert_eq!(from_text_cell(value), value);
        }
    }
}
