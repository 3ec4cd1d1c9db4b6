//! Package identifiers and versions from registry documents, checked as data.
//!
//! A registry document names what to fetch; the daemon hands that name to npm, uv, pip,
//! docker or dnx. So a name must be a *name* in its ecosystem's grammar, never a URL, a path,
//! a git reference or something a package manager would read as an option. [`check`] applies
//! the grammar of each registry type (npm package names, PEP 508 names, OCI references,
//! NuGet ids) and [`check_version`] the shape of a plain version; [`fetch_target`] is the one
//! argv element a package manager is then given, always after `--`. Which runtime arguments
//! a container may get is [`crate::runtime_args`]'s; spawning is the daemon's.

use super::{Fetch, SourceKind};

/// A registry document names something that is not a plain package identifier or version.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("registry document gives {what} `{value}` in `{field}`: {problem}; Switchboard installs only {only}")]
pub struct IdentifierError {
    /// Where in the document: `packages[0].identifier`.
    pub field: String,
    /// What it was meant to be: `npm package`, `PyPI package version`.
    pub what: &'static str,
    pub value: String,
    pub problem: String,
    /// What is accepted instead.
    pub only: &'static str,
}

/// Checks `identifier` (and `version`, when given) of package `index` of kind `kind`.
pub fn check(
    kind: SourceKind,
    index: usize,
    identifier: &str,
    version: Option<&str>,
) -> Result<(), IdentifierError> {
    let field = format!("packages[{index}].identifier");
    let (what, only, result) = match kind {
        SourceKind::Npm => (
            "npm package",
            "packages named in the npm registry",
            npm_name(identifier),
        ),
        SourceKind::Pypi => (
            "PyPI package",
            "packages named in the Python Package Index (a PEP 508 name, without extras, specifiers or URLs)",
            pypi_name(identifier),
        ),
        SourceKind::Oci => (
            "OCI image",
            "images named by a reference like `ghcr.io/owner/image:tag`",
            oci_reference(identifier),
        ),
        SourceKind::Nuget => (
            "NuGet package",
            "packages named by a NuGet id",
            nuget_id(identifier),
        ),
        // A bundle is downloaded over https by the daemon itself, never by a package manager.
        SourceKind::Mcpb | SourceKind::StreamableHttp | SourceKind::Sse => return Ok(()),
    };
    result.map_err(|problem| IdentifierError {
        field,
        what,
        value: identifier.to_owned(),
        problem,
        only,
    })?;
    if let Some(version) = version {
        check_version(&format!("packages[{index}].version"), "package version", version)?;
    }
    Ok(())
}

/// A version as a package manager reads it after `@`, `==` or `:` (and the installer as a
/// directory name): letters, digits and `.`, `+`, `-`, `_`, `!`, starting with a letter or
/// digit. `what` names it in the error: `package version`, `server version`.
pub fn check_version(field: &str, what: &'static str, version: &str) -> Result<(), IdentifierError> {
    let problem = if version.is_empty() {
        Some("it is empty".to_owned())
    } else if version.len() > 128 {
        Some("it is over 128 characters long".to_owned())
    } else if !version.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        Some("it must start with a letter or digit".to_owned())
    } else {
        version
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '-' | '_' | '!')))
            .map(|c| format!("`{c}` cannot appear in a version"))
    };
    match problem {
        None => Ok(()),
        Some(problem) => Err(IdentifierError {
            field: field.to_owned(),
            what,
            value: version.to_owned(),
            problem: format!("not a plain version ({problem})"),
            only: "exact versions such as `1.2.3`",
        }),
    }
}

/// What the package manager is told to fetch, as one argv element (given after `--`); none
/// for a bundle (downloaded by the daemon) or a remote.
pub fn fetch_target(fetch: &Fetch) -> Option<String> {
    match fetch {
        Fetch::Npm { package, version } | Fetch::Nuget { package, version } => Some(match version {
            Some(version) => format!("{package}@{version}"),
            None => package.clone(),
        }),
        Fetch::Pypi { package, version } => Some(match version {
            Some(version) => format!("{package}=={version}"),
            None => package.clone(),
        }),
        Fetch::Oci { image } => Some(image.clone()),
        Fetch::Mcpb { .. } | Fetch::Nothing => None,
    }
}

