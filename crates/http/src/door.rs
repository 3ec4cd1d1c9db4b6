//! The door of every listener: which `Host` and `Origin` a request may carry, and the bearer
//! token it presents.
//!
//! A listener describes its door as data ([`HostPolicy`], [`OriginPolicy`]) and asks
//! [`Door::check`]; the answer is a [`Refusal`] the listener shapes into its own kind of
//! response (the API's JSON error, the gateway's JSON-RPC error, the dashboard's text). This
//! module decides nothing about *who* a token belongs to: the API's guard, the gateway's client
//! access and the tailnet listener's whois each own that.

use std::net::{IpAddr, SocketAddr};

use axum::http::{HeaderMap, header};

/// Which `Host` header names this listener (DNS rebinding protection).
#[derive(Clone, Debug)]
pub enum HostPolicy {
    /// The loopback listener on `port`, reached as 127.0.0.1, localhost or [::1].
    Loopback { port: u16 },
    /// The tailnet listener on `port`: the node's addresses and DNS names.
    Tailnet {
        port: u16,
        addresses: Vec<IpAddr>,
        names: Vec<String>,
    },
}

/// Which web pages may send requests (`Origin`); a request without one is not from a page.
#[derive(Clone, Copy, Debug)]
pub enum OriginPolicy {
    /// Only the dashboard this daemon serves on `port`.
    OwnUi { port: u16 },
    /// Any page on this machine: browser-based MCP tools run on loopback.
    AnyLoopback,
    /// No page at all.
    NoBrowsers,
}

/// Why a request was turned away at the door. Its message says what to do instead.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("Host `{host}` is not this daemon's address; use http://127.0.0.1:{port}")]
    LoopbackHost { host: String, port: u16 },
    #[error("Host `{host}` is not this node's tailnet address")]
    TailnetHost { host: String },
    #[error("requests from origin `{origin}` are not allowed; only Switchboard's own UI may call this API")]
    NotOwnUi { origin: String },
    #[error(
        "requests from origin `{origin}` are not allowed; only pages on this machine may use the gateway"
    )]
    NotLoopbackPage { origin: String },
    #[error("browsers may not use the tailnet listener; connect an MCP client instead")]
    Browser,
}

impl Refusal {
    /// A stable code for error bodies that carry one.
    pub fn code(&self) -> &'static str {
        match self {
            Self::LoopbackHost { .. } | Self::TailnetHost { .. } => "bad_host",
            Self::NotOwnUi { .. } | Self::NotLoopbackPage { .. } | Self::Browser => "bad_origin",
        }
    }
}

/// One listener's policy for `Host` and `Origin`.
#[derive(Clone, Debug)]
pub struct Door {
    pub host: HostPolicy,
    pub origin: OriginPolicy,
}

impl Door {
    /// The `Host` first, then the `Origin`.
    pub fn check(&self, headers: &HeaderMap) -> Result<(), Refusal> {
        self.check_host(headers)?;
        self.check_origin(headers)
    }

    pub fn check_host(&self, headers: &HeaderMap) -> Result<(), Refusal> {
        let host = header_text(headers, header::HOST).unwrap_or_default();
        let named = |allowed: &str| allowed.eq_ignore_ascii_case(host);
        match &self.host {
            HostPolicy::Loopback { port } => {
                let port = *port;
                match ["127.0.0.1", "localhost", "[::1]"]
                    .iter()
                    .any(|name| named(&format!("{name}:{port}")))
                {
                    true => Ok(()),
                    false => Err(Refusal::LoopbackHost {
                        host: host.to_owned(),
                        port,
                    }),
                }
            }
            HostPolicy::Tailnet {
                port,
                addresses,
                names,
            } => {
                let by_address = addresses
                    .iter()
                    .any(|ip| named(&SocketAddr::new(*ip, *port).to_string()));
                let by_name = names
                    .iter()
                    .filter(|name| !name.is_empty())
                    .any(|name| named(&format!("{name}:{port}")));
                match by_address || by_name {
                    true => Ok(()),
                    false => Err(Refusal::TailnetHost {
                        host: host.to_owned(),
                    }),
                }
            }
        }
    }

