//! The one error type of the crate.
//!
//! Every variant names the file (and, for CSV input, the line) it is about, because the
//! operator who reads it has several databases and several source files in play and must know
//! which one to fix without a debugger.

use std::path::PathBuf;

/// Everything that can go wrong opening, verifying or building a database.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },

    /// A file is not a MaxMind DB, or its metadata or search tree is corrupt.
    #[error("{}: not a valid MaxMind DB file: {source}", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// What the reader found.
        #[source]
        source: maxminddb::MaxMindDbError,
    },

    /// A file opened but its full verification (tree and every record) failed.
    #[error("{}: verification failed: {message}", path.display())]
    Verify {
        /// The file.
        path: PathBuf,
        /// What was wrong, with the network or offset where known.
        message: String,
    },

    /// The `database_type` metadata names no schema this crate reads, and none was configured.
    #[error(
        "{}: unknown database_type {database_type:?}; set the layer's schema explicitly \
         (company, enterprise, isp, domain, asn)",
        path.display()
    )]
    UnknownSchema {
        /// The file.
        path: PathBuf,
        /// The `database_type` found in its metadata.
        database_type: String,
    },

    /// A row of a source CSV file is wrong.
    #[error("{}:{line}: {message}", path.display())]
    Row {
        /// The source file.
        path: PathBuf,
        /// The 1-based line number of the row in that file.
        line: u64,
        /// What is wrong with it.
        message: String,
    },

    /// Two rows of a source file cover the same addresses.
    #[error("{}:{line}: {network} overlaps line {other_line}", path.display())]
    Overlap {
        /// The source file.
        path: PathBuf,
        /// The line of the later row.
        line: u64,
        /// The range of the later row, as written.
        network: String,
        /// The line of the earlier row it overlaps.
        other_line: u64,
    },

    /// A network given to the builder cannot be inserted.
    #[error("{network}: {message}")]
    InvalidNetwork {
        /// The network.
        network: String,
        /// Why not.
        message: String,
    },

    /// The database being built does not fit the MaxMind DB format's limits.
    #[error("database too large: {0}")]
    TooLarge(String),

    /// A resolver was asked to open no layers at all.
    #[error("no ipdb layers configured")]
    NoLayers,
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn row(path: impl Into<PathBuf>, line: u64, message: impl Into<String>) -> Self {
        Error::Row {
            path: path.into(),
            line,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fixes every message: operators grep logs for them and docs quote them.
    #[test]
    fn messages_name_the_file_and_the_fault() {
        let p = PathBuf::from("/data/companies.mmdb");
        let cases: Vec<(Error, &str)> = vec![
            (
                Error::io(
                    &p,
                    std::io::Error::new(std::io::ErrorKind::NotFound, "gone"),
                ),
                "/data/companies.mmdb: gone",
            ),
            (
                Error::Open {
                    path: p.clone(),
                    source: maxminddb::MaxMindDbError::invalid_database("bad marker"),
                },
                "/data/companies.mmdb: not a valid MaxMind DB file: invalid database: bad marker",
            ),
            (
                Error::Verify {
                    path: p.clone(),
                    message: "record at 1.2.3.0/24: missing name".into(),
                },
                "/data/companies.mmdb: verification failed: record at 1.2.3.0/24: missing name",
            ),
            (
                Error::UnknownSchema {
                    path: p.clone(),
                    database_type: "GeoIP2-City".into(),
                },
                "/data/companies.mmdb: unknown database_type \"GeoIP2-City\"; set the layer's \
                 schema explicitly (company, enterprise, isp, domain, asn)",
            ),
            (
                Error::row("c.csv", 7, "bad employee count \"many\""),
                "c.csv:7: bad employee count \"many\"",
            ),
            (
                Error::Overlap {
                    path: "c.csv".into(),
                    line: 9,
                    network: "10.0.0.0/8".into(),
                    other_line: 3,
                },
                "c.csv:9: 10.0.0.0/8 overlaps line 3",
            ),
            (
                Error::InvalidNetwork {
                    network: "10.1.0.0/16".into(),
                    message: "lies inside a network already inserted".into(),
                },
                "10.1.0.0/16: lies inside a network already inserted",
            ),
            (
                Error::TooLarge("data section over 4 GiB".into()),
                "database too large: data section over 4 GiB",
            ),
            (Error::NoLayers, "no ipdb layers configured"),
        ];
        for (error, want) in cases {
            assert_eq!(error.to_string(), want);
        }
    }
}
