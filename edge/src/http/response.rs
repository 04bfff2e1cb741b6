//! Building responses: one body type, JSON and error helpers.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};

use super::error::ApiError;

pub type Body = Full<Bytes>;

pub fn json(status: StatusCode, body: String) -> Response<Body> {
    with_type(status, "application/json", Bytes::from(body))
}

pub fn with_type(status: StatusCode, content_type: &'static str, body: Bytes) -> Response<Body> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

pub fn empty(status: StatusCode) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = status;
    response
}

pub fn error(err: &ApiError) -> Response<Body> {
    let mut response = json(err.status, err.body());
    if let Some(wait) = err.retry_after {
        let seconds = wait.as_secs_f64().ceil().max(1.0) as u64;
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    if let Some(allow) = err.allow {
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static(allow));
    }
    if err.status == StatusCode::REQUEST_TIMEOUT {
        // The rest of a body that came too slowly is still on its way: the connection cannot
        // carry another request, and its slot is better given to someone else.
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

pub fn redirect(location: &'static str) -> Response<Body> {
    let mut response = empty(StatusCode::FOUND);
    response
        .headers_mut()
        .insert(header::LOCATION, HeaderValue::from_static(location));
    response
}
