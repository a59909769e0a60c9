//! The operator's documents say what the binary does: every flag, environment variable and
//! command the binary's `--help` lists is in the README, and the deployment files only set
//! variables and flags the binary knows.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

fn help(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_loyalty"))
        .args(args)
        .arg("--help")
        .env_clear()
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

/// The words of `text` that start with `prefix`, up to the first character that cannot be in a
/// flag or variable name.
fn words(text: &str, prefix: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find(prefix) {
        let tail = &rest[at..];
        let end = tail[prefix.len()..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .map_or(tail.len(), |end| end + prefix.len());
        found.insert(tail[..end].to_owned());
        rest = &tail[end..];
    }
    found
}

/// Every subcommand of `loyalty --help`.
fn commands() -> Vec<String> {
    let top = help(&[]);
    let listing = top
        .split("Commands:")
        .nth(1)
        .and_then(|rest| rest.split("Options:").next())
        .unwrap();
    listing
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

fn everything_the_binary_takes() -> (BTreeSet<String>, BTreeSet<String>) {
    let mut texts = vec![help(&[])];
    for command in commands() {
        texts.push(help(&[&command]));
        for sub in ["list", "revoke"] {
            if command == "keys" || (command == "tenants" && sub == "list") {
                texts.push(help(&[&command, sub]));
            }
        }
    }
    let all = texts.join("\n");
    let flags = words(&all, "--")
        .into_iter()
        .filter(|f| f != "--help" && f != "--version" && f.len() > 2)
        .collect();
    (flags, words(&all, "LOYALTY_"))
}

#[test]
fn the_readme_documents_every_flag_variable_and_command_of_the_binary() {
    let readme = read("README.md");
    let (flags, variables) = everything_the_binary_takes();
    assert!(flags.contains("--database-url") && variables.contains("LOYALTY_LISTEN"));
    let missing: Vec<&String> = flags
        .iter()
        .chain(&variables)
        .filter(|name| !readme.contains(name.as_str()))
        .collect();
    assert!(missing.is_empty(), "not in README.md: {missing:?}");
    for command in commands() {
        assert!(
            readme.contains(&format!("loyalty {command}")),
            "`loyalty {command}` is not in README.md"
        );
    }
}

#[test]
fn the_deployment_files_set_only_what_the_binary_knows() {
    let (flags, variables) = everything_the_binary_takes();
    let env = read("deploy/loyalty.env");
    let unknown: Vec<String> = words(&env, "LOYALTY_")
        .into_iter()
        .filter(|v| !variables.contains(v))
        .collect();
    assert!(unknown.is_empty(), "deploy/loyalty.env sets {unknown:?}");
    for unit in ["deploy/loyalty.service", "deploy/loyalty-backup.service"] {
        let text = read(unit);
        let exec: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("ExecStart="))
            .collect();
        assert!(!exec.is_empty(), "{unit} has no ExecStart");
        for line in exec {
            assert!(line.contains("/usr/local/bin/loyalty "), "{unit}: {line}");
            let command = line
                .split("/usr/local/bin/loyalty ")
                .nth(1)
                .and_then(|rest| rest.split_whitespace().next())
                .unwrap();
            assert!(commands().iter().any(|c| c == command), "{unit}: {command}");
            for flag in words(line, "--") {
                assert!(flags.contains(&flag), "{unit} passes unknown {flag}");
            }
        }
    }
}
