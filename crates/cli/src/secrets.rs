//! `switchboard secrets ls|set|unset`: secret values of a server, kept in the OS keychain;
//! `secrets guard`: what clients get of its tool results that hold a credential; and
//! `switchboard login`, which gets a remote server's OAuth tokens into it.
//!
//! Values are read from the terminal with echo off, or from stdin when it is piped, and never
//! from the command line, where any local user could read them with `ps`.

use std::io::{BufRead, IsTerminal, Read, Write};

use clap::Subcommand;
use switchboard_credentials::oauth::trustworthy;
use switchboard_model::api::{
    GuardResults, LoginStarted, SecretResults, SecretView, ServerView, SetSecret, StartLogin,
};

use crate::client::{CliError, Client};
use crate::{DEFAULT_WAIT_SECS, encode_query, parse_name, print_json, render, report};

#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// List the secrets a server's spec refers to, and whether each is set.
    Ls { server: String },
    /// Set a secret env var (a header, for a remote server) from stdin or a hidden prompt;
    /// the server restarts to see it.
    Set { server: String, name: String },
    /// Delete a secret and the server's reference to it.
    Unset { server: String, name: String },
    /// Show or choose what clients get of a server's tool results that hold a credential
    /// (one of your secrets, or a key or token of a common format): `redact` (the default)
    /// replaces each, `block` withholds the result, `allow` passes it. The history is
    /// redacted whatever this says.
    Guard {
        server: String,
        #[arg(value_parser = ["redact", "block", "allow"])]
        results: Option<String>,
    },
}

pub async fn run(json: bool, client: Client, command: SecretsCommand) -> Result<(), CliError> {
    match command {
        SecretsCommand::Guard { server, results } => {
            let server = parse_name(&server)?;
            let path = format!("/servers/{server}/secret-results");
            let guard: GuardResults = match results {
                Some(results) => {
                    let results = serde_json::from_value(serde_json::Value::String(results))
                        .map_err(|e| CliError::Usage(e.to_string()))?;
                    client.put(&path, &GuardResults { results }).await?
                }
                None => client.get(&path).await?,
            };
            if json {
                return print_json(&guard);
            }
            let what = match guard.results {
                SecretResults::Redact => "redacted: each credential is replaced by a note of its kind",
                SecretResults::Block => "withheld: clients get an error saying why",
                SecretResults::Allow => "passed as they are",
            };
            println!("{server}: tool results that hold a credential are {what}");
            Ok(())
        }
        SecretsCommand::Ls { server } => {
            let server = parse_name(&server)?;
            let secrets: Vec<SecretView> = client.get(&format!("/servers/{server}/secrets")).await?;
            if json {
                return print_json(&secrets);
            }
            if secrets.is_empty() {
                println!("{server} refers to no secrets.");
                return Ok(());
            }
            let mut rows = vec![vec![
                "NAME".to_owned(),
                "KEYCHAIN NAME".to_owned(),
                "VALUE".to_owned(),
            ]];
            for secret in &secrets {
                let state = if secret.set { "set" } else { "missing" };
                rows.push(vec![secret.name.clone(), secret.key.clone(), state.to_owned()]);
            }
            render::table(&rows);
            Ok(())
        }
        SecretsCommand::Set { server, name } => {
            let server = parse_name(&server)?;
            let value = read_secret(&format!("{name} for {server}"))?;
            if value.is_empty() {
                return Err(CliError::Usage("the value is empty; nothing was set".to_owned()));
            }
            let path = format!(
                "/servers/{server}/secrets/{}?wait={DEFAULT_WAIT_SECS}",
                encode_query(&name)
            );
            let view: ServerView = client.put(&path, &SetSecret { value }).await?;
            report(json, &view)
        }
        SecretsCommand::Unset { server, name } => {
            let server = parse_name(&server)?;
            let path = format!("/servers/{server}/secrets/{}", encode_query(&name));
            let view: ServerView = client.delete_json(&path).await?;
            report(json, &view)
        }
    }
}

/// Who `switchboard login` signs in as: a client the user registered, or (none given) whatever
/// the daemon finds (the one given before, its metadata document, or a registration).
#[derive(Debug, Default)]
pub struct LoginClient {
    pub client_id: Option<String>,
    /// Read the client's secret from stdin (or a hidden prompt).
    pub secret_from_stdin: bool,
}

/// `switchboard login`: the daemon finds the server's authorization server and who to be to
/// it; the person signs in in a browser, which comes back to the daemon.
pub async fn login(
    json: bool,
    client: Client,
    name: &str,
    no_browser: bool,
    who: LoginClient,
) -> Result<(), CliError> {
    let name = parse_name(name)?;
    let client_secret = match who.secret_from_stdin {
        true => Some(read_secret(&format!("client secret for {name}"))?).filter(|s| !s.is_empty()),
        false => None,
    };
    let body = who.client_id.map(|client_id| StartLogin {
        client_id: Some(client_id),
        client_secret,
    });
    let started: LoginStarted = client
        .post(&format!("/servers/{name}/login"), body.as_ref())
        .await?;
    let url = &started.authorization_url;
    // The address came from the server's metadata: only https (or this machine) is opened.
    if !trustworthy(url) {
        return Err(CliError::Other(format!(
            "the sign-in page of {name} is {url}, which is neither https nor this machine; not opening it"
        )));
    }
    let opened = !no_browser && open_browser(url);
    if opened {
        eprintln!("Sign in to {name} in the browser window that opened. If none did, open:\n{url}");
    } else {
        eprintln!("Open this page to sign in to {name}:\n{url}");
    }
    let view: ServerView = client
        .post(
            &format!("/servers/{name}/login/wait?wait={DEFAULT_WAIT_SECS}"),
            None::<&()>,
        )
        .await?;
    if !json {
        println!("{name}: signed in");
    }
    report(json, &view)
}

