//! `api_secret` and token authentication (`token_auth`): stored tokens, managed through the
//! admin API, or with `token_auth_secret` tokens signed by the application, as Janus checks
//! them: `<expiry>,<realm>,<descriptor>…:<base64 HMAC-SHA1 of the part before ':'>`. The core's
//! realm is `janus` (descriptors: the plugins the token may attach to); a plugin's is its
//! package (VideoRoom's `signed_tokens` rooms want `room=<id>`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use aws_lc_rs::hmac;
use data_encoding::BASE64;

use super::error::{ApiError, ApiResult, ErrorCode};
use super::session::lock;

/// The credentials a request carries.
#[derive(Debug, Clone, Copy, Default)]
pub struct Credentials<'a> {
    /// `apisecret`.
    pub apisecret: Option<&'a str>,
    /// `token`.
    pub token: Option<&'a str>,
}

/// The gateway's authentication state.
pub struct Auth {
    api_secret: Option<String>,
    token_auth: bool,
    /// `token_auth_secret`, as an HMAC-SHA1 key: tokens are signed, none stored.
    signing: Option<hmac::Key>,
    /// Stored tokens and the plugin packages each may use, keyed by the token's SHA-256: a
    /// lookup compares digests, so its time says nothing about how much of a guess was right.
    tokens: Mutex<BTreeMap<Digest, StoredToken>>,
}

type Digest = [u8; 32];

fn digest(text: &str) -> Digest {
    use sha2::Digest as _;
    sha2::Sha256::digest(text.as_bytes()).into()
}

/// A stored token and the plugins it may use.
#[derive(Default)]
struct StoredToken {
    token: String,
    plugins: BTreeSet<String>,
}

impl Auth {
    /// Authentication with these settings and no stored tokens; with `token_auth` and a
    /// `token_secret`, tokens are signed ones.
    pub fn new(api_secret: Option<String>, token_auth: bool, token_secret: Option<&str>) -> Self {
        let signing = token_secret
            .filter(|_| token_auth)
            .map(|s| hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, s.as_bytes()));
        Self { api_secret, token_auth, signing, tokens: Mutex::new(BTreeMap::new()) }
    }

    /// Whether tokens are signed ones (`token_auth_secret`).
    pub fn signed(&self) -> bool {
        self.signing.is_some()
    }

    /// Whether `token` is signed with `token_auth_secret`, unexpired, of `realm`, and (when
    /// given) lists `descriptor`; false without signed tokens.
    pub fn signature_valid(&self, token: &str, realm: &str, descriptor: Option<&str>) -> bool {
        let Some(key) = &self.signing else { return false };
        let Some((data, signature)) = token.split_once(':') else { return false };
        let mut fields = data.split(',');
        let (Some(expiry), Some(token_realm)) = (fields.next(), fields.next()) else { return false };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let expiry = leading_integer(expiry);
        if expiry < 0 || now > expiry || token_realm != realm {
            return false;
        }
        if descriptor.is_some_and(|d| !fields.any(|f| f == d)) {
            return false;
        }
        let expected = BASE64.encode(hmac::sign(key, data.as_bytes()).as_ref());
        secret_eq(&expected, signature)
    }

    /// Whether `api_secret` is set.
    pub fn has_api_secret(&self) -> bool {
        self.api_secret.is_some()
    }

    /// Whether stored-token authentication is on.
    pub fn token_auth(&self) -> bool {
        self.token_auth
    }

    /// Janus's rule: with neither a secret nor tokens anything goes; with one or both,
    /// a matching secret or a known token is enough.
    pub fn check(&self, creds: Credentials<'_>) -> ApiResult<()> {
        if self.api_secret.is_none() && !self.token_auth {
            return Ok(());
        }
        let secret_ok =
            matches!((&self.api_secret, creds.apisecret), (Some(s), Some(given)) if secret_eq(s, given));
        let token_ok = self.token_auth
            && creds.token.is_some_and(|t| match self.signing {
                Some(_) => self.signature_valid(t, "janus", None),
                None => lock(&self.tokens).contains_key(&digest(t)),
            });
        if secret_ok || token_ok {
            Ok(())
        } else {
            Err(ErrorCode::Unauthorized.into())
        }
    }

    /// Whether a token (when token auth is on and one was given) may use a plugin.
    pub fn check_plugin(&self, token: Option<&str>, package: &str) -> ApiResult<()> {
        let Some(token) = token.filter(|_| self.token_auth) else {
            return Ok(());
        };
        let allowed = match self.signing {
            Some(_) => self.signature_valid(token, "janus", Some(package)),
            None => lock(&self.tokens).get(&digest(token)).is_some_and(|t| t.plugins.contains(package)),
        };
        if allowed {
            Ok(())
        } else {
            Err(ApiError::new(
                ErrorCode::UnauthorizedPlugin,
                format!("Provided token can't access plugin '{package}'"),
            ))
        }
    }

    /// 490 unless stored-token authentication is on.
    pub fn require_stored(&self) -> ApiResult<()> {
        if self.token_auth && self.signing.is_none() {
            Ok(())
        } else {
            Err(ApiError::new(ErrorCode::Unknown, "Stored-Token based authentication disabled"))
        }
    }

    /// Admin `add_token`: stores a token allowed to use `plugins`.
    pub fn add_token(&self, token: &str, plugins: BTreeSet<String>) -> ApiResult<()> {
        self.require_stored()?;
        let mut tokens = lock(&self.tokens);
        let stored = tokens
            .entry(digest(token))
            .or_insert_with(|| StoredToken { token: token.to_owned(), ..Default::default() });
        stored.plugins.extend(plugins);
        Ok(())
    }

    /// Admin `allow_token` (`allow = true`) / `disallow_token`; returns the token's plugins.
    pub fn set_plugins(&self, token: &str, plugins: &[String], allow: bool) -> ApiResult<Vec<String>> {
        self.require_stored()?;
        let mut tokens = lock(&self.tokens);
        let entry = &mut tokens
            .get_mut(&digest(token))
            .ok_or_else(|| ApiError::new(ErrorCode::TokenNotFound, format!("Token {token} not found")))?
            .plugins;
        for p in plugins {
            if allow {
                entry.insert(p.clone());
            } else {
                entry.remove(p);
            }
        }
        Ok(entry.iter().cloned().collect())
    }

    /// Admin `remove_token`.
    pub fn remove_token(&self, token: &str) -> ApiResult<()> {
        self.require_stored()?;
        lock(&self.tokens)
            .remove(&digest(token))
            .map(|_| ())
            .ok_or_else(|| ApiError::new(ErrorCode::Unknown, "Error removing token"))
    }

    /// Admin `list_tokens`: every token with its plugins.
    pub fn list_tokens(&self) -> ApiResult<Vec<(String, Vec<String>)>> {
        self.require_stored()?;
        let mut list: Vec<(String, Vec<String>)> = lock(&self.tokens)
            .values()
            .map(|t| (t.token.clone(), t.plugins.iter().cloned().collect()))
            .collect();
        list.sort();
        Ok(list)
    }
}

