//! Users and their sessions.

use shoebox_core::{Role, Session, User};
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