    pub fn check_origin(&self, headers: &HeaderMap) -> Result<(), Refusal> {
        if !headers.contains_key(header::ORIGIN) {
            return Ok(());
        }
        let origin = header_text(headers, header::ORIGIN).unwrap_or_default();
        match self.origin {
            OriginPolicy::OwnUi { port } => {
                let own = [
                    format!("http://127.0.0.1:{port}"),
                    format!("http://localhost:{port}"),
                ];
                match own.iter().any(|o| o.eq_ignore_ascii_case(origin)) {
                    true => Ok(()),
                    false => Err(Refusal::NotOwnUi {
                        origin: origin.to_owned(),
                    }),
                }
            }
            OriginPolicy::AnyLoopback => {
                let host = url::Url::parse(origin)
                    .ok()
                    .and_then(|u| u.host_str().map(str::to_ascii_lowercase));
                match matches!(host.as_deref(), Some("127.0.0.1" | "localhost" | "[::1]")) {
                    true => Ok(()),
                    false => Err(Refusal::NotLoopbackPage {
                        origin: origin.to_owned(),
                    }),
                }
            }
            OriginPolicy::NoBrowsers => Err(Refusal::Browser),
        }
    }
}

/// The token of an `Authorization: Bearer` header, or "" (which is nobody's). The scheme is
/// matched without regard to case (RFC 9110 §11.1).
pub fn bearer(headers: &HeaderMap) -> &str {
    header_text(headers, header::AUTHORIZATION)
        .and_then(|value| value.trim_start().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .unwrap_or_default()
}

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(name.clone(), HeaderValue::from_str(value).expect("header"));
        }
        map
    }

    #[test]
    fn the_bearer_scheme_is_read_in_any_case() {
        for value in ["Bearer abc", "bearer abc", "BEARER  abc ", " Bearer abc"] {
            assert_eq!(
                bearer(&headers(&[(header::AUTHORIZATION, value)])),
                "abc",
                "{value}"
            );
        }
        for value in ["Basic abc", "Bearerabc", "abc"] {
            assert_eq!(bearer(&headers(&[(header::AUTHORIZATION, value)])), "", "{value}");
        }
        assert_eq!(bearer(&HeaderMap::new()), "");
    }

    #[test]
    fn loopback_names_this_port_only() {
        let door = Door {
            host: HostPolicy::Loopback { port: 7000 },
            origin: OriginPolicy::AnyLoopback,
        };
        for host in ["127.0.0.1:7000", "LOCALHOST:7000", "[::1]:7000"] {
            assert_eq!(door.check(&headers(&[(header::HOST, host)])), Ok(()), "{host}");
        }
        for host in ["127.0.0.1:7001", "evil.example:7000", ""] {
            let refusal = door.check(&headers(&[(header::HOST, host)])).expect_err(host);
            assert_eq!(refusal.code(), "bad_host");
        }
    }

    #[test]
    fn each_origin_policy_admits_its_pages() {
        let host = (header::HOST, "127.0.0.1:7000");
        let door = |origin| Door {
            host: HostPolicy::Loopback { port: 7000 },
            origin,
        };
        let own = door(OriginPolicy::OwnUi { port: 7000 });
        assert_eq!(
            own.check(&headers(&[
                host.clone(),
                (header::ORIGIN, "http://localhost:7000")
            ])),
            Ok(())
        );
        let other = own.check(&headers(&[
            host.clone(),
            (header::ORIGIN, "http://localhost:5173"),
        ]));
        assert!(matches!(other, Err(Refusal::NotOwnUi { .. })));
        let any = door(OriginPolicy::AnyLoopback);
        assert_eq!(
            any.check(&headers(&[
                host.clone(),
                (header::ORIGIN, "http://localhost:5173")
            ])),
            Ok(())
        );
        let remote = any.check(&headers(&[
            host.clone(),
            (header::ORIGIN, "https://evil.example"),
        ]));
        assert!(matches!(remote, Err(Refusal::NotLoopbackPage { .. })));
        let none = door(OriginPolicy::NoBrowsers);
        assert_eq!(none.check(&headers(std::slice::from_ref(&host))), Ok(()));
        assert_eq!(
            none.check(&headers(&[host, (header::ORIGIN, "http://localhost:7000")])),
            Err(Refusal::Browser)
        );
    }

    #[test]
    fn a_tailnet_node_is_named_by_address_or_dns_name() {
        let door = Door {
            host: HostPolicy::Tailnet {
                port: 7000,
                addresses: vec!["100.64.0.1".parse().expect("ip"), "fd7a::1".parse().expect("ip")],
                names: vec!["home.tail1234.ts.net".into(), "home".into(), String::new()],
            },
            origin: OriginPolicy::NoBrowsers,
        };
        for host in [
            "100.64.0.1:7000",
            "[fd7a::1]:7000",
            "HOME.tail1234.ts.net:7000",
            "home:7000",
        ] {
            assert_eq!(
                door.check_host(&headers(&[(header::HOST, host)])),
                Ok(()),
                "{host}"
            );
        }
        for host in ["100.64.0.2:7000", "home:7001", ":7000"] {
            assert!(matches!(
                door.check_host(&headers(&[(header::HOST, host)])),
                Err(Refusal::TailnetHost { .. })
            ));
        }
    }
}
