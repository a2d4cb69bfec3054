//! `api_secret` and stored-token authentication (`token_auth`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

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
    /// Authentication with these settings and no stored tokens.
    pub fn new(api_secret: Option<String>, token_auth: bool) -> Self {
        Self { api_secret, token_auth, tokens: Mutex::new(BTreeMap::new()) }
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
        let token_ok =
            self.token_auth && creds.token.is_some_and(|t| lock(&self.tokens).contains_key(&digest(t)));
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
        let allowed = lock(&self.tokens).get(&digest(token)).is_some_and(|t| t.plugins.contains(package));
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
        if self.token_auth {
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

/// Compares a secret with what a client sent in time that does not depend on where they
/// differ: both are hashed (so lengths do not show either) and the digests compared whole.
pub fn secret_eq(secret: &str, given: &str) -> bool {
    let (a, b) = (digest(secret), digest(given));
    a.iter().zip(b.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
