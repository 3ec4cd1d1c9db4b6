//! Tauri's build step: reads tauri.conf.json and embeds the app's icons and splash page.

fn main() {
    tauri_build::build();
}
