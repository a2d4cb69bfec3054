//! Digest authentication (RFC 2617, as RFC 3261 §22 uses it): the answer to a 401 or 407
//! challenge, from the password or from its HA1 (`ha1_secret`). `ezk-sip-types` reads the
//! challenge and writes the answer; the hashing is here because `ezk-sip-auth` takes only a
//! password, and keeps state that a checkpoint could not carry.

use bytesstr::BytesStr;
use ezk_sip_types::header::typed::{
    Algorithm, AlgorithmValue, AuthChallenge, DigestChallenge, DigestResponse, QopOption, QopResponse,
    Username,
};
use ezk_sip_types::{Headers, Name};
use serde::{Deserialize, Serialize};

/// What the account authenticates with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    /// The user name to authenticate as (`authuser`, else the URI's user).
    pub user: String,
    /// The password, or `user:realm:password` hashed (HA1, `ha1_secret`).
    pub secret: Secret,
}

/// A password or its HA1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Secret {
    /// The password.
    Password(String),
    /// MD5 of `user:realm:password`, hex.
    Ha1(String),
}

impl Secret {
    /// A request's `secret` (a password) or `ha1_secret`; none with neither. Both at once is
    /// Janus's 444 when `strict`, else the password wins.
    pub fn of(
        body: &serde_json::Map<String, serde_json::Value>,
        strict: bool,
    ) -> Result<Option<Secret>, portunus_sdk::PluginError> {
        let text = |k: &str| body.get(k).and_then(serde_json::Value::as_str).map(str::to_owned);
        match (text("secret"), text("ha1_secret")) {
            (Some(_), Some(_)) if strict => Err(portunus_sdk::PluginError::new(
                crate::code::INVALID_ELEMENT,
                "Conflicting elements specified (secret and ha1_secret)",
            )),
            (Some(p), _) => Ok(Some(Secret::Password(p))),
            (None, Some(h)) => Ok(Some(Secret::Ha1(h))),
            (None, None) => Ok(None),
        }
    }
}

fn md5_hex(data: &str) -> String {
    format!("{:x}", md5::compute(data.as_bytes()))
}

/// The challenge of a 401 (`WWW-Authenticate`) or 407 (`Proxy-Authenticate`) response that we
/// can answer (Digest, MD5, no qop or qop=auth), and whether it came from a proxy.
pub fn challenge(headers: &Headers) -> Option<(DigestChallenge, bool)> {
    for (name, proxy) in [(Name::WWW_AUTHENTICATE, false), (Name::PROXY_AUTHENTICATE, true)] {
        let Some(Ok(challenges)) = headers.try_get::<Vec<AuthChallenge>>(name) else { continue };
        for c in challenges {
            let AuthChallenge::Digest(d) = c else { continue };
            let md5 = matches!(d.algorithm, Algorithm::AlgorithmValue(AlgorithmValue::MD5));
            if md5 && (d.qop.is_empty() || d.qop.contains(&QopOption::Auth)) {
                return Some((d, proxy));
            }
        }
    }
    None
}

/// The `Authorization` (or `Proxy-Authorization`) value answering `c` for a request of
/// `method` to `uri`; `cnonce` is fresh per answer.
pub fn answer(c: &DigestChallenge, creds: &Credentials, method: &str, uri: &str, cnonce: &str) -> String {
    let ha1 = match &creds.secret {
        Secret::Password(p) => md5_hex(&format!("{}:{}:{p}", creds.user, c.realm)),
        Secret::Ha1(h) => h.to_ascii_lowercase(),
    };
    let ha2 = md5_hex(&format!("{method}:{uri}"));
    let (response, qop_response) = if c.qop.contains(&QopOption::Auth) {
        let nc = 1;
        let response = md5_hex(&format!("{ha1}:{}:{nc:08x}:{cnonce}:auth:{ha2}", c.nonce));
        let qop = QopResponse { qop: QopOption::Auth, cnonce: BytesStr::from(cnonce.to_owned()), nc };
        (response, Some(qop))
    } else {
        (md5_hex(&format!("{ha1}:{}:{ha2}", c.nonce)), None)
    };
    let r = DigestResponse {
        username: Username::new(BytesStr::from(creds.user.clone())),
        realm: c.realm.clone(),
        nonce: c.nonce.clone(),
        uri: BytesStr::from(uri.to_owned()),
        response: BytesStr::from(response),
        algorithm: c.algorithm.clone(),
        opaque: c.opaque.clone(),
        qop_response,
        userhash: false,
        other: Vec::new(),
    };
    use ezk_sip_types::print::AppendCtx;
    r.default_print_ctx().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 2617 §3.5's example (qop=auth), with the method and URI of its HTTP request.
    #[test]
    fn rfc2617_example() {
        let mut h = Headers::new();
        h.insert(
            Name::WWW_AUTHENTICATE,
            BytesStr::from_static(
                "Digest realm=\"testrealm@host.com\", qop=\"auth,auth-int\", \
                 nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"",
            ),
        );
        let (c, proxy) = challenge(&h).unwrap();
        assert!(!proxy);
        let creds = Credentials { user: "Mufasa".into(), secret: Secret::Password("Circle Of Life".into()) };
        let a = answer(&c, &creds, "GET", "/dir/index.html", "0a4f113b");
        assert!(a.contains("response=\"6629fae49393a05397450978507c4ef1\""), "{a}");
        assert!(a.contains("nc=00000001") && a.contains("qop=auth"), "{a}");
        // The same from its HA1.
        let ha1 = md5_hex("Mufasa:testrealm@host.com:Circle Of Life");
        let creds = Credentials { user: "Mufasa".into(), secret: Secret::Ha1(ha1) };
        assert_eq!(answer(&c, &creds, "GET", "/dir/index.html", "0a4f113b"), a);
    }
}
