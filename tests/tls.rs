//! TLS everywhere, end to end with the real `loyalty` binary and certificates made here with
//! rcgen: gRPC over TLS (a client must trust the server's CA; plaintext is refused), mutual TLS
//! (a client must present a certificate from the client CA), a bad certificate or key stopping
//! the server at start-up, and PostgreSQL reached over TLS (`sslmode=verify-full`) on a
//! throwaway cluster of this test's own that accepts nothing else.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "common/process.rs"]
mod process;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use loyalty_grpc::pb;
use loyalty_grpc::pb::operator_service_client::OperatorServiceClient;
use process::ServerProcess;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use tempfile::TempDir;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};

/// How long a refused or failing start may take before the test calls it hung.
const PATIENCE: Duration = Duration::from_secs(20);

/// A certificate authority made for one test.
struct Ca {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().unwrap();
        let pem = params.self_signed(&key).unwrap().pem();
        Ca {
            pem,
            issuer: Issuer::new(params, key),
        }
    }

    /// A certificate (PEM) and its private key (PEM) for `names`, signed by this CA.
    fn issue(&self, names: &[&str], purpose: ExtendedKeyUsagePurpose) -> (String, String) {
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let mut params = CertificateParams::new(names.clone()).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, &names[0]);
        params.use_authority_key_identifier_extension = true;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![purpose];
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

/// Everything one test needs, as files in a temporary directory: a CA with a server certificate
/// for localhost and 127.0.0.1 and a client certificate, and a rogue CA with a client
/// certificate of its own.
struct Pki {
    dir: TempDir,
    ca: Ca,
    rogue: Ca,
    client: (String, String),
    rogue_client: (String, String),
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let ca = Ca::new("loyalty test CA");
        let rogue = Ca::new("rogue CA");
        let (server_cert, server_key) = ca.issue(
            &["localhost", "127.0.0.1"],
            ExtendedKeyUsagePurpose::ServerAuth,
        );
        let client = ca.issue(&["checkout-service"], ExtendedKeyUsagePurpose::ClientAuth);
        let rogue_client = rogue.issue(&["checkout-service"], ExtendedKeyUsagePurpose::ClientAuth);
        let pki = Pki {
            dir,
            ca,
            rogue,
            client,
            rogue_client,
        };
        pki.write("ca.pem", &pki.ca.pem);
        pki.write("rogue-ca.pem", &pki.rogue.pem);
        pki.write("server.pem", &server_cert);
        pki.write("server.key", &server_key);
        pki
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The path of `name` as a command-line argument.
    fn arg(&self, name: &str) -> String {
        self.path(name).to_str().unwrap().to_owned()
    }

    fn write(&self, name: &str, contents: &str) {
        std::fs::write(self.path(name), contents).unwrap();
    }

    /// A fresh SQLite database (migrated) and an operator key for it.
    fn database(&self) -> (String, String) {
        let url = self.arg("loyalty.db");
        let key = operator_key(&url);
        (url, key)
    }

    /// `loyalty serve` with TLS on (and mutual TLS when `mutual`), on a fresh SQLite database;
    /// returns it with an operator key.
    fn serve(&self, mutual: bool) -> (ServerProcess, String) {
        let (url, key) = self.database();
        let (cert, key_file, ca) = (
            self.arg("server.pem"),
            self.arg("server.key"),
            self.arg("ca.pem"),
        );
        let mut args = vec!["--tls-cert", &cert, "--tls-key", &key_file];
        if mutual {
            args.extend(["--tls-client-ca", &ca]);
        }
        (ServerProcess::start(&url, &args), key)
    }
}

/// The `loyalty` binary with no configuration leaking in from the environment.
fn loyalty() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_loyalty"));
    for (var, _) in std::env::vars() {
        if var.starts_with("LOYALTY_") || var.starts_with("PGSSL") || var == "RUST_LOG" {
            command.env_remove(var);
        }
    }
    command.current_dir(std::env::temp_dir());
    command
}