/// Names a URL, a path or an option rather than a package, in words; `None` if it does not.
fn not_a_name(value: &str) -> Option<String> {
    if value.contains("://") || value.starts_with("git+") || value.starts_with("git@") {
        Some("it is a URL, not a package name".to_owned())
    } else if value.starts_with('-') {
        Some("it starts with `-`, so a package manager would read it as an option".to_owned())
    } else if value.starts_with(['.', '/', '~', '\\']) || value.contains(":\\") {
        Some("it is a file path, not a package name".to_owned())
    } else if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Some("it contains spaces or control characters".to_owned())
    } else {
        None
    }
}

/// An npm package name, as the registry accepts new ones: lowercase URL-safe characters,
/// `@scope/name` or `name`, at most 214 characters, not starting with `.` or `_`.
fn npm_name(name: &str) -> Result<(), String> {
    if let Some(problem) = not_a_name(name) {
        return Err(problem);
    }
    if name.len() > 214 {
        return Err("an npm package name is at most 214 characters".to_owned());
    }
    let part_ok = |part: &str| {
        part.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && part
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
    };
    let ok = match name.strip_prefix('@') {
        Some(scoped) => scoped
            .split_once('/')
            .is_some_and(|(scope, local)| part_ok(scope) && part_ok(local)),
        None => part_ok(name) && !matches!(name, "node_modules" | "favicon.ico"),
    };
    if ok {
        Ok(())
    } else {
        Err("not an npm package name (lowercase letters, digits, `.`, `_` and `-`, optionally as `@scope/name`)".to_owned())
    }
}

/// A PEP 508 name and nothing more: `^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$`, any case.
fn pypi_name(name: &str) -> Result<(), String> {
    if let Some(problem) = not_a_name(name) {
        return Err(problem);
    }
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    let ok = edge(name.chars().next())
        && edge(name.chars().last())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err("not a PEP 508 package name (letters, digits, `.`, `_` and `-`, no extras, version specifiers or URLs)".to_owned())
    }
}

/// An OCI image reference: `[host[:port]/]path[:tag][@algorithm:hex]`, after the grammar of
/// the distribution specification (and docker's reference package).
fn oci_reference(reference: &str) -> Result<(), String> {
    if let Some(problem) = not_a_name(reference) {
        return Err(problem);
    }
    let bad = |what: &str| Err(format!("not an OCI image reference ({what})"));
    let (rest, digest) = match reference.split_once('@') {
        Some((rest, digest)) => (rest, Some(digest)),
        None => (reference, None),
    };
    if rest.is_empty() {
        return bad("nothing names the image before `@`; `@scope/name` is how npm names packages");
    }
    if let Some(digest) = digest
        && !oci_digest(digest)
    {
        return bad("the digest must look like `sha256:` and at least 32 hex digits");
    }
    // A tag follows the last `:` after the last `/`; an earlier `:` is a registry's port.
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[last_slash..].rfind(':') {
        Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
        None => (rest, None),
    };
    if let Some(tag) = tag
        && !oci_tag(tag)
    {
        return bad("a tag is 1-128 letters, digits, `_`, `.` and `-`, not starting with `.` or `-`");
    }
    if name.len() > 255 {
        return bad("the name is over 255 characters");
    }
    let mut components: Vec<&str> = name.split('/').collect();
    let first = components[0];
    let has_domain = components.len() > 1
        && (first.contains(['.', ':'])
            || first == "localhost"
            || first.chars().any(|c| c.is_ascii_uppercase()));
    if has_domain {
        if !oci_domain(first) {
            return bad("the registry host is not a host name with an optional port");
        }
        components.remove(0);
    }
    if components.iter().all(|component| oci_path_component(component)) {
        Ok(())
    } else {
        bad("each path component is lowercase letters and digits joined by `.`, `_`, `__` or dashes")
    }
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
fn oci_path_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !bytes.first().copied().is_some_and(alnum) || !bytes.last().copied().is_some_and(alnum) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        if alnum(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let separator = &component[start..i];
        let ok = matches!(separator, "." | "_" | "__") || separator.bytes().all(|b| b == b'-');
        if !ok {
            return false;
        }
    }
    true
}

