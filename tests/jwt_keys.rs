//! JWTs signed by an identity provider's private key (RS256, ES256), checked by the server with
//! public keys only: PEM files or a JWKS document, `kid` picking the key, issuer and audience
//! required when configured, and the forgeries a JWT library must refuse.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{Kind, TestServer, tenant};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use loyalty_grpc::auth::JwtKeys;
use loyalty_grpc::pb;
use loyalty_grpc::server::ServerConfig;
use p256::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::traits::PublicKeyParts;
use tonic::Code;

/// An RSA key pair: the private key's PEM (to sign) and the public key's PEM and JWK parts.
struct RsaPair {
    private_pem: String,
    public_pem: String,
    n: String,
    e: String,
}

fn rsa_pair() -> RsaPair {
    let private = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
    let public = private.to_public_key();
    RsaPair {
        private_pem: EncodePrivateKey::to_pkcs8_pem(&private, LineEnding::LF)
            .unwrap()
            .to_string(),
        public_pem: EncodePublicKey::to_public_key_pem(&public, LineEnding::LF).unwrap(),
        n: URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
        e: URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
    }
}

/// A P-256 key pair: the private key's PEM and the public key's PEM and JWK coordinates.
struct EcPair {
    private_pem: String,
    public_pem: String,
    x: String,
    y: String,
}