/// Issues an operator key on `url` (creating and migrating the database) and returns it.
fn operator_key(url: &str) -> String {
    let out = loyalty()
        .args([
            "--database-url",
            url,
            "--create-database",
            "issue-key",
            "--role",
            "operator",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "issue-key on {url} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Runs `loyalty` with `args`, which must exit (not hang) within [`PATIENCE`].
fn run_to_exit(args: &[&str]) -> Output {
    let mut child = loyalty()
        .args(args)
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + PATIENCE;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "`loyalty {}` still running after {PATIENCE:?}:\n{}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// How a client connects: plaintext, or TLS trusting `ca` and presenting `identity`.
fn client_tls(ca: &str, identity: Option<&(String, String)>) -> ClientTlsConfig {
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca))
        .domain_name("localhost");
    match identity {
        Some((cert, key)) => tls.identity(Identity::from_pem(cert, key)),
        None => tls,
    }
}

/// Why a call failed: `refused` when the connection failed (or broke) under it, so the service
/// never answered; not when the service answered with an error status.
#[derive(Debug)]
struct Failure {
    refused: bool,
    why: String,
}

impl Failure {
    fn refused(why: impl std::fmt::Debug) -> Failure {
        Failure {
            refused: true,
            why: format!("{why:?}"),
        }
    }
}

/// Creates a tenant through the server at `addr` (a real RPC that writes to the database),
/// over TLS as `tls` says or plaintext; returns the tenant's id, or why the call failed.
async fn create_tenant(
    addr: std::net::SocketAddr,
    tls: Option<ClientTlsConfig>,
    key: &str,
) -> Result<String, Failure> {
    let call = async {
        let endpoint = match tls {
            Some(tls) => Endpoint::from_shared(format!("https://{addr}"))
                .unwrap()
                .tls_config(tls)
                .unwrap(),
            None => Endpoint::from_shared(format!("http://{addr}")).unwrap(),
        };
        let channel = endpoint
            .connect_timeout(Duration::from_secs(5))
            .connect()
            .await
            .map_err(Failure::refused)?;
        let mut request = tonic::Request::new(pb::CreateTenantRequest {
            idempotency_key: "tls-test-tenant".into(),
            name: "TLS Shop".into(),
        });
        request
            .metadata_mut()
            .insert("authorization", format!("Bearer {key}").parse().unwrap());
        let response = OperatorServiceClient::new(channel)
            .create_tenant(request)
            .await
            .map_err(|status| Failure {
                // A status the service sent has no source; one made from a transport
                // error (the connection closed, the handshake failed) has it.
                refused: std::error::Error::source(&status).is_some(),
                why: format!("{status:?}"),
            })?;
        Ok(response.into_inner().tenant.unwrap().id)
    };
    tokio::time::timeout(PATIENCE, call)
        .await
        .unwrap_or_else(|_| panic!("the call to {addr} hung for {PATIENCE:?}"))
}

/// Asserts that the call was refused at the connection (TLS), not answered by the service.
fn assert_refused(result: Result<String, Failure>, who: &str) {
    match result {
        Ok(id) => panic!("{who} was served (created tenant {id})"),
        Err(Failure { refused, why }) => {
            assert!(refused, "{who} failed, but not at the connection: {why}");
            eprintln!("{who} refused as expected: {why}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_trusts_the_servers_ca_is_served_over_tls() {
    let pki = Pki::new();
    let (server, key) = pki.serve(false);
    let tenant = create_tenant(server.addr, Some(client_tls(&pki.ca.pem, None)), &key).await;
    let tenant = tenant.unwrap_or_else(|why| panic!("the TLS client was refused: {why:?}"));
    assert!(!tenant.is_empty(), "no tenant id");
    let log = server.stop();
    assert!(
        log.contains("TLS on"),
        "the server did not log that TLS is on:\n{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plaintext_client_is_refused_by_a_tls_server() {
    let pki = Pki::new();
    let (server, key) = pki.serve(false);
    assert_refused(
        create_tenant(server.addr, None, &key).await,
        "a plaintext client",
    );
    // The server is still up and serving TLS clients afterwards.
    let tls = create_tenant(server.addr, Some(client_tls(&pki.ca.pem, None)), &key).await;
    assert!(tls.is_ok(), "a TLS client after a plaintext one: {tls:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_trusts_another_ca_is_refused() {
    let pki = Pki::new();
    let (server, key) = pki.serve(false);
    let result = create_tenant(server.addr, Some(client_tls(&pki.rogue.pem, None)), &key).await;
    assert_refused(result, "a client trusting another CA");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_mutual_tls_a_client_certificate_from_the_client_ca_is_served() {
    let pki = Pki::new();
    let (server, key) = pki.serve(true);
    let tls = client_tls(&pki.ca.pem, Some(&pki.client));
    let tenant = create_tenant(server.addr, Some(tls), &key).await;
    let tenant =
        tenant.unwrap_or_else(|why| panic!("the client with a certificate was refused: {why:?}"));
    assert!(!tenant.is_empty(), "no tenant id");
    let log = server.stop();
    assert!(
        log.contains("TLS on, mutual"),
        "the server did not log that mutual TLS is on:\n{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_mutual_tls_a_client_without_a_certificate_is_refused() {
    let pki = Pki::new();
    let (server, key) = pki.serve(true);
    let result = create_tenant(server.addr, Some(client_tls(&pki.ca.pem, None)), &key).await;
    assert_refused(result, "a client without a certificate");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_mutual_tls_a_client_certificate_from_a_rogue_ca_is_refused() {
    let pki = Pki::new();
    let (server, key) = pki.serve(true);
    let tls = client_tls(&pki.ca.pem, Some(&pki.rogue_client));
    assert_refused(
        create_tenant(server.addr, Some(tls), &key).await,
        "a client with a rogue CA's certificate",
    );
}

#[test]
fn a_missing_or_garbage_certificate_or_key_stops_the_server_at_once_naming_the_file() {
    let pki = Pki::new();
    let (url, _) = pki.database();
    pki.write("garbage.pem", "this is not a certificate\n");
    pki.write("client.key", &pki.client.1);
    let (cert, key, missing, garbage, ca, wrong_key) = (
        pki.arg("server.pem"),
        pki.arg("server.key"),
        pki.arg("missing.pem"),
        pki.arg("garbage.pem"),
        pki.arg("ca.pem"),
        pki.arg("client.key"),
    );
    let cases: [(&str, &str, Option<&str>, &str); 6] = [
        (&missing, &key, None, &missing),
        (&cert, &missing, None, &missing),
        (&garbage, &key, None, &garbage),
        (&cert, &garbage, None, &garbage),
        (&cert, &key, Some(&garbage), &garbage),
        // A key that is not the certificate's: both named.
        (&cert, &wrong_key, Some(&ca), &wrong_key),
    ];
    for (cert, key, client_ca, named) in cases {
        let mut args = vec![
            "--database-url",
            &url,
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            cert,
            "--tls-key",
            key,
        ];
        if let Some(ca) = client_ca {
            args.extend(["--tls-client-ca", ca]);
        }
        let started = Instant::now();
        let out = run_to_exit(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success(),
            "the server started with {args:?}:\n{stderr}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the server took {:?} to give up",
            started.elapsed()
        );
        assert!(
            stderr.contains(named),
            "the error does not name {named}:\n{stderr}"
        );
        assert!(
            !stderr.contains("panicked"),
            "the server panicked:\n{stderr}"
        );
        assert!(
            !stderr.contains("serving gRPC"),
            "the server served first:\n{stderr}"
        );
        eprintln!("refused as expected: {}", stderr.trim());
    }
}

/// The directory of PostgreSQL's server programs (initdb, pg_ctl), if installed.
fn postgres_bin_dir() -> Option<PathBuf> {
    let from_pg_config = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
    let mut installed: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("bin"))
        .collect();
    // The newest version last (numeric, so 9 < 15).
    installed.sort_by_key(|bin| {
        bin.parent()
            .and_then(Path::file_name)
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    from_pg_config
        .into_iter()
        .chain(installed.into_iter().rev())
        .find(|bin| bin.join("initdb").is_file() && bin.join("pg_ctl").is_file())
}

/// Whether this process runs as root (initdb refuses to: the cluster then runs as `postgres`).
fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// A throwaway PostgreSQL cluster that requires TLS, stopped and removed when dropped.
struct TlsPostgres {
    bin: PathBuf,
    dir: TempDir,
    as_root: bool,
    port: u16,
}

impl TlsPostgres {
    /// `command` from PostgreSQL's `bin`, run as the cluster's owner.
    fn command(bin: &Path, as_root: bool, program: &str) -> Command {
        if as_root {
            let mut command = Command::new("runuser");
            command
                .args(["-u", "postgres", "--"])
                .arg(bin.join(program));
            command
        } else {
            Command::new(bin.join(program))
        }
    }

    fn run(bin: &Path, as_root: bool, program: &str, args: &[&str]) {
        let out = TlsPostgres::command(bin, as_root, program)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{program} {args:?} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts a cluster on a free port whose server certificate and key are `pki`'s and whose
    /// pg_hba.conf accepts TCP connections over TLS only.
    fn start(bin: PathBuf, pki: &Pki) -> TlsPostgres {
        let as_root = running_as_root();
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let data_arg = data.to_str().unwrap();
        if as_root {
            let owner = Command::new("chown")
                .args(["-R", "postgres"])
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(owner.success(), "chown postgres {}", dir.path().display());
        }
        TlsPostgres::run(
            &bin,
            as_root,
            "initdb",
            &["-D", data_arg, "-U", "postgres", "-A", "trust", "--no-sync"],
        );
        std::fs::copy(pki.path("server.pem"), data.join("server.crt")).unwrap();
        std::fs::copy(pki.path("server.key"), data.join("server.key")).unwrap();
        std::fs::write(
            data.join("pg_hba.conf"),
            "local all all trust\n\
             hostssl all all 127.0.0.1/32 trust\n\
             hostnossl all all 0.0.0.0/0 reject\n\
             hostnossl all all ::/0 reject\n",
        )
        .unwrap();
        {
            use std::os::unix::fs::PermissionsExt;
            let key = data.join("server.key");
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        if as_root {
            let owner = Command::new("chown")
                .args(["-R", "postgres"])
                .arg(&data)
                .status()
                .unwrap();
            assert!(owner.success(), "chown postgres {data_arg}");
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {port} -k {} -c ssl=on \
             -c ssl_cert_file=server.crt -c ssl_key_file=server.key \
             -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
            dir.path().display()
        );
        let log = dir.path().join("server.log");
        let postgres = TlsPostgres {
            bin,
            dir,
            as_root,
            port,
        };
        TlsPostgres::run(
            &postgres.bin,
            as_root,
            "pg_ctl",
            &[
                "-D",
                data_arg,
                "-l",
                log.to_str().unwrap(),
                "-w",
                "start",
                "-o",
                &options,
            ],
        );
        postgres
    }

    /// A URL for the cluster's `postgres` database with these `parameters`.
    fn url(&self, parameters: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/postgres?{parameters}",
            self.port
        )
    }
}

impl Drop for TlsPostgres {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let _ = TlsPostgres::command(&self.bin, self.as_root, "pg_ctl")
            .arg("-D")
            .arg(data)
            .args(["-m", "immediate", "stop"])
            .output();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_uses_a_postgresql_that_requires_tls_and_is_refused_without_it() {
    let Some(bin) = postgres_bin_dir() else {
        assert!(
            std::env::var_os("LOYALTY_TEST_DATABASE_URL").is_none(),
            "PostgreSQL's server programs (initdb, pg_ctl) are not installed, but \
             LOYALTY_TEST_DATABASE_URL is set: install PostgreSQL (scripts/pg-throwaway.sh does)"
        );
        eprintln!("PostgreSQL TLS test skipped: initdb/pg_ctl not found (no PostgreSQL installed)");
        return;
    };
    let pki = Pki::new();
    let postgres = TlsPostgres::start(bin, &pki);
    let ca = pki.arg("ca.pem");

    // sslmode=require: encrypted, the server's certificate not checked.
    let key = operator_key(&postgres.url("sslmode=require"));

    // sslmode=verify-full: the certificate must be signed by the CA and name the host.
    let url = postgres.url(&format!("sslmode=verify-full&sslrootcert={ca}"));
    let (cert, server_key) = (pki.arg("server.pem"), pki.arg("server.key"));
    let server = ServerProcess::start(&url, &["--tls-cert", &cert, "--tls-key", &server_key]);
    let tenant = create_tenant(server.addr, Some(client_tls(&pki.ca.pem, None)), &key).await;
    let tenant = tenant.unwrap_or_else(|why| panic!("the call over TLS to TLS failed: {why:?}"));
    assert!(!tenant.is_empty(), "no tenant id");
    drop(server);

    // Without TLS, the cluster refuses the connection, and the server does not start.
    let plain = postgres.url("sslmode=disable");
    let out = run_to_exit(&["--database-url", &plain, "serve", "--listen", "127.0.0.1:0"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "the server started without TLS to PostgreSQL:\n{stderr}"
    );
    assert!(
        !stderr.contains("serving gRPC"),
        "the server served:\n{stderr}"
    );
    assert!(
        stderr.contains("no encryption"),
        "not refused for want of TLS:\n{stderr}"
    );
    eprintln!("refused as expected: {}", stderr.trim());

    // verify-full against another CA: the cluster's certificate is not trusted.
    let rogue = postgres.url(&format!(
        "sslmode=verify-full&sslrootcert={}",
        pki.arg("rogue-ca.pem")
    ));
    let out = run_to_exit(&["--database-url", &rogue, "migrate"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "migrate trusted a certificate from another CA:\n{stderr}"
    );
    assert!(
        stderr.contains("certificate verify failed"),
        "not refused for the certificate:\n{stderr}"
    );
}