/// The number a token's expiry starts with, as C's `strtoll` reads it (none: 0).
fn leading_integer(text: &str) -> i64 {
    let text = text.trim_start_matches(|c: char| c.is_ascii_whitespace());
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, text.strip_prefix('+').unwrap_or(text)),
    };
    let end = digits.find(|c: char| !c.is_ascii_digit()).unwrap_or(digits.len());
    // Too large: strtoll's LLONG_MAX or LLONG_MIN.
    let overflow = if sign < 0 { i64::MIN } else { i64::MAX };
    digits[..end].parse::<i64>().map_or(if end == 0 { 0 } else { overflow }, |n| sign * n)
}

/// Compares a secret with what a client sent in time that does not depend on where they
/// differ: both are hashed (so lengths do not show either) and the digests compared whole.
pub fn secret_eq(secret: &str, given: &str) -> bool {
    let (a, b) = (digest(secret), digest(given));
    a.iter().zip(b.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(secret: &str, data: &str) -> String {
        let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret.as_bytes());
        format!("{data}:{}", BASE64.encode(hmac::sign(&key, data.as_bytes()).as_ref()))
    }

    #[test]
    fn signed_tokens_are_checked_as_janus_checks_them() {
        let auth = Auth::new(None, true, Some("janus"));
        let later = "4102444800"; // 2100
        let token = sign("janus", &format!("{later},janus,janus.plugin.videoroom,janus.plugin.echotest"));
        assert!(auth.signature_valid(&token, "janus", None));
        assert!(auth.signature_valid(&token, "janus", Some("janus.plugin.echotest")));
        assert!(!auth.signature_valid(&token, "janus", Some("janus.plugin")), "whole descriptors only");
        assert!(!auth.signature_valid(&token, "janus.plugin.videoroom", None), "another realm");
        assert!(auth.check(Credentials { token: Some(&token), apisecret: None }).is_ok());
        assert!(auth.check_plugin(Some(&token), "janus.plugin.echotest").is_ok());
        assert_eq!(
            auth.check_plugin(Some(&token), "janus.plugin.textroom").unwrap_err().code,
            ErrorCode::UnauthorizedPlugin
        );
        let refused = [
            sign("janus", "1000,janus,janus.plugin.videoroom"),
            sign("other", &format!("{later},janus,janus.plugin.videoroom")),
            sign("janus", later),
            sign("janus", "-5,janus"),
            sign("janus", &format!("x{later},janus")),
            token.replace(",janus,", ",janus ,"),
            format!("{token}x"),
            token.replace(':', ""),
            String::new(),
        ];
        for bad in refused {
            assert!(!auth.signature_valid(&bad, "janus", None), "{bad}");
            assert!(auth.check(Credentials { token: Some(&bad), apisecret: None }).is_err(), "{bad}");
        }
        assert!(
            auth.signature_valid(&sign("janus", &format!("{later}abc,janus")), "janus", None),
            "as strtoll reads it"
        );
        let huge_negative = sign("janus", "-99999999999999999999,janus");
        assert!(!auth.signature_valid(&huge_negative, "janus", None), "strtoll's LLONG_MIN: expired");
        assert_eq!(
            auth.add_token("t", BTreeSet::new()).unwrap_err().code,
            ErrorCode::Unknown,
            "no stored tokens"
        );
        // Without token_auth the secret does nothing.
        assert!(!Auth::new(None, false, Some("janus")).signature_valid(&token, "janus", None));
    }
}
