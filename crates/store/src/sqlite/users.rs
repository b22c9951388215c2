//! Users and their sessions.

use shoebox_core::{ApiToken, Role, Session, SessionInfo, User};
use sqlx::SqlitePool;
use time::OffsetDateTime;

use super::codec::{now, timestamp};
use crate::error::QueryContext;
use crate::{Error, Result};

#[derive(sqlx::FromRow)]
struct UserRow {
    id: i64,
    name: String,
    role: String,
}

impl UserRow {
    fn into_user(self) -> Result<User> {
        let role = Role::parse(&self.role)
            .ok_or_else(|| Error::Corrupt(format!("role {:?}", self.role)))?;
        Ok(User {
            id: self.id,
            name: self.name,
            role,
        })
    }
}

pub(crate) async fn create_first_admin(
    pool: &SqlitePool,
    name: &str,
    password_hash: &str,
) -> Result<Option<User>> {
    let row: Option<UserRow> = sqlx::query_as(
        "INSERT INTO users (name, password_hash, role, created_at)
         SELECT ?, ?, 'admin', ? WHERE NOT EXISTS (SELECT 1 FROM users)
         RETURNING id, name, role",
    )
    .bind(name)
    .bind(password_hash)
    .bind(now())
    .fetch_optional(pool)
    .await
    .context("creating the first user")?;
    row.map(UserRow::into_user).transpose()
}

pub(crate) async fn count(pool: &SqlitePool) -> Result<u64> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(pool)
        .await
        .context("counting users")?;
    Ok(u64::try_from(n).unwrap_or(0))
}

pub(crate) async fn by_name(pool: &SqlitePool, name: &str) -> Result<Option<(User, String)>> {
    let row: Option<(i64, String, String, String)> =
        sqlx::query_as("SELECT id, name, role, password_hash FROM users WHERE name = ?")
            .bind(name)
            .fetch_optional(pool)
            .await
            .context("finding a user")?;
    row.map(|(id, name, role, hash)| Ok((UserRow { id, name, role }.into_user()?, hash)))
        .transpose()
}

pub(crate) async fn create_session(
    pool: &SqlitePool,
    token_hash: [u8; 32],
    user: i64,
    csrf: &str,
    expires_at: OffsetDateTime,
) -> Result<()> {
    // Expired sessions go as new ones come.
    sqlx::query("DELETE FROM sessions WHERE expires_at <= ?")
        .bind(now())
        .execute(pool)
        .await
        .context("clearing expired sessions")?;
    sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, csrf, created_at, expires_at)
         VALUES (?, ?, ?, ?, ?)",
    )
    .bind(token_hash.to_vec())
    .bind(user)
    .bind(csrf)
    .bind(now())
    .bind(timestamp(expires_at))
    .execute(pool)
    .await
    .context("starting a session")?;
    Ok(())
}

pub(crate) async fn session(pool: &SqlitePool, token_hash: [u8; 32]) -> Result<Option<Session>> {
    let row: Option<(i64, String, String, String, String)> = sqlx::query_as(
        "SELECT u.id, u.name, u.role, s.csrf, s.expires_at FROM sessions s
         JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?",
    )
    .bind(token_hash.to_vec())
    .fetch_optional(pool)
    .await
    .context("finding a session")?;
    let Some((id, name, role, csrf, expires_at)) = row else {
        return Ok(None);
    };
    if super::codec::parse_timestamp(&expires_at)? <= OffsetDateTime::now_utc() {
        return Ok(None);
    }
    Ok(Some(Session {
        user: UserRow { id, name, role }.into_user()?,
        csrf,
    }))
}

pub(crate) async fn delete_session(pool: &SqlitePool, token_hash: [u8; 32]) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = ?")
        .bind(token_hash.to_vec())
        .execute(pool)
        .await
        .context("ending a session")?;
    Ok(())
}

pub(crate) async fn sessions(pool: &SqlitePool, user: i64) -> Result<Vec<SessionInfo>> {
    let rows: Vec<(Vec<u8>, String, String)> = sqlx::query_as(
        "SELECT token_hash, created_at, expires_at FROM sessions
         WHERE user_id = ? AND expires_at > ? ORDER BY created_at DESC",
    )
    .bind(user)
    .bind(now())
    .fetch_all(pool)
    .await
    .context("listing sessions")?;
    Ok(rows
        .into_iter()
        .map(|(hash, created_at, expires_at)| SessionInfo {
            id: shoebox_core::hex(&hash),
            created_at,
            expires_at,
        })
        .collect())
}

