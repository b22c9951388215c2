//! People who use Shoebox through the web UI and the API, and their sessions.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything, including the library's roots, models and users.
    Admin,
    /// Search, browse, tag, ask.
    Member,
}

impl Role {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Member => "member",
        }
    }

    /// The role a stored name stands for.
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Admin, Self::Member]
            .into_iter()
            .find(|r| r.as_str() == name)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    /// The store's id.
    pub id: i64,
    /// The login name, unique.
    pub name: String,
    /// What they may do.
    pub role: Role,
}

/// A signed-in session: whose it is, and the token unsafe requests must repeat (CSRF).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The user signed in.
    pub user: User,
    /// The session's anti-forgery token.
    pub csrf: String,
}

/// A session as its owner sees it listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionInfo {
    /// The session's id: the hex SHA-256 of its token (which lets no one in).
    pub id: String,
    /// When it began (RFC 3339).
    pub created_at: String,
    /// When it ends (RFC 3339).
    pub expires_at: String,
}

/// An API token as listed (the token itself is shown once, when made).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiToken {
    /// The store's id.
    pub id: i64,
    /// What it is for, as its owner named it.
    pub name: String,
    /// When it was made (RFC 3339).
    pub created_at: String,
}
