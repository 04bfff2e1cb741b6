//! The one place where errors become HTTP statuses. Clients get a stable code and a message
//! meant for them; internal details go to the log only.

use std::time::Duration;

use hyper::StatusCode;

use crate::collect::CollectError;
use crate::imports::FileError;
use crate::service::accounts::AccountsError;
use crate::service::imports::ImportError;
use crate::service::people::PeopleError;
use crate::service::rules::RulesApiError;
use crate::service::sessions::SessionsError;
use crate::service::tokens::TokensError;
use crate::store::StoreError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub retry_after: Option<Duration>,
    /// The methods the resource serves, for the `Allow` header of a 405 (RFC 9110 requires it).
    pub allow: Option<&'static str>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
            allow: None,
        }
    }

    pub fn not_found() -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such resource")
    }

    /// A 405 for a resource that serves `allow` (`"GET, HEAD"`).
    pub fn method_not_allowed(allow: &'static str) -> Self {
        ApiError {
            allow: Some(allow),
            ..ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!("this resource serves {allow}"),
            )
        }
    }

    pub fn unauthorized() -> Self {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send a valid API key as `Authorization: Bearer <key>`",
        )
    }

    /// An internal failure: logged in full, reported to the client without detail.
    pub fn internal(code: &'static str, detail: &dyn std::fmt::Display) -> Self {
        tracing::error!(code, error = %detail, "request failed");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            code,
            "temporarily unable to store events; retry later",
        )
    }

    pub fn body(&self) -> String {
        serde_json::json!({"error": {"code": self.code, "message": self.message}}).to_string()
    }
}

impl From<CollectError> for ApiError {
    fn from(err: CollectError) -> Self {
        use CollectError as E;
        let status = match &err {
            E::MalformedJson(_) | E::EventCount { .. } | E::InvalidEvent(_) => {
                StatusCode::BAD_REQUEST
            }
            E::InvalidVisitorId(_) | E::UnknownSite(_) => StatusCode::BAD_REQUEST,
            E::OriginRequired | E::OriginNotAllowed { .. } => StatusCode::FORBIDDEN,
            E::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            E::Store(e) => return ApiError::internal("store_unavailable", e),
        };
        let code = match &err {
            E::MalformedJson(_) => "malformed_json",
            E::UnknownSite(_) => "unknown_site",
            E::OriginRequired => "origin_required",
            E::OriginNotAllowed { .. } => "origin_not_allowed",
            E::EventCount { .. } => "event_count",
            E::InvalidEvent(_) => "invalid_event",
            E::InvalidVisitorId(_) => "invalid_visitor_id",
            E::RateLimited { .. } => "rate_limited",
            E::Store(_) => "store_unavailable",
        };
        let retry_after = match &err {
            E::RateLimited { retry_after, .. } => Some(*retry_after),
            _ => None,
        };
        ApiError {
            status,
            code,
            message: err.to_string(),
            retry_after,
            allow: None,
        }
    }
}

impl From<RulesApiError> for ApiError {
    fn from(err: RulesApiError) -> Self {
        use RulesApiError as E;
        let (status, code) = match &err {
            E::BadUrl(_) => (StatusCode::BAD_REQUEST, "invalid_url"),
            E::UnknownRule(_) | E::UnknownVariant { .. } => (StatusCode::NOT_FOUND, "unknown_rule"),
            E::BadTtl => (StatusCode::BAD_REQUEST, "invalid_ttl"),
            E::Store(e) => return ApiError::internal("store_unavailable", e),
        };
        ApiError::new(status, code, err.to_string())
    }
}

impl From<PeopleError> for ApiError {
    fn from(err: PeopleError) -> Self {
        use PeopleError as E;
        let (status, code) = match &err {
            E::InvalidId => (StatusCode::BAD_REQUEST, "invalid_person_id"),
            E::NotFound => return ApiError::not_found(),
            E::InvalidStage => (StatusCode::BAD_REQUEST, "invalid_stage"),
            E::InvalidAttribute(_) => (StatusCode::BAD_REQUEST, "invalid_attribute"),
            // Well-formed requests that the person's state does not allow: a conflict.
            E::NotLinked => (StatusCode::CONFLICT, "not_linked"),
            E::SamePerson => (StatusCode::CONFLICT, "same_person"),
            E::DifferentSites => (StatusCode::CONFLICT, "other_site"),
            E::Store(e) => return ApiError::internal("store_unavailable", e),
        };
        ApiError::new(status, code, err.to_string())
    }
}

impl From<SessionsError> for ApiError {
    fn from(err: SessionsError) -> Self {
        match err {
            SessionsError::InvalidLimit => {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid_limit", err.to_string())
            }
            SessionsError::Store(e) => e.into(),
        }
    }
}

impl From<crate::service::alerts::AlertsError> for ApiError {
    fn from(err: crate::service::alerts::AlertsError) -> Self {
        use crate::service::alerts::AlertsError as E;
        match err {
            E::NotFound { .. } => ApiError::new(
                StatusCode::NOT_FOUND,
                "unknown_dead_letter",
                err.to_string(),
            ),
            E::Store(e) => e.into(),
        }
    }
}

impl From<AccountsError> for ApiError {
    fn from(err: AccountsError) -> Self {
        let code = match &err {
            AccountsError::InvalidWindow => "invalid_window",
            AccountsError::InvalidLimit => "invalid_limit",
            AccountsError::Store(_) => "store_unavailable",
        };
        match err {
            AccountsError::Store(e) => e.into(),
            other => ApiError::new(StatusCode::BAD_REQUEST, code, other.to_string()),
        }
    }
}

impl From<TokensError> for ApiError {
    fn from(err: TokensError) -> Self {
        let code = match err {
            TokensError::InvalidEmail => "invalid_email",
            TokensError::InvalidTtl => "invalid_ttl",
        };
        ApiError::new(StatusCode::BAD_REQUEST, code, err.to_string())
    }
}

impl From<ImportError> for ApiError {
    fn from(err: ImportError) -> Self {
        let code = match &err {
            ImportError::File(FileError::Encoding(_)) => "unknown_encoding",
            ImportError::File(FileError::Empty) => "empty_file",
            ImportError::File(FileError::NoEmailColumn) => "no_email_column",
            ImportError::File(FileError::NoDomainColumn) => "no_domain_column",
            ImportError::File(FileError::DuplicateColumn(_)) => "duplicate_column",
            ImportError::File(FileError::TooManyRows { .. }) => "too_many_rows",
            ImportError::Store(e) => return ApiError::internal("store_unavailable", e),
            ImportError::Stopped(e) => return ApiError::internal("import_stopped", e),
        };
        // The file as a whole cannot be read: the client's to fix (one bad row never refuses
        // the file; it is reported with its line in a 200).
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, err.to_string())
    }
}

/// Storage that cannot answer: the client may retry; the detail goes to the log.
impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        ApiError::internal("store_unavailable", &err)
    }
}
