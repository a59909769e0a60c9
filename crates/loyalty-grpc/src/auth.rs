//! Authentication and roles: one tower layer that turns the bearer credential into a
//! [`Principal`] in the request's extensions, and the checks handlers make with it.
//!
//! Credentials: an API key issued by `loyalty issue-key` (looked up by its SHA-256 in the
//! database every replica shares; each replica remembers an answer for [`KEY_CACHE_TTL`], so a
//! key revoked through any replica stops working on all of them within that time), or an HS256 JWT
//! signed with the server's configured secret whose claims are `sub`, `role`
//! (`operator`/`admin`/`service`/`member`), `tenant_id`, `member_id` and `exp`.
//! Health checks and reflection need no credential.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use loyalty_store::{Principal, Role, Store};
use serde::Deserialize;
use tonic::Request;

use crate::error::{ApiError, ApiResult};

/// How long a replica trusts what it last read about an API key (valid, revoked or unknown)
/// before reading the key's row again: the bound on how long a revoked key keeps working.
/// Short enough for revocation to feel immediate, long enough that a busy key costs one
/// indexed read per replica every half second instead of one per call.
pub const KEY_CACHE_TTL: Duration = Duration::from_millis(500);

/// Checks credentials.
pub struct Authenticator {
    store: Store,
    jwt: Option<DecodingKey>,
    cache: Mutex<HashMap<String, (Option<Principal>, Instant)>>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("jwt", &self.jwt.is_some())
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Deserialize)]
struct Claims {
    sub: String,
    role: String,
    tenant_id: Option<String>,
    member_id: Option<String>,
}

impl Authenticator {
    /// Keys are checked against `store`; JWTs against `jwt_secret` when one is configured.
    pub fn new(store: Store, jwt_secret: Option<&str>) -> Authenticator {
        Authenticator {
            store,
            jwt: jwt_secret.map(|s| DecodingKey::from_secret(s.as_bytes())),
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The principal behind an `authorization` header value.
    pub async fn authenticate(&self, header: Option<&str>) -> ApiResult<Principal> {
        let token = header
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ApiError::Unauthenticated(
                    "missing credential: send \"authorization: Bearer <api key or JWT>\"".into(),
                )
            })?;
        if token.starts_with("lk_") {
            return self.api_key(token).await;
        }
        self.jwt(token)
    }

    async fn api_key(&self, key: &str) -> ApiResult<Principal> {
        let cached = {
            let cache = self
                .cache
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            cache
                .get(key)
                .filter(|(_, at)| at.elapsed() < KEY_CACHE_TTL)
                .map(|(p, _)| p.clone())
        };
        let principal = match cached {
            Some(p) => p,
            None => {
                let store = self.store.clone();
                let owned = key.to_owned();
                let found = tokio::task::spawn_blocking(move || store.authenticate(&owned))
                    .await
                    .map_err(|e| ApiError::Task(e.to_string()))??;
                let mut cache = self
                    .cache
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                if cache.len() > 10_000 {
                    cache.clear();
                }
                cache.insert(key.to_owned(), (found.clone(), Instant::now()));
                found
            }
        };
        principal.ok_or_else(|| ApiError::Unauthenticated("unknown or revoked API key".into()))
    }

    fn jwt(&self, token: &str) -> ApiResult<Principal> {
        let key = self.jwt.as_ref().ok_or_else(|| {
            ApiError::Unauthenticated(
                "not an API key, and JWTs are not enabled on this server".into(),
            )
        })?;
        let data = jsonwebtoken::decode::<Claims>(token, key, &Validation::new(Algorithm::HS256))
            .map_err(|e| ApiError::Unauthenticated(format!("invalid JWT: {e}")))?;
        let c = data.claims;
        let role = Role::parse(&c.role).ok_or_else(|| {
            ApiError::Unauthenticated(format!("invalid JWT: unknown role {:?}", c.role))
        })?;
        let shape_ok = match role {
            Role::Operator => c.tenant_id.is_none() && c.member_id.is_none(),
            Role::Member => c.tenant_id.is_some() && c.member_id.is_some(),
            Role::Admin | Role::Service => c.tenant_id.is_some() && c.member_id.is_none(),
        };
        if !shape_ok {
            return Err(ApiError::Unauthenticated(format!(
                "invalid JWT: claims do not fit the {} role",
                role.as_str()
            )));
        }
        Ok(Principal {
            key_id: format!("jwt:{}", c.sub),
            role,
            tenant_id: c.tenant_id,
            member_id: c.member_id,
        })
    }
}