/// `host[:port]`, the host a DNS name of `[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?` labels.
fn oci_domain(domain: &str) -> bool {
    let (host, port) = match domain.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (domain, None),
    };
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()));
    let label_ok = |label: &str| {
        label.starts_with(|c: char| c.is_ascii_alphanumeric())
            && label.ends_with(|c: char| c.is_ascii_alphanumeric())
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    port_ok && !host.is_empty() && host.split('.').all(label_ok)
}

/// `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`
fn oci_tag(tag: &str) -> bool {
    tag.len() <= 128
        && tag.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// `algorithm:hex`, the algorithm `[a-z0-9]+([+._-][a-z0-9]+)*` and at least 32 hex digits.
fn oci_digest(digest: &str) -> bool {
    let Some((algorithm, hex)) = digest.split_once(':') else {
        return false;
    };
    let algorithm_ok = algorithm
        .split(['+', '.', '_', '-'])
        .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
    algorithm_ok && hex.len() >= 32 && hex.chars().all(|c| c.is_ascii_hexdigit())
}

/// A NuGet id: `\w+([.-]\w+)*` in ASCII, at most 100 characters.
fn nuget_id(id: &str) -> Result<(), String> {
    if let Some(problem) = not_a_name(id) {
        return Err(problem);
    }
    let word = |part: &str| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if id.len() <= 100 && id.split(['.', '-']).all(word) {
        Ok(())
    } else {
        Err(
            "not a NuGet package id (letters, digits and `_`, joined by `.` or `-`, at most 100 characters)"
                .to_owned(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: bool = true;
    const NO: bool = false;

    fn table(kind: SourceKind, cases: &[(&str, bool)]) {
        for (identifier, accepted) in cases {
            let result = check(kind, 0, identifier, None);
            assert_eq!(result.is_ok(), *accepted, "{kind} `{identifier}`: {result:?}");
        }
    }

    #[test]
    fn npm_names() {
        table(
            SourceKind::Npm,
            &[
                ("mcp-server-kubernetes", OK),
                ("@modelcontextprotocol/server-everything", OK),
                ("@21st-dev/magic", OK),
                ("airtable-mcp-server", OK),
                ("lodash.merge", OK),
                ("a", OK),
                (&"a".repeat(214), OK),
                (&"a".repeat(215), NO),
                ("https://example.com/x.tgz", NO),
                ("git+https://github.com/a/b.git", NO),
                ("git@github.com:a/b.git", NO),
                ("github:a/b", NO),
                ("a/b", NO),
                ("file:../x", NO),
                ("./x", NO),
                ("/tmp/x.tgz", NO),
                ("--registry=https://evil.example", NO),
                ("-g", NO),
                (".hidden", NO),
                ("_private", NO),
                ("Uppercase", NO),
                ("with space", NO),
                ("x@1.0.0", NO),
                ("@scope", NO),
                ("@scope/", NO),
                ("@/name", NO),
                ("@scope/name/extra", NO),
                ("node_modules", NO),
                ("", NO),
            ],
        );
    }

    #[test]
    fn pypi_names() {
        table(
            SourceKind::Pypi,
            &[
                ("mcp-server-time", OK),
                ("mcp_server_fetch", OK),
                ("Django", OK),
                ("zope.interface", OK),
                ("a", OK),
                ("A1", OK),
                ("pkg @ https://x/evil.whl", NO),
                ("pkg[extra]", NO),
                ("pkg==1.0", NO),
                ("pkg>=1", NO),
                ("pkg;python_version<'3'", NO),
                ("https://x/evil.whl", NO),
                ("git+https://github.com/a/b", NO),
                ("./local", NO),
                ("-e", NO),
                ("--index-url=https://evil", NO),
                ("-pkg", NO),
                ("pkg-", NO),
                ("_pkg", NO),
                ("", NO),
            ],
        );
    }

    #[test]
    fn oci_references() {
        table(
            SourceKind::Oci,
            &[
                ("docker.io/mcp/time:latest", OK),
                ("ghcr.io/github/github-mcp-server:0.4.0", OK),
                ("mcp/time", OK),
                ("busybox", OK),
                ("localhost:5000/team/image:1.0", OK),
                ("registry.example.com:443/a/b__c/d-e--f.g", OK),
                ("Registry.Example.com/a/b", OK),
                (
                    "ghcr.io/a/b@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                    OK,
                ),
                (
                    "ghcr.io/a/b:1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                    OK,
                ),
                ("ghcr.io/a/b:_tag.1-x", OK),
                ("https://ghcr.io/a/b", NO),
                ("--privileged", NO),
                ("-v", NO),
                ("a/B", NO),
                ("a//b", NO),
                ("a/b:", NO),
                ("a/b:.tag", NO),
                ("a/b:-tag", NO),
                ("a/b@sha256:short", NO),
                ("a/b@md5", NO),
                ("a/-b", NO),
                ("a/b-", NO),
                ("a/b...c", NO),
                ("a/b___c", NO),
                ("host:port/a", NO),
                ("-host.io/a", NO),
                ("/a/b", NO),
                ("@notainc/gyazo-mcp-server", NO),
                ("a b", NO),
                ("", NO),
            ],
        );
    }

    #[test]
    fn nuget_ids() {
        table(
            SourceKind::Nuget,
            &[
                ("TimeMcpServer", OK),
                ("Microsoft.Extensions.AI", OK),
                ("my-package_2", OK),
                ("a", OK),
                (&"a".repeat(100), OK),
                (&"a".repeat(101), NO),
                ("https://nuget.example/x.nupkg", NO),
                ("--add-source", NO),
                ("-x", NO),
                ("a..b", NO),
                ("a.", NO),
                (".a", NO),
                ("a b", NO),
                ("a/b", NO),
                ("a@1.0", NO),
                ("", NO),
            ],
        );
    }

    #[test]
    fn versions() {
        let cases: &[(&str, bool)] = &[
            ("1.0.0", OK),
            ("2026.10.19", OK),
            ("1.0.0-beta.1+build.5", OK),
            ("1!2.0.post1", OK),
            ("v1.2", OK),
            ("0.6.3_1", OK),
            ("https://x/y.tgz", NO),
            ("-1", NO),
            ("--pre", NO),
            ("1.0 ; rm", NO),
            ("1.0.0@sha256", NO),
            ("1.0/../x", NO),
            (">=1", NO),
            ("", NO),
        ];
        for (version, accepted) in cases {
            let result = check(SourceKind::Npm, 0, "a", Some(version));
            assert_eq!(result.is_ok(), *accepted, "version `{version}`: {result:?}");
        }
    }

    #[test]
    fn errors_name_the_field_the_value_and_what_is_installed() {
        let error = check(SourceKind::Npm, 2, "https://x/y.tgz", None).expect_err("a URL");
        assert_eq!(
            error.to_string(),
            "registry document gives npm package `https://x/y.tgz` in `packages[2].identifier`: \
             it is a URL, not a package name; Switchboard installs only packages named in the npm registry"
        );
        let error = check(SourceKind::Pypi, 0, "a", Some("-1")).expect_err("option-like");
        assert_eq!(error.field, "packages[0].version");
    }

    #[test]
    fn bundles_and_remotes_are_not_package_names() {
        for kind in [SourceKind::Mcpb, SourceKind::StreamableHttp, SourceKind::Sse] {
            assert!(check(kind, 0, "https://example.com/a.mcpb", Some("1.0.0")).is_ok());
        }
    }

    #[test]
    fn fetch_targets_are_one_element_each() {
        let npm = |version: Option<&str>| Fetch::Npm {
            package: "@a/b".into(),
            version: version.map(Into::into),
        };
        assert_eq!(fetch_target(&npm(Some("1.0.0"))).as_deref(), Some("@a/b@1.0.0"));
        assert_eq!(fetch_target(&npm(None)).as_deref(), Some("@a/b"));
        let pypi = Fetch::Pypi {
            package: "mcp-server-time".into(),
            version: Some("1.0".into()),
        };
        assert_eq!(fetch_target(&pypi).as_deref(), Some("mcp-server-time==1.0"));
        assert_eq!(fetch_target(&Fetch::Nothing), None);
    }
}
