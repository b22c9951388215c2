//! Accounts: the first admin, users, signing in (throttled per name), sessions and API tokens —
//! the rules both the HTTP API and the web UI sign people in by. Passwords are kept as argon2id
//! hashes (PHC strings); session and API tokens are random and kept as their SHA-256, so the
//! database alone lets no one in.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use sha2::{Digest, Sha256};
use shoebox_core::{ApiToken, MetadataStore, Role, Session, User};
use time::OffsetDateTime;

use crate::input::one_line;
use crate::{Engine, Error, Result};

/// How long a session lasts, in days.
const SESSION_DAYS: i64 = 30;
/// The session cookie's name.
pub const SESSION_COOKIE: &str = "shoebox_session";
/// Longest login or token name, in bytes.
const MAX_NAME: usize = 64;
/// Password length limits, in bytes (argon2 hashes any length; this bounds the work).
const PASSWORD_BYTES: std::ops::RangeInclusive<usize> = 10..=1024;

/// A session just started: its token goes in the cookie, its CSRF token in unsafe requests.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// Who signed in.
    pub user: User,
    /// The session token (the store keeps only its SHA-256).
    pub token: String,
    /// The anti-forgery token unsafe requests repeat.
    pub csrf: String,
}

/// The `Set-Cookie` value that starts a session (HttpOnly, SameSite=Strict; Secure when the
/// request came over TLS), or that ends one (`token` empty).
pub fn session_cookie(token: &str, secure: bool) -> String {
    let age = if token.is_empty() {
        0
    } else {
        SESSION_DAYS * 24 * 3600
    };
    format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={age}{}",
        if secure { "; Secure" } else { "" }
    )
}

/// The session token among `Cookie` header values.
pub fn session_token<'a>(cookies: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    cookies
        .into_iter()
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value)
}

/// What the store keeps of a token: its SHA-256.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// A new random token: 32 bytes, hex.
fn new_token() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| crate::Error::Random(e.to_string()))?;
    Ok(shoebox_core::hex(&bytes))
}

/// An argon2id hash of `password` (PHC string, random salt).
fn hash_password(password: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| Error::Random(e.to_string()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| Error::Random(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| Error::Random(e.to_string()))
}

/// Whether `password` matches the stored `hash`.
fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// A hash no password matches, checked for unknown names.
fn decoy_hash() -> Result<&'static str> {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    if let Some(hash) = DECOY.get() {
        return Ok(hash);
    }
    let hash = hash_password(&new_token()?)?;
    Ok(DECOY.get_or_init(|| hash))
}

fn invalid(why: String) -> Error {
    Error::Library(shoebox_core::Error::Invalid(why))
}

/// A name for a user or token: trimmed, 1 to 64 bytes, one line.
pub fn account_name(raw: &str) -> Result<&str> {
    one_line(raw, MAX_NAME, "a name")
}

/// A new user's name (trimmed) and the hash of their password, once both are acceptable.
fn checked<'a>(name: &'a str, password: &str) -> Result<(&'a str, String)> {
    let name = account_name(name)?;
    if !PASSWORD_BYTES.contains(&password.len()) {
        return Err(invalid(format!(
            "a password is {} to {} bytes",
            PASSWORD_BYTES.start(),
            PASSWORD_BYTES.end()
        )));
    }
    Ok((name, hash_password(password)?))
}

impl Engine {
    /// First run: makes `name` the admin; `None` when there is one already.
    pub async fn set_up(&self, name: &str, password: &str) -> Result<Option<User>> {
        let (name, hash) = checked(name, password)?;
        Ok(self.store().create_first_admin(name, &hash).await?)
    }

    /// Adds a user (a taken name is a conflict).
    pub async fn add_user(&self, name: &str, password: &str, role: Role) -> Result<User> {
        let (name, hash) = checked(name, password)?;
        Ok(self.store().create_user(name, &hash, role).await?)
    }

    /// Signs `name` in: a new session, unless the password is wrong ([`Error::BadCredentials`])
    /// or the name has failed too often lately ([`Error::Throttled`]). An unknown name costs a
    /// password check too, so timing does not tell names apart.
    pub async fn sign_in(&self, name: &str, password: &str) -> Result<NewSession> {
        if !self.throttle.allows(name) {
            return Err(Error::Throttled);
        }
        if password.len() > *PASSWORD_BYTES.end() {
            return Err(invalid("password too long".to_owned()));
        }
        let found = self.store().user_by_name(name).await?;
        let verified = match &found {
            Some((_, hash)) => verify_password(password, hash),
            None => {
                verify_password(password, decoy_hash()?);
                false
            }
        };
        let Some((user, _)) = found.filter(|_| verified) else {
            self.throttle.failed(name);
            return Err(Error::BadCredentials);
        };
        self.throttle.succeeded(name);
        let (token, csrf) = (new_token()?, new_token()?);
        let expires = OffsetDateTime::now_utc() + time::Duration::days(SESSION_DAYS);
        self.store()
            .create_session(token_hash(&token), user.id, &csrf, expires)
            .await?;
        Ok(NewSession { user, token, csrf })
    }

    /// The live session whose token is `token`.
    pub async fn session(&self, token: &str) -> Result<Option<Session>> {
        Ok(self.store().session(token_hash(token)).await?)
    }

    /// Ends the session whose token hashes to `token_hash`.
    pub async fn sign_out(&self, token_hash: [u8; 32]) -> Result<()> {
        Ok(self.store().delete_session(token_hash).await?)
    }

    /// The owner of the API token `token`.
    pub async fn token_user(&self, token: &str) -> Result<Option<User>> {
        Ok(self.store().api_token_user(token_hash(token)).await?)
    }

    /// Makes an API token named `name` for `user`: the listed token and its secret (shown
    /// once).
    pub async fn new_api_token(&self, user: i64, name: &str) -> Result<(ApiToken, String)> {
        let name = account_name(name)?;
        let secret = new_token()?;
        let token = self
            .store()
            .create_api_token(user, name, token_hash(&secret))
            .await?;
        Ok((token, secret))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_against_their_hash_only() -> Result<()> {
        let hash = hash_password("correct horse battery")?;
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse batterY", &hash));
        assert!(!verify_password("correct horse battery", "not a hash"));
        assert_ne!(hash, hash_password("correct horse battery")?, "salted");
        Ok(())
    }

    #[test]
    fn tokens_are_random_and_stored_hashed() -> Result<()> {
        let (a, b) = (new_token()?, new_token()?);
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_ne!(token_hash(&a), token_hash(&b));
        Ok(())
    }
}
