//! The Windows logon task: a Task Scheduler task named `Switchboard` that starts the daemon
//! when the user logs on (and retries a start that fails), registered with `schtasks /Create
//! /XML` from `service-task.xml` in the data directory.
//!
//! A task has no environment of its own: the daemon runs with the user's environment
//! variables, so `PATH` and settings such as `SWITCHBOARD_HOME` or `SWITCHBOARD_PORT` come
//! from there (`setx`), not from the shell that installed it. `schtasks /End` ends the
//! daemon without a graceful stop, so the CLI stops a running daemon through its API first.
//! The task's state is read from `schtasks /Query`'s English words.

use std::ffi::OsStr;
use std::path::Path;

use super::{ServiceError, Spec, escape};

/// The task's name in the Task Scheduler's root folder.
pub const NAME: &str = "Switchboard";

/// The task definition for `spec`, triggered by the logon of `domain\user`.
pub fn xml(spec: &Spec, domain: Option<&OsStr>, user: Option<&OsStr>) -> String {
    let account = match (domain, user) {
        (Some(d), Some(u)) => Some(format!("{}\\{}", d.to_string_lossy(), u.to_string_lossy())),
        (None, Some(u)) => Some(u.to_string_lossy().into_owned()),
        _ => None,
    };
    let user_id = |indent: &str| {
        account
            .as_ref()
            .map(|a| format!("{indent}<UserId>{}</UserId>\n", escape(a)))
            .unwrap_or_default()
    };
    let arguments = std::iter::once("daemon".to_owned())
        .chain(spec.args.iter().map(|a| windows_quote(a)))
        .collect::<Vec<_>>()
        .join(" ");
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-16\"?>\n\
         <!-- Switchboard's daemon as a logon task, written by `switchboard service install`;\n     \
         `switchboard service uninstall` removes it. -->\n\
         <Task version=\"1.2\" xmlns=\"http://schemas.microsoft.com/windows/2004/02/mit/task\">\n\
         \x20 <RegistrationInfo>\n\
         \x20   <Description>Switchboard daemon: your MCP servers and the gateway your AI clients reach.</Description>\n\
         \x20   <URI>\\{NAME}</URI>\n\
         \x20 </RegistrationInfo>\n\
         \x20 <Triggers>\n\
         \x20   <LogonTrigger>\n\
         \x20     <Enabled>true</Enabled>\n\
         {trigger_user}\
         \x20   </LogonTrigger>\n\
         \x20 </Triggers>\n\
         \x20 <Principals>\n\
         \x20   <Principal id=\"Author\">\n\
         {principal_user}\
         \x20     <LogonType>InteractiveToken</LogonType>\n\
         \x20     <RunLevel>LeastPrivilege</RunLevel>\n\
         \x20   </Principal>\n\
         \x20 </Principals>\n\
         \x20 <Settings>\n\
         \x20   <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>\n\
         \x20   <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>\n\
         \x20   <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>\n\
         \x20   <StartWhenAvailable>true</StartWhenAvailable>\n\
         \x20   <AllowStartOnDemand>true</AllowStartOnDemand>\n\
         \x20   <Enabled>true</Enabled>\n\
         \x20   <ExecutionTimeLimit>PT0S</ExecutionTimeLimit>\n\
         \x20   <RestartOnFailure>\n\
         \x20     <Interval>PT1M</Interval>\n\
         \x20     <Count>999</Count>\n\
         \x20   </RestartOnFailure>\n\
         \x20 </Settings>\n\
         \x20 <Actions Context=\"Author\">\n\
         \x20   <Exec>\n\
         \x20     <Command>{command}</Command>\n\
         \x20     <Arguments>{arguments}</Arguments>\n\
         \x20     <WorkingDirectory>{directory}</WorkingDirectory>\n\
         \x20   </Exec>\n\
         \x20 </Actions>\n\
         </Task>\n",
        trigger_user = user_id("      "),
        principal_user = user_id("      "),
        command = escape(&spec.program.display().to_string()),
        arguments = escape(&arguments),
        directory = escape(&spec.data_dir.display().to_string()),
    )
}

/// One argument as the C runtime's command-line parser reads it back: in double quotes when
/// it has spaces or quotes, with backslashes doubled before a quote.
fn windows_quote(arg: &str) -> String {
    if !arg.is_empty() && !arg.contains([' ', '\t', '"']) {
        return arg.to_owned();
    }
    let mut out = String::from("\"");
    let mut backslashes = 0;
    for c in arg.chars() {
        match c {
            '\\' => backslashes += 1,
            '"' => {
                out.push_str(&"\\".repeat(backslashes * 2 + 1));
                out.push('"');
                backslashes = 0;
            }
            c => {
                out.push_str(&"\\".repeat(backslashes));
                out.push(c);
                backslashes = 0;
            }
        }
    }
    out.push_str(&"\\".repeat(backslashes * 2));
    out.push('"');
    out
}

fn schtasks(args: &[&str]) -> Result<String, ServiceError> {
    super::run("schtasks", "Task Scheduler", args)
}

pub(super) fn load(path: &Path, changed: bool) -> Result<(), ServiceError> {
    if changed {
        // A daemon the old task started keeps running otherwise.
        let _ = schtasks(&["/End", "/TN", NAME]);
    }
    schtasks(&["/Create", "/TN", NAME, "/XML", &path.display().to_string(), "/F"])?;
    start()
}

pub(super) fn unload() -> Result<(), ServiceError> {
    if schtasks(&["/Query", "/TN", NAME]).is_err() {
        return Ok(());
    }
    let _ = schtasks(&["/End", "/TN", NAME]);
    schtasks(&["/Delete", "/TN", NAME, "/F"]).map(drop)
}

pub(super) fn start() -> Result<(), ServiceError> {
    schtasks(&["/Run", "/TN", NAME]).map(drop)
}

/// The Task Scheduler's status word (`Running`, `Ready`, ...), or `not registered`.
pub(super) fn state() -> Result<String, ServiceError> {
    let Ok(listed) = schtasks(&["/Query", "/TN", NAME, "/FO", "LIST"]) else {
        return Ok("not registered".to_owned());
    };
    Ok(listed
        .lines()
        .find_map(|l| l.strip_prefix("Status:"))
        .map_or("unknown", str::trim)
        .to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_read_back_as_written() {
        assert_eq!(windows_quote("--secrets"), "--secrets");
        assert_eq!(windows_quote("C:\\Program Files\\x"), "\"C:\\Program Files\\x\"");
        assert_eq!(windows_quote("say \"hi\""), "\"say \\\"hi\\\"\"");
        assert_eq!(windows_quote("ends\\ "), "\"ends\\ \"");
        assert_eq!(windows_quote("a b\\"), "\"a b\\\\\"");
        assert_eq!(windows_quote(""), "\"\"");
    }
}
