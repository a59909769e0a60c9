//! Authentication and roles: one tower layer that turns the bearer credential into a
//! [`Principal`] in the request's extensions, and the checks handlers make with it.
//!
//! Credentials: an API key issued by `loyalty issue-key` (looked up by its SHA-256 in the
//! database every replica shares; each replica remembers an answer for [`KEY_CACHE_TTL`], so a
//! key revoked through any replica stops working on all of them within that time), or a JWT
//! (see [`JwtKeys`]): HS256 with the server's shared secret, or RS256/ES256 checked with public
//! keys (PEM files or a JWKS file), whose claims are `sub`, `role`
//! (`operator`/`admin`/`service`/`member`), `tenant_id`, `member_id` and `exp`, and `iss`/`aud`
//! when the server is configured to require them.
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

/// A key a JWT's signature is checked with.
#[derive(Clone)]
struct JwtKey {
    /// The `kid` a token names to pick this key (JWKS keys); `None` matches any token.
    kid: Option<String>,
    algorithm: Algorithm,
    key: DecodingKey,
}

/// The keys JWTs are checked with, and the claims they must carry.
///
/// - HS256 with a shared secret (`--jwt-secret`);
/// - RS256 or ES256 (P-256) with public keys: PEM files (`--jwt-public-key`, an RSA or EC
///   `PUBLIC KEY`) or the keys of a JWKS file (`--jwt-jwks`, as an identity provider publishes
///   them; a token's `kid` header picks its key).
///
/// A token signed with any other algorithm is refused, whatever its header says.
#[derive(Clone, Default)]
pub struct JwtKeys {
    keys: Vec<JwtKey>,
    issuer: Option<String>,
    audience: Option<String>,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let algorithms: Vec<Algorithm> = self.keys.iter().map(|k| k.algorithm).collect();
        f.debug_struct("JwtKeys")
            .field("algorithms", &algorithms)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish()
    }
}

impl JwtKeys {
    /// No keys: JWTs are refused.
    pub fn new() -> JwtKeys {
        JwtKeys::default()
    }

    /// Whether any key is configured.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Accepts HS256 tokens signed with `secret`.
    pub fn with_secret(mut self, secret: &str) -> JwtKeys {
        self.keys.push(JwtKey {
            kid: None,
            algorithm: Algorithm::HS256,
            key: DecodingKey::from_secret(secret.as_bytes()),
        });
        self
    }

    /// Accepts RS256 (an RSA public key) or ES256 (a P-256 public key) tokens checked with the
    /// PEM-encoded `pem`.
    pub fn with_public_key_pem(mut self, pem: &[u8]) -> Result<JwtKeys, String> {
        let key = if let Ok(key) = DecodingKey::from_rsa_pem(pem) {
            JwtKey {
                kid: None,
                algorithm: Algorithm::RS256,
                key,
            }
        } else if let Ok(key) = DecodingKey::from_ec_pem(pem) {
            JwtKey {
                kid: None,
                algorithm: Algorithm::ES256,
                key,
            }
        } else {
            return Err(
                "not a PEM-encoded RSA or EC (P-256) public key (-----BEGIN PUBLIC KEY-----)"
                    .into(),
            );
        };
        self.keys.push(key);
        Ok(self)
    }

    /// Accepts tokens signed by the RS256 and ES256 keys of a JWKS document (`{"keys": [...]}`);
    /// a token's `kid` picks its key.
    pub fn with_jwks(mut self, json: &str) -> Result<JwtKeys, String> {
        use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet};
        let set: JwkSet =
            serde_json::from_str(json).map_err(|e| format!("not a JWKS document: {e}"))?;
        let before = self.keys.len();
        for jwk in &set.keys {
            let algorithm = match &jwk.algorithm {
                AlgorithmParameters::RSA(_) => Algorithm::RS256,
                AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => {
                    Algorithm::ES256
                }
                // Other key types (symmetric, other curves) are not accepted from a JWKS.
                _ => continue,
            };
            let key = DecodingKey::from_jwk(jwk)
                .map_err(|e| format!("key {:?}: {e}", jwk.common.key_id))?;
            self.keys.push(JwtKey {
                kid: jwk.common.key_id.clone(),
                algorithm,
                key,
            });
        }
        if self.keys.len() == before {
            return Err("the JWKS document has no RSA or P-256 key".into());
        }
        Ok(self)
    }

    /// Requires the `iss` claim to be `issuer`.
    pub fn require_issuer(mut self, issuer: &str) -> JwtKeys {
        self.issuer = Some(issuer.to_owned());
        self
    }

    /// Requires the `aud` claim to contain `audience`.
    pub fn require_audience(mut self, audience: &str) -> JwtKeys {
        self.audience = Some(audience.to_owned());
        self
    }

    /// The claims of `token` when one of the keys checks its signature.
    fn decode(&self, token: &str) -> ApiResult<Claims> {
        if self.keys.is_empty() {
            return Err(ApiError::Unauthenticated(
                "not an API key, and JWTs are not enabled on this server".into(),
            ));
        }
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| ApiError::Unauthenticated(format!("invalid JWT: {e}")))?;
        let mut candidates = self
            .keys
            .iter()
            .filter(|k| k.algorithm == header.alg)
            .filter(|k| match (&k.kid, &header.kid) {
                (Some(key_id), Some(token_id)) => key_id == token_id,
                (Some(_), None) => true,
                (None, _) => true,
            })
            .peekable();
        if candidates.peek().is_none() {
            return Err(ApiError::Unauthenticated(format!(
                "invalid JWT: no key of this server checks {:?} tokens{}",
                header.alg,
                header
                    .kid
                    .as_deref()
                    .map(|kid| format!(" with kid {kid:?}"))
                    .unwrap_or_default()
            )));
        }
        let mut validation = Validation::new(header.alg);
        match &self.audience {
            Some(audience) => validation.set_audience(&[audience]),
            None => validation.validate_aud = false,
        }
        if let Some(issuer) = &self.issuer {
            validation.set_issuer(&[issuer]);
        }
        // A configured claim must be present, not only right when present.
        let mut required = vec!["exp"];
        required.extend(self.issuer.as_ref().map(|_| "iss"));
        required.extend(self.audience.as_ref().map(|_| "aud"));
        validation.set_required_spec_claims(&required);
        let mut last = None;
        for key in candidates {
            match jsonwebtoken::decode::<Claims>(token, &key.key, &validation) {
                Ok(data) => return Ok(data.claims),
                Err(e) => last = Some(e),
            }
        }
        Err(ApiError::Unauthenticated(format!(
            "invalid JWT: {}",
            last.map(|e| e.to_string()).unwrap_or_default()
        )))
    }
}

/// Checks credentials.
pub struct Authenticator {
    store: Store,
    jwt: JwtKeys,
    cache: Mutex<HashMap<String, (Option<Principal>, Instant)>>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("jwt", &self.jwt)
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
    /// Keys are checked against `store`; JWTs against `jwt` (none accepted when it is empty).
    pub fn new(store: Store, jwt: JwtKeys) -> Authenticator {
        Authenticator {
            store,
            jwt,
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
        let c = self.jwt.decode(token)?;
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
