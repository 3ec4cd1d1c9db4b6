//! The machine a client's files are looked for on: its OS, home, environment variables and
//! which files exist, either this process's own or a simulated one.
//!
//! Path rules are written once against [`Env`], so the rules of every OS are tested on any
//! host: a simulated Windows machine builds `C:\Users\ada\.cursor\mcp.json` with backslashes
//! and answers "does it exist?" from a list of files given by the test. This module knows no
//! client; the per-client rules are in [`crate::catalog`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use switchboard_model::Os;

/// A path on the machine an [`Env`] describes, spelled with that OS's separator.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OsPath {
    os: Os,
    text: String,
}

impl OsPath {
    pub fn new(os: Os, text: impl Into<String>) -> Self {
        Self {
            os,
            text: text.into(),
        }
    }

    /// `self` with `relative` appended; `relative` is written with `/` whatever the OS.
    pub fn join(&self, relative: &str) -> Self {
        let separator = separator(self.os);
        let mut text = self.text.trim_end_matches(['/', '\\']).to_owned();
        for part in relative.split('/').filter(|p| !p.is_empty()) {
            text.push(separator);
            text.push_str(part);
        }
        Self { os: self.os, text }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The directory holding this path, if it has one.
    pub fn parent(&self) -> Option<Self> {
        let trimmed = self.text.trim_end_matches(['/', '\\']);
        let cut = trimmed.rfind(['/', '\\'])?;
        let parent = &trimmed[..cut];
        (!parent.is_empty() && !parent.ends_with(':')).then(|| Self::new(self.os, parent))
    }

    /// The path as this host spells it; meaningful when the `Env` is the host's own.
    pub fn to_path_buf(&self) -> PathBuf {
        PathBuf::from(&self.text)
    }
}

impl std::fmt::Display for OsPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

fn separator(os: Os) -> char {
    match os {
        Os::Windows => '\\',
        Os::Linux | Os::MacOs => '/',
    }
}

/// What is on the machine: the real file system, or a fixed set of paths for tests.
#[derive(Debug, Clone)]
enum Files {
    Host,
    Simulated(BTreeSet<String>),
}

/// An OS, a home directory, environment variables and files.
#[derive(Debug, Clone)]
pub struct Env {
    os: Os,
    home: String,
    vars: BTreeMap<String, String>,
    files: Files,
}

impl Env {
    /// This process's machine. `None` when no home directory can be found.
    pub fn current() -> Option<Self> {
        let os = Os::current();
        let vars: BTreeMap<String, String> = std::env::vars().collect();
        let home_var = if os == Os::Windows { "USERPROFILE" } else { "HOME" };
        let home = vars.get(home_var).filter(|h| !h.is_empty())?.clone();
        Some(Self {
            os,
            home,
            vars,
            files: Files::Host,
        })
    }

    /// A machine described by the caller: `files` are the paths that exist (a directory exists
    /// when it is named or holds a named file).
    pub fn simulated(os: Os, home: &str, vars: &[(&str, &str)], files: &[&str]) -> Self {
        Self {
            os,
            home: home.to_owned(),
            vars: vars
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            files: Files::Simulated(files.iter().map(|f| (*f).to_owned()).collect()),
        }
    }

    pub fn os(&self) -> Os {
        self.os
    }

    pub fn home(&self) -> OsPath {
        OsPath::new(self.os, &self.home)
    }

    /// A variable's value; unset and empty are the same, as most programs treat them.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }

    /// A variable naming a directory, as a path.
    pub fn dir_var(&self, name: &str) -> Option<OsPath> {
        self.var(name).map(|v| OsPath::new(self.os, v))
    }

    /// `$XDG_CONFIG_HOME` (only an absolute one counts, per the spec), else `~/.config`.
    pub fn xdg_config(&self) -> OsPath {
        self.dir_var("XDG_CONFIG_HOME")
            .filter(|p| p.as_str().starts_with('/'))
            .unwrap_or_else(|| self.home().join(".config"))
    }

    /// `$XDG_DATA_HOME` (absolute only), else `~/.local/share`.
    pub fn xdg_data(&self) -> OsPath {
        self.dir_var("XDG_DATA_HOME")
            .filter(|p| p.as_str().starts_with('/'))
            .unwrap_or_else(|| self.home().join(".local/share"))
    }

    /// Windows' roaming application data (`%APPDATA%`), else its usual place under the home.
    pub fn appdata(&self) -> OsPath {
        self.dir_var("APPDATA")
            .unwrap_or_else(|| self.home().join("AppData/Roaming"))
    }

    /// Windows' local application data (`%LOCALAPPDATA%`), else its usual place.
    pub fn local_appdata(&self) -> OsPath {
        self.dir_var("LOCALAPPDATA")
            .unwrap_or_else(|| self.home().join("AppData/Local"))
    }

