//! The tray icon as people see it: the real app (`switchboard-app`) under Xvfb, its icon
//! embedded in a real XEmbed tray host (trayer, from Debian) on a light panel and on a dark
//! one, and photographed there (`tests/app/tray_shot.py`). The glyph must be legible on both
//! (enough of it at 3:1 or more against the panel, WCAG's figure for graphics), and its
//! health badge must show without colour: a failing daemon's icon differs from a healthy
//! one's in luminance alone, as a viewer without colour vision sees it. Screenshots go to
//! `$SWITCHBOARD_SCREENSHOTS` when set.
//!
//! The app is single instance per D-Bus session, so this runs with the other app tests, one
//! at a time (`.config/nextest.toml`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::desktop::{Reaped, app_binary, tray_app, xvfb};
use common::{Sandbox, time_server, wait_until};
use serde_json::Value;

const LIGHT: &str = "0xf4f4f4";
const DARK: &str = "0x202428";
/// Pixels of the glyph (the icon less its badge) that must stand out at 3:1: a tray icon is
/// drawn at about 24 px, where the glyph's strokes cover some 150.
const GLYPH: u64 = 60;

/// A trayer panel tinted `tint` across the top of `display`.
fn trayer(display: &str, tint: &str) -> Reaped {
    let child = Command::new("trayer")
        .args([
            "--edge",
            "top",
            "--align",
            "right",
            "--widthtype",
            "request",
            "--height",
            "32",
        ])
        .args([
            "--transparent",
            "true",
            "--alpha",
            "0",
            "--tint",
            tint,
            "--SetDockType",
            "true",
        ])
        .env("DISPLAY", display)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("trayer runs (scripts/install-deps.sh --test installs it)");
    Reaped(child)
}

/// The tray photographed, with tray_shot.py's measures.
fn shot(display: &str, path: &Path) -> Option<Value> {
    let out = Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/app/tray_shot.py"))
        .arg(display)
        .arg(path)
        .output()
        .unwrap();
    out.status
        .success()
        .then(|| serde_json::from_slice(&out.stdout).unwrap())
}

/// Waits until the panel holds an icon and `settled` accepts its picture.
fn icon_shown(display: &str, path: &Path, settled: impl Fn(&Value) -> bool) -> Value {
    wait_until("the tray icon in the panel", Duration::from_secs(60), || {
        shot(display, path).filter(|s| s["icon"].as_u64().unwrap_or(0) > 100 && settled(s))
    })
}

/// How many pixels two luminance-only pictures disagree on.
fn differing(a: &Value, b: &Value) -> usize {
    let rows = |v: &Value| -> Vec<String> {
        v["luma"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap().to_owned())
            .collect()
    };
    rows(a)
        .iter()
        .zip(rows(b))
        .map(|(x, y)| x.chars().zip(y.chars()).filter(|(p, q)| p != q).count())
        .sum()
}

#[test]
fn the_tray_icon_reads_on_light_and_dark_panels_and_shows_health_without_colour() {
    assert!(
        app_binary().is_file(),
        "{} is missing: build the workspace first",
        app_binary().display()
    );
    let mut sb = Sandbox::new().own_user_home();
    sb.start_daemon();
    sb.ok(&["add", "time", "--", &time_server()]);
    sb.wait_state("time", "running", Duration::from_secs(60));
    let shots = std::env::var_os("SWITCHBOARD_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| sb.home().join("screenshots"));
    std::fs::create_dir_all(&shots).unwrap();
    let (_display, display) = xvfb();
    let app = |log: &str| tray_app(&sb, &display, log);

    let mut healthy = None;
    for (panel, tint) in [("light", LIGHT), ("dark", DARK)] {
        let _tray = trayer(&display, tint);
        let _app = app(&format!("app-{panel}.log"));
        let seen = icon_shown(&display, &shots.join(format!("tray-{panel}.png")), |_| true);
        let glyph = seen["glyph"].as_u64().unwrap();
        println!(
            "{panel} panel: {glyph} glyph pixels at 3:1, {:.2} of the icon",
            seen["legible"]
        );
        assert!(
            glyph >= GLYPH,
            "on a {panel} panel only {glyph} pixels of the glyph stand out (3:1) from the panel; see {}",
            shots.join(format!("tray-{panel}.png")).display()
        );
        if panel == "light" {
            healthy = Some(seen);
        }
    }

    // A server falls into a crash loop: the badge changes shape, not only hue.
    let healthy = healthy.unwrap();
    let _tray = trayer(&display, LIGHT);
    let _app = app("app-failing.log");
    sb.cli(&["add", "crashy", "--", "sh", "-c", "exit 3"]);
    sb.wait_state("crashy", "crash_looping", Duration::from_secs(60));
    let failing = icon_shown(&display, &shots.join("tray-failing.png"), |s| {
        differing(s, &healthy) > 20
    });
    assert!(failing["glyph"].as_u64().unwrap() >= GLYPH, "{failing}");
}