/// Ends `user`'s session `only`, or all of them; how many ended.
pub(crate) async fn delete_user_sessions(
    pool: &SqlitePool,
    user: i64,
    only: Option<[u8; 32]>,
) -> Result<u64> {
    let ended =
        sqlx::query("DELETE FROM sessions WHERE user_id = ?1 AND (?2 IS NULL OR token_hash = ?2)")
            .bind(user)
            .bind(only.map(|h| h.to_vec()))
            .execute(pool)
            .await
            .context("ending sessions")?
            .rows_affected();
    Ok(ended)
}

pub(crate) async fn all(pool: &SqlitePool) -> Result<Vec<User>> {
    let rows: Vec<UserRow> = sqlx::query_as("SELECT id, name, role FROM users ORDER BY id")
        .fetch_all(pool)
        .await
        .context("listing users")?;
    rows.into_iter().map(UserRow::into_user).collect()
}

pub(crate) async fn create(
    pool: &SqlitePool,
    name: &str,
    password_hash: &str,
    role: Role,
) -> shoebox_core::Result<User> {
    let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE name = ?")
        .bind(name)
        .fetch_optional(pool)
        .await
        .context("finding a user")?;
    if taken.is_some() {
        return Err(shoebox_core::Error::Conflict(format!(
            "the name {name:?} is taken"
        )));
    }
    let row: UserRow = sqlx::query_as(
        "INSERT INTO users (name, password_hash, role, created_at) VALUES (?, ?, ?, ?)
         RETURNING id, name, role",
    )
    .bind(name)
    .bind(password_hash)
    .bind(role.as_str())
    .bind(now())
    .fetch_one(pool)
    .await
    .context("creating a user")?;
    Ok(row.into_user()?)
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: i64,
    name: String,
    created_at: String,
}

impl From<TokenRow> for ApiToken {
    fn from(r: TokenRow) -> Self {
        Self {
            id: r.id,
            name: r.name,
            created_at: r.created_at,
        }
    }
}

pub(crate) async fn create_token(
    pool: &SqlitePool,
    user: i64,
    name: &str,
    token_hash: [u8; 32],
) -> Result<ApiToken> {
    let row: TokenRow = sqlx::query_as(
        "INSERT INTO api_tokens (user_id, name, token_hash, created_at) VALUES (?, ?, ?, ?)
         RETURNING id, name, created_at",
    )
    .bind(user)
    .bind(name)
    .bind(token_hash.to_vec())
    .bind(now())
    .fetch_one(pool)
    .await
    .context("creating an API token")?;
    Ok(row.into())
}

pub(crate) async fn token_user(pool: &SqlitePool, token_hash: [u8; 32]) -> Result<Option<User>> {
    let row: Option<UserRow> = sqlx::query_as(
        "SELECT u.id, u.name, u.role FROM api_tokens t JOIN users u ON u.id = t.user_id
         WHERE t.token_hash = ?",
    )
    .bind(token_hash.to_vec())
    .fetch_optional(pool)
    .await
    .context("finding an API token")?;
    row.map(UserRow::into_user).transpose()
}

pub(crate) async fn tokens(pool: &SqlitePool, user: i64) -> Result<Vec<ApiToken>> {
    let rows: Vec<TokenRow> =
        sqlx::query_as("SELECT id, name, created_at FROM api_tokens WHERE user_id = ? ORDER BY id")
            .bind(user)
            .fetch_all(pool)
            .await
            .context("listing API tokens")?;
    Ok(rows.into_iter().map(Into::into).collect())
}

pub(crate) async fn delete_token(pool: &SqlitePool, user: i64, id: i64) -> Result<bool> {
    let deleted = sqlx::query("DELETE FROM api_tokens WHERE user_id = ? AND id = ?")
        .bind(user)
        .bind(id)
        .execute(pool)
        .await
        .context("revoking an API token")?
        .rows_affected();
    Ok(deleted > 0)
}