/// Opens `url` in the desktop's browser; false when there is no way to, or when `url` is not
/// https or loopback (only those reach the opener, never a file, script or plain-http page).
pub(crate) fn open_browser(url: &str) -> bool {
    if !trustworthy(url) {
        return false;
    }
    let opener: &[&str] = if cfg!(target_os = "macos") {
        &["open"]
    } else if cfg!(windows) {
        &["rundll32", "url.dll,FileProtocolHandler"]
    } else {
        &["xdg-open"]
    };
    std::process::Command::new(opener[0])
        .args(&opener[1..])
        .arg(url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// One secret: typed at a hidden prompt, or all of piped stdin without its final newline.
pub fn read_secret(label: &str) -> Result<String, CliError> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return prompt(label, true);
    }
    let mut text = String::new();
    stdin
        .lock()
        .read_to_string(&mut text)
        .map_err(|e| CliError::Other(format!("cannot read the value from stdin: {e}")))?;
    let text = text.strip_suffix('\n').unwrap_or(&text);
    Ok(text.strip_suffix('\r').unwrap_or(text).to_owned())
}

/// Secrets for `keys`, one per line of piped stdin in order, or each at a hidden prompt.
pub fn read_secret_lines(keys: &[String]) -> Result<Vec<String>, CliError> {
    let stdin = std::io::stdin();
    let mut values = Vec::new();
    for key in keys {
        let value = if stdin.is_terminal() {
            prompt(key, true)?
        } else {
            read_line(&stdin)?
        };
        if value.is_empty() {
            return Err(CliError::Usage(format!("no value for secret {key} on stdin")));
        }
        values.push(value);
    }
    Ok(values)
}

/// Asks for `label` on stderr and reads one line, with the echo off when `hidden`.
pub fn prompt(label: &str, hidden: bool) -> Result<String, CliError> {
    eprint!("{label}: ");
    std::io::stderr()
        .flush()
        .map_err(|e| CliError::Other(e.to_string()))?;
    let stdin = std::io::stdin();
    match hidden {
        true => Ok(read_hidden(&stdin)?.trim_end_matches(['\r', '\n']).to_owned()),
        false => read_line(&stdin),
    }
}

/// One line of stdin without its line ending.
fn read_line(stdin: &std::io::Stdin) -> Result<String, CliError> {
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .map_err(|e| CliError::Other(e.to_string()))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// Reads a line with the terminal's echo off, so a secret does not show on screen.
fn read_hidden(stdin: &std::io::Stdin) -> Result<String, CliError> {
    let mut line = String::new();
    #[cfg(unix)]
    {
        use nix::sys::termios::{LocalFlags, SetArg, tcgetattr, tcsetattr};
        let saved = tcgetattr(stdin).map_err(|e| CliError::Other(e.to_string()))?;
        let mut quiet = saved.clone();
        quiet.local_flags.remove(LocalFlags::ECHO);
        tcsetattr(stdin, SetArg::TCSANOW, &quiet).map_err(|e| CliError::Other(e.to_string()))?;
        let read = stdin.lock().read_line(&mut line);
        let _ = tcsetattr(stdin, SetArg::TCSANOW, &saved);
        eprintln!();
        read.map_err(|e| CliError::Other(e.to_string()))?;
    }
    #[cfg(windows)]
    {
        let saved = console_echo_off(stdin)?;
        let read = stdin.lock().read_line(&mut line);
        console_mode(stdin, saved);
        eprintln!();
        read.map_err(|e| CliError::Other(e.to_string()))?;
    }
    Ok(line)
}

/// Turns the console's echo off, returning the mode to restore.
#[cfg(windows)]
fn console_echo_off(stdin: &std::io::Stdin) -> Result<u32, CliError> {
    use std::os::windows::io::AsRawHandle;
    use windows_sys::Win32::System::Console::{ENABLE_ECHO_INPUT, GetConsoleMode};
    let mut saved = 0u32;
    // SAFETY: the handle is this process's stdin; `saved` is a valid out-pointer.
    if unsafe { GetConsoleMode(stdin.as_raw_handle(), &mut saved) } == 0 {
        return Err(CliError::Other(format!(
            "cannot hide what is typed: {}; run this in a console window",
            std::io::Error::last_os_error()
        )));
    }
    console_mode(stdin, saved & !ENABLE_ECHO_INPUT);
    Ok(saved)
}

#[cfg(windows)]
fn console_mode(stdin: &std::io::Stdin, mode: u32) {
    use std::os::windows::io::AsRawHandle;
    // SAFETY: the handle is this process's stdin; a failure leaves the mode as it was.
    unsafe { windows_sys::Win32::System::Console::SetConsoleMode(stdin.as_raw_handle(), mode) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_loopback_pages_reach_the_opener() {
        // Each would be refused before any program is started.
        for url in [
            "http://auth.example/authorize",
            "file:///etc/passwd",
            "javascript:alert(1)",
            "--help",
            "ms-settings:",
        ] {
            assert!(!open_browser(url), "{url}");
        }
    }
}
