//! Reading a cookie from a request: the collect path's visitor id and the console's session
//! and language.

use cookie::Cookie;
use hyper::HeaderMap;
use hyper::header;

/// The value of the cookie `name`, from any `Cookie` header of the request.
pub fn value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_string())
}
