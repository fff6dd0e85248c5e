//! Tokens and passwords: JWT issue/verify (the `jsonwebtoken` crate, HS256 pinned, `exp`
//! required) and Argon2id password hashing (the `argon2` crate, PHC strings, per-user salt).

use std::fmt;

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{AppError, AppResult};

/// Smallest accepted `JWT_SECRET`, in bytes (RFC 7518 §3.2: a key at least as long as the
/// HS256 hash output).
pub const MIN_SECRET_BYTES: usize = 32;
/// Allowed clock skew when checking `exp`, in seconds.
pub const LEEWAY_SECS: u64 = 30;

/// A member's role in a project, strongest first. Visitors are `Guest`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    /// Created the project; can do everything.
    Owner,
    /// Manages the project.
    Admin,
    /// Works contacts and requests.
    Agent,
    /// A visitor (anonymous or identified): sees only its own Lead and Requests.
    Guest,
}

impl Role {
    /// The stored and serialised name (`OWNER`, `ADMIN`, `AGENT`, `GUEST`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "OWNER",
            Self::Admin => "ADMIN",
            Self::Agent => "AGENT",
            Self::Guest => "GUEST",
        }
    }

    /// Parses a stored role name. Errors: `INTERNAL` (stored data is ours).
    pub fn parse(value: &str) -> AppResult<Self> {
        match value {
            "OWNER" => Ok(Self::Owner),
            "ADMIN" => Ok(Self::Admin),
            "AGENT" => Ok(Self::Agent),
            "GUEST" => Ok(Self::Guest),
            other => Err(AppError::internal(format!("unknown stored role {other:?}"))),
        }
    }

    /// Whether this role works the dashboard (OWNER, ADMIN or AGENT).
    pub fn is_agent(self) -> bool {
        !matches!(self, Self::Guest)
    }
}

/// The claims of our tokens.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: Uuid,
    /// The project the token is scoped to.
    pub pid: Uuid,
    /// The user's role in that project.
    pub role: Role,
    /// Issued at (seconds since the Unix epoch).
    pub iat: i64,
    /// Expiry (seconds since the Unix epoch).
    pub exp: i64,
}

/// The verified caller of a request: who, in which project, with which role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The user id.
    pub user_id: Uuid,
    /// The tenant scope of everything the caller does.
    pub project_id: Uuid,
    /// The role in that project.
    pub role: Role,
}

/// What the `Authorization` header said.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthState {
    /// No `Authorization` header.
    Anonymous,
    /// A header whose token is expired, forged or malformed: `UNAUTHENTICATED` wherever a
    /// caller is needed.
    Invalid,
    /// A verified token.
    Authenticated(Caller),
}

/// A token issued to a client.
#[derive(Clone, Debug)]
pub struct IssuedToken {
    /// The compact JWT.
    pub token: String,
    /// Its expiry.
    pub expires_at: DateTime<Utc>,
}

/// The HS256 keys; the secret is never printed.
#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JwtKeys(..)")
    }
}

impl JwtKeys {
    /// Keys from a secret of any length (length policy is the caller's, see
    /// [`MIN_SECRET_BYTES`]).
    pub fn new(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECS;
        validation.validate_exp = true;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    /// A random 48-byte secret for development runs without `JWT_SECRET`.
    pub fn random_secret() -> Vec<u8> {
        use rand::RngCore;
        let mut bytes = vec![0u8; 48];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        bytes
    }

    /// Issues a token for `caller`, valid for `ttl_secs` seconds. Errors: `INTERNAL`.
    pub fn issue(&self, caller: Caller, ttl_secs: u64) -> AppResult<IssuedToken> {
        let now = Utc::now();
        let ttl = i64::try_from(ttl_secs).unwrap_or(i64::MAX / 2);
        let exp = now.timestamp().saturating_add(ttl);
        let claims = Claims {
            sub: caller.user_id,
            pid: caller.project_id,
            role: caller.role,
            iat: now.timestamp(),
            exp,
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(AppError::internal)?;
        let expires_at = DateTime::from_timestamp(exp, 0).unwrap_or(now);
        Ok(IssuedToken { token, expires_at })
    }

    /// Verifies a compact JWT: HS256 only, signature, `exp` (with [`LEEWAY_SECS`]).
    /// Errors: `UNAUTHENTICATED` for anything expired, forged or malformed.
    pub fn verify(&self, token: &str) -> AppResult<Caller> {
        self.verify_until(token).map(|(caller, _)| caller)
    }

    /// As [`Self::verify`], with the token's expiry (`exp`, UTC). Errors: `UNAUTHENTICATED`.
    pub fn verify_until(&self, token: &str) -> AppResult<(Caller, DateTime<Utc>)> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| AppError::Unauthenticated("invalid or expired token"))?;
        let expires_at = DateTime::from_timestamp(data.claims.exp, 0)
            .ok_or(AppError::Unauthenticated("invalid or expired token"))?;
        let caller = Caller {
            user_id: data.claims.sub,
            project_id: data.claims.pid,
            role: data.claims.role,
        };
        Ok((caller, expires_at))
    }

