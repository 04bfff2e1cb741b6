//! A view as an email: a UTF-8 subject, a plain-text part and an HTML part, sent over SMTP with
//! STARTTLS, implicit TLS or (for a local relay) none, authenticated when credentials are set.

use std::time::Duration;

use lettre::message::{Mailbox, MultiPart, SinglePart, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::view::View;
use crate::config::alerts::{SmtpConfig, SmtpTls};
use crate::config::{OutgoingConfig, TrustRoots};

/// A connected-when-needed SMTP client.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    /// Reads the extra roots: call at start-up.
    pub fn new(
        smtp: &SmtpConfig,
        outgoing: &OutgoingConfig,
        timeout: Duration,
    ) -> anyhow::Result<Mailer> {
        let tls = || -> anyhow::Result<TlsParameters> {
            let store = match outgoing.roots {
                TrustRoots::Webpki => CertificateStore::WebpkiRoots,
                TrustRoots::System => CertificateStore::None,
            };
            let mut builder = TlsParameters::builder(smtp.host.clone()).certificate_store(store);
            if outgoing.roots == TrustRoots::System {
                for cert in rustls_native_certs::load_native_certs().certs {
                    if let Ok(cert) = Certificate::from_der(cert.to_vec()) {
                        builder = builder.add_root_certificate(cert);
                    }
                }
            }
            for path in &outgoing.extra_roots {
                let pem = std::fs::read(path.get_ref())
                    .map_err(|e| anyhow::anyhow!("{}: {e}", path.get_ref().display()))?;
                let cert = Certificate::from_pem(&pem)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", path.get_ref().display()))?;
                builder = builder.add_root_certificate(cert);
            }
            Ok(builder.build_rustls()?)
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host)
            .port(smtp.port())
            .timeout(Some(timeout));
        builder = match smtp.tls {
            SmtpTls::Starttls => builder.tls(Tls::Required(tls()?)),
            SmtpTls::Implicit => builder.tls(Tls::Wrapper(tls()?)),
            SmtpTls::None => builder.tls(Tls::None),
        };
        if let (Some(user), Some(password)) = (&smtp.username, &smtp.password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.0.clone()));
        }
        Ok(Mailer {
            transport: builder.build(),
            from: smtp
                .from
                .parse()
                .map_err(|e| anyhow::anyhow!("alerting.smtp.from: {e}"))?,
        })
    }

    pub async fn send(&self, to: &[String], view: &View) -> Result<(), String> {
        let mut message = Message::builder()
            .from(self.from.clone())
            .subject(format!("[Mikomi] {}", view.title));
        for address in to {
            let mailbox: Mailbox = address.parse().map_err(|e| format!("`{address}`: {e}"))?;
            message = message.to(mailbox);
        }
        let message = message
            .multipart(
                MultiPart::alternative()
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body(plain(view)),
                    )
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_HTML)
                            .body(html(view)),
                    ),
            )
            .map_err(|e| format!("building the message: {e}"))?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

pub fn plain(view: &View) -> String {
    let mut out = format!("{}\n\n", view.title);
    for (label, value) in &view.facts {
        out.push_str(&format!("{label}: {value}\n"));
    }
    for (title, items) in &view.lists {
        out.push_str(&format!("\n{title}\n"));
        for item in items {
            match &item.url {
                Some(url) => out.push_str(&format!("- {} <{url}>\n", item.text)),
                None => out.push_str(&format!("- {}\n", item.text)),
            }
        }
    }
    if let Some(link) = &view.link {
        out.push_str(&format!("\n{}: {}\n", link.label, link.url));
    }
    out.push_str(&format!("\n-- \n{}\n", view.footer));
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub fn html(view: &View) -> String {
    let mut out = format!(
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\"></head><body style=\"font-family:sans-serif\"><h2>{}</h2><table>",
        view.lang,
        escape(&view.title)
    );
    for (label, value) in &view.facts {
        out.push_str(&format!(
            "<tr><th align=\"left\">{}</th><td>{}</td></tr>",
            escape(label),
            escape(value)
        ));
    }
    out.push_str("</table>");
    for (title, items) in &view.lists {
        out.push_str(&format!("<h3>{}</h3><ul>", escape(title)));
        for item in items {
            match &item.url {
                Some(url) => out.push_str(&format!(
                    "<li><a href=\"{}\">{}</a></li>",
                    escape(url),
                    escape(&item.text)
                )),
                None => out.push_str(&format!("<li>{}</li>", escape(&item.text))),
            }
        }
        out.push_str("</ul>");
    }
    if let Some(link) = &view.link {
        out.push_str(&format!(
            "<p><a href=\"{}\">{}</a></p>",
            escape(&link.url),
            escape(&link.label)
        ));
    }
    out.push_str(&format!(
        "<p style=\"color:#888\">{}</p></body></html>",
        escape(&view.footer)
    ));
    out
}