fn ec_pair() -> EcPair {
    let secret = p256::SecretKey::random(&mut p256::elliptic_curve::rand_core::OsRng);
    let public = secret.public_key();
    let point = p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(&public, false);
    EcPair {
        private_pem: secret.to_pkcs8_pem(LineEnding::LF).unwrap().to_string(),
        public_pem: public.to_public_key_pem(LineEnding::LF).unwrap(),
        x: URL_SAFE_NO_PAD.encode(point.x().unwrap()),
        y: URL_SAFE_NO_PAD.encode(point.y().unwrap()),
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// An admin token of `tenant` with `extra` claims merged in, signed as `header` says.
fn token(header: &Header, key: &EncodingKey, tenant: &str, extra: serde_json::Value) -> String {
    let mut claims = serde_json::json!({
        "sub": "dashboard-user",
        "role": "admin",
        "tenant_id": tenant,
        "exp": now() + 600,
    });
    if let (Some(claims), Some(extra)) = (claims.as_object_mut(), extra.as_object()) {
        claims.extend(extra.clone());
    }
    jsonwebtoken::encode(header, &claims, key).unwrap()
}

fn header(algorithm: Algorithm, kid: Option<&str>) -> Header {
    let mut header = Header::new(algorithm);
    header.kid = kid.map(str::to_owned);
    header
}

/// ListPrograms with `token`: its status code (`Ok` when accepted) and message.
async fn list_programs(server: &TestServer, token: &str) -> (Code, String) {
    let mut client = pb::program_service_client::ProgramServiceClient::new(server.channel().await);
    match client
        .list_programs(common::authed(token, pb::ListProgramsRequest {}))
        .await
    {
        Ok(_) => (Code::Ok, String::new()),
        Err(status) => (status.code(), status.message().to_owned()),
    }
}

async fn server_with(kind: Kind, keys: JwtKeys) -> TestServer {
    TestServer::start_with(
        kind,
        ServerConfig {
            jwt_keys: keys,
            ..ServerConfig::default()
        },
    )
    .await
}

async fn rs256_and_es256_tokens_are_checked_with_pem_public_keys(kind: Kind) {
    let (rsa, ec, rogue) = (rsa_pair(), ec_pair(), ec_pair());
    let keys = JwtKeys::new()
        .with_public_key_pem(rsa.public_pem.as_bytes())
        .unwrap()
        .with_public_key_pem(ec.public_pem.as_bytes())
        .unwrap();
    let server = server_with(kind, keys).await;
    let (tenant, _, _) = tenant(&server, "Cathay Shop").await;
    let rsa_key = EncodingKey::from_rsa_pem(rsa.private_pem.as_bytes()).unwrap();
    let ec_key = EncodingKey::from_ec_pem(ec.private_pem.as_bytes()).unwrap();
    let rogue_key = EncodingKey::from_ec_pem(rogue.private_pem.as_bytes()).unwrap();
    let none = serde_json::json!({});

    let rs256 = token(
        &header(Algorithm::RS256, None),
        &rsa_key,
        &tenant,
        none.clone(),
    );
    assert_eq!(list_programs(&server, &rs256).await.0, Code::Ok);
    let es256 = token(
        &header(Algorithm::ES256, None),
        &ec_key,
        &tenant,
        none.clone(),
    );
    assert_eq!(list_programs(&server, &es256).await.0, Code::Ok);

    // Signed by a key the server does not know.
    let forged = token(
        &header(Algorithm::ES256, None),
        &rogue_key,
        &tenant,
        none.clone(),
    );
    let (code, message) = list_programs(&server, &forged).await;
    assert_eq!(code, Code::Unauthenticated, "{message}");
    assert!(message.contains("invalid JWT"), "{message}");

    // Algorithm confusion: HS256 "signed" with the RSA public key as the secret.
    let confused = token(
        &header(Algorithm::HS256, None),
        &EncodingKey::from_secret(rsa.public_pem.as_bytes()),
        &tenant,
        none.clone(),
    );
    let (code, message) = list_programs(&server, &confused).await;
    assert_eq!(code, Code::Unauthenticated, "{message}");
    assert!(message.contains("HS256"), "{message}");

    // Expired.
    let expired = token(
        &header(Algorithm::RS256, None),
        &rsa_key,
        &tenant,
        serde_json::json!({ "exp": now() - 3600 }),
    );
    let (code, message) = list_programs(&server, &expired).await;
    assert_eq!(code, Code::Unauthenticated, "{message}");
    assert!(message.contains("xpired"), "{message}");
    server.stop().await;
}

async fn a_jwks_key_is_picked_by_kid_and_issuer_and_audience_are_required(kind: Kind) {
    let (rsa, ec) = (rsa_pair(), ec_pair());
    let jwks = serde_json::json!({ "keys": [
        { "kty": "RSA", "kid": "rsa-1", "use": "sig", "alg": "RS256", "n": rsa.n, "e": rsa.e },
        { "kty": "EC", "kid": "ec-1", "use": "sig", "crv": "P-256", "x": ec.x, "y": ec.y },
    ]});
    let keys = JwtKeys::new()
        .with_jwks(&jwks.to_string())
        .unwrap()
        .require_issuer("https://id.example")
        .require_audience("loyalty");
    let server = server_with(kind, keys).await;
    let (tenant, _, _) = tenant(&server, "Cathay Shop").await;
    let rsa_key = EncodingKey::from_rsa_pem(rsa.private_pem.as_bytes()).unwrap();
    let ec_key = EncodingKey::from_ec_pem(ec.private_pem.as_bytes()).unwrap();
    let proper = serde_json::json!({ "iss": "https://id.example", "aud": "loyalty" });

    for (header, key) in [
        (header(Algorithm::RS256, Some("rsa-1")), &rsa_key),
        (header(Algorithm::ES256, Some("ec-1")), &ec_key),
    ] {
        let good = token(&header, key, &tenant, proper.clone());
        assert_eq!(list_programs(&server, &good).await.0, Code::Ok);
    }

    // A kid the JWKS does not have.
    let unknown = token(
        &header(Algorithm::RS256, Some("rsa-2")),
        &rsa_key,
        &tenant,
        proper.clone(),
    );
    let (code, message) = list_programs(&server, &unknown).await;
    assert_eq!(code, Code::Unauthenticated);
    assert!(message.contains("\"rsa-2\""), "{message}");

    // Right key, wrong issuer; right key, wrong audience; no audience.
    for claims in [
        serde_json::json!({ "iss": "https://evil.example", "aud": "loyalty" }),
        serde_json::json!({ "iss": "https://id.example", "aud": "another-api" }),
        serde_json::json!({ "iss": "https://id.example" }),
    ] {
        let bad = token(
            &header(Algorithm::RS256, Some("rsa-1")),
            &rsa_key,
            &tenant,
            claims.clone(),
        );
        let (code, message) = list_programs(&server, &bad).await;
        assert_eq!(code, Code::Unauthenticated, "{claims}: {message}");
    }
    server.stop().await;
}

#[test]
fn key_files_that_are_not_public_keys_are_refused_with_a_reason() {
    let err = JwtKeys::new()
        .with_public_key_pem(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
        .unwrap_err();
    assert!(err.contains("not a PEM-encoded RSA or EC"), "{err}");
    let err = JwtKeys::new().with_jwks("{\"keys\": []}").unwrap_err();
    assert!(err.contains("no RSA or P-256 key"), "{err}");
    let err = JwtKeys::new().with_jwks("not json").unwrap_err();
    assert!(err.contains("not a JWKS document"), "{err}");
}

mod rs256_and_es256_tokens_are_checked_with_pem_public_keys {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::rs256_and_es256_tokens_are_checked_with_pem_public_keys(super::Kind::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        if super::common::skip_postgres() {
            return;
        }
        super::rs256_and_es256_tokens_are_checked_with_pem_public_keys(super::Kind::Postgres).await;
    }
}

mod a_jwks_key_is_picked_by_kid_and_issuer_and_audience_are_required {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::a_jwks_key_is_picked_by_kid_and_issuer_and_audience_are_required(
            super::Kind::Sqlite,
        )
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        if super::common::skip_postgres() {
            return;
        }
        super::a_jwks_key_is_picked_by_kid_and_issuer_and_audience_are_required(
            super::Kind::Postgres,
        )
        .await;
    }
}