    /// A `Bearer <token>` value (scheme case-insensitive, RFC 7235 §2.1) verified, with its
    /// expiry; `None` for anything else.
    pub fn bearer_until(&self, value: &str) -> Option<(Caller, DateTime<Utc>)> {
        let mut parts = value.trim().splitn(2, ' ');
        let scheme = parts.next().unwrap_or_default();
        let token = parts.next().unwrap_or_default().trim();
        if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
            return None;
        }
        self.verify_until(token).ok()
    }

    /// Reads an `Authorization` header value (`Bearer <token>`, scheme case-insensitive per
    /// RFC 7235 §2.1) into an [`AuthState`].
    pub fn authenticate(&self, header: Option<&str>) -> AuthState {
        let Some(value) = header else {
            return AuthState::Anonymous;
        };
        match self.bearer_until(value) {
            Some((caller, _)) => AuthState::Authenticated(caller),
            None => AuthState::Invalid,
        }
    }
}

/// The claims of an integrating site's token for an identified visitor (`signInWithCustomToken`,
/// `identifyVisitor`): the site's id for the person and, optionally, what it knows of them.
#[derive(Clone, Debug, Deserialize)]
pub struct SiteClaims {
    /// The site's stable id for the person (required, 1..=200 characters).
    pub external_id: String,
    /// Their email, if the site knows it.
    pub email: Option<String>,
    /// Their full name, if the site knows it.
    pub fullname: Option<String>,
    /// Expiry (seconds since the epoch; required).
    pub exp: i64,
}

/// Verifies a site token: HS256 with the project's site secret, `exp` required and checked
/// (with [`LEEWAY_SECS`]), `external_id` required. Other algorithms (including `none`) are
/// refused. Errors: `UNAUTHENTICATED` for anything expired, forged or malformed.
pub fn verify_site_token(secret: &[u8], token: &str) -> AppResult<SiteClaims> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = LEEWAY_SECS;
    validation.validate_exp = true;
    validation.set_required_spec_claims(&["exp"]);
    let data = jsonwebtoken::decode::<SiteClaims>(
        token.trim(),
        &DecodingKey::from_secret(secret),
        &validation,
    )
    .map_err(|_| AppError::Unauthenticated("invalid or expired site token"))?;
    Ok(data.claims)
}

/// Hashes a password with Argon2id (default parameters of the `argon2` crate: 19 MiB, 2
/// passes) and a fresh random salt; returns the PHC string. CPU-heavy: call from
/// `spawn_blocking`. Errors: `INTERNAL`.
pub fn hash_password(password: &str) -> AppResult<String> {
    use argon2::password_hash::{PasswordHasher, SaltString, rand_core::OsRng};
    let salt = SaltString::generate(&mut OsRng);
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(AppError::internal)
}

/// Checks `password` against a PHC string (constant-time comparison inside `argon2`).
/// A malformed stored hash counts as a mismatch. CPU-heavy: call from `spawn_blocking`.
pub fn verify_password(password: &str, phc: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(phc).is_ok_and(|parsed| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}