/// Whether a path is served without a credential (health checking and reflection).
fn is_public(path: &str) -> bool {
    path.starts_with("/grpc.health.v1.Health/") || path.starts_with("/grpc.reflection.")
}

/// The tower layer that authenticates every call.
#[derive(Debug, Clone)]
pub struct AuthLayer(Arc<Authenticator>);

impl AuthLayer {
    /// A layer using `authenticator`.
    pub fn new(authenticator: Authenticator) -> AuthLayer {
        AuthLayer(Arc::new(authenticator))
    }
}

impl<S> tower::Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> AuthService<S> {
        AuthService {
            inner,
            auth: self.0.clone(),
        }
    }
}

/// The service [`AuthLayer`] wraps around the gRPC router.
#[derive(Debug, Clone)]
pub struct AuthService<S> {
    inner: S,
    auth: Arc<Authenticator>,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, B> tower::Service<http::Request<B>> for AuthService<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<tonic::body::Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<B>) -> Self::Future {
        // The clone that was polled ready is the one to call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let auth = self.auth.clone();
        Box::pin(async move {
            if is_public(req.uri().path()) {
                return inner.call(req).await;
            }
            let header = req
                .headers()
                .get(http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok());
            match auth.authenticate(header).await {
                Ok(principal) => {
                    req.extensions_mut().insert(principal.clone());
                    let mut res = inner.call(req).await?;
                    // For the observe layer outside this one (tenant and role in the RPC span).
                    res.extensions_mut().insert(principal);
                    Ok(res)
                }
                Err(err) => Ok(tonic::Status::from(err).into_http()),
            }
        })
    }
}

/// The caller of a request (put there by [`AuthLayer`]).
pub fn caller<T>(req: &Request<T>) -> ApiResult<Principal> {
    req.extensions()
        .get::<Principal>()
        .cloned()
        .ok_or_else(|| ApiError::Unauthenticated("missing credential".into()))
}

/// The caller's tenant, when the caller has one of `roles`.
pub fn tenant_of(caller: &Principal, roles: &[Role]) -> ApiResult<String> {
    if !roles.contains(&caller.role) {
        let allowed: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
        return Err(ApiError::PermissionDenied(format!(
            "the {} role may not do this (allowed: {})",
            caller.role.as_str(),
            allowed.join(", ")
        )));
    }
    caller
        .tenant_id
        .clone()
        .ok_or_else(|| ApiError::PermissionDenied("this call needs a tenant's credential".into()))
}

/// The caller's tenant for a call about `member_id`: admins and services of the tenant may act
/// on any member (the store then checks the member is the tenant's); a member credential only
/// on itself.
pub fn tenant_for_member(caller: &Principal, member_id: &str, roles: &[Role]) -> ApiResult<String> {
    let tenant = tenant_of(caller, roles)?;
    if caller.role == Role::Member && caller.member_id.as_deref() != Some(member_id) {
        return Err(ApiError::PermissionDenied(
            "a member credential may only act on its own member".into(),
        ));
    }
    Ok(tenant)
}

/// Requires the operator role.
pub fn require_operator(caller: &Principal) -> ApiResult<()> {
    if caller.role == Role::Operator {
        Ok(())
    } else {
        Err(ApiError::PermissionDenied(
            "only an operator credential may do this".into(),
        ))
    }
}