    /// macOS's per-user Application Support directory.
    pub fn application_support(&self) -> OsPath {
        self.home().join("Library/Application Support")
    }

    pub fn exists(&self, path: &OsPath) -> bool {
        match &self.files {
            Files::Host => path.to_path_buf().exists(),
            Files::Simulated(files) => {
                let dir = format!("{}{}", path.as_str(), separator(self.os));
                files.contains(path.as_str()) || files.iter().any(|f| f.starts_with(&dir))
            }
        }
    }

    /// The names of the entries of a directory (empty if it does not exist).
    pub fn list_dir(&self, dir: &OsPath) -> Vec<String> {
        match &self.files {
            Files::Host => std::fs::read_dir(dir.to_path_buf())
                .map(|entries| {
                    entries
                        .filter_map(|e| e.ok()?.file_name().into_string().ok())
                        .collect()
                })
                .unwrap_or_default(),
            Files::Simulated(files) => {
                let prefix = format!("{}{}", dir.as_str(), separator(self.os));
                let names: BTreeSet<String> = files
                    .iter()
                    .filter_map(|f| f.strip_prefix(&prefix))
                    .filter_map(|rest| rest.split(['/', '\\']).next())
                    .filter(|name| !name.is_empty())
                    .map(str::to_owned)
                    .collect();
                names.into_iter().collect()
            }
        }
    }

    /// The first line of a small text file, trimmed (pointer files such as LM Studio's).
    pub fn read_pointer(&self, path: &OsPath) -> Option<String> {
        match &self.files {
            Files::Host => std::fs::read_to_string(path.to_path_buf())
                .ok()
                .and_then(|text| text.lines().next().map(|l| l.trim().to_owned()))
                .filter(|l| !l.is_empty()),
            // A simulated pointer file is given as `path=target`.
            Files::Simulated(files) => {
                let key = format!("{}=", path.as_str());
                files.iter().find_map(|f| f.strip_prefix(&key).map(str::to_owned))
            }
        }
    }

    /// A program on `PATH`, by its absolute path (`.exe` and `.cmd` tried on Windows).
    pub fn find_program(&self, name: &str) -> Option<OsPath> {
        let (list_separator, suffixes): (char, &[&str]) = match self.os {
            Os::Windows => (';', &[".exe", ".cmd", ".bat"]),
            Os::Linux | Os::MacOs => (':', &[""]),
        };
        let path = self.var("PATH").or_else(|| self.var("Path"))?;
        path.split(list_separator)
            .filter(|dir| !dir.is_empty())
            .flat_map(|dir| {
                suffixes
                    .iter()
                    .map(move |suffix| OsPath::new(self.os, dir).join(&format!("{name}{suffix}")))
            })
            .find(|candidate| self.exists(candidate))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_use_the_simulated_oss_separator() {
        let windows = Env::simulated(Os::Windows, r"C:\Users\ada", &[], &[]);
        assert_eq!(
            windows.home().join(".cursor/mcp.json").as_str(),
            r"C:\Users\ada\.cursor\mcp.json"
        );
        assert_eq!(windows.appdata().as_str(), r"C:\Users\ada\AppData\Roaming");
        let linux = Env::simulated(Os::Linux, "/home/ada", &[], &[]);
        assert_eq!(
            linux.home().join(".cursor/mcp.json").as_str(),
            "/home/ada/.cursor/mcp.json"
        );
        assert_eq!(
            linux.home().join("a/b").parent().map(|p| p.to_string()),
            Some("/home/ada/a".into())
        );
    }

    #[test]
    fn relative_xdg_directories_are_ignored() {
        let env = Env::simulated(Os::Linux, "/home/ada", &[("XDG_CONFIG_HOME", "rel/dir")], &[]);
        assert_eq!(env.xdg_config().as_str(), "/home/ada/.config");
        let env = Env::simulated(Os::Linux, "/home/ada", &[("XDG_CONFIG_HOME", "/cfg")], &[]);
        assert_eq!(env.xdg_config().as_str(), "/cfg");
    }

    #[test]
    fn simulated_files_answer_existence_listing_and_program_lookup() {
        let env = Env::simulated(
            Os::Windows,
            r"C:\Users\ada",
            &[("PATH", r"C:\bin;C:\tools")],
            &[r"C:\tools\code.cmd", r"C:\pk\Claude_abc\x.json", r"C:\pk\Other_1"],
        );
        assert!(env.exists(&OsPath::new(Os::Windows, r"C:\pk")));
        assert!(!env.exists(&OsPath::new(Os::Windows, r"C:\p")));
        assert_eq!(
            env.list_dir(&OsPath::new(Os::Windows, r"C:\pk")),
            ["Claude_abc", "Other_1"]
        );
        assert_eq!(
            env.find_program("code").map(|p| p.to_string()),
            Some(r"C:\tools\code.cmd".into())
        );
        assert_eq!(env.find_program("zed"), None);
    }
}
