//! logind's announcements of sleep, on the system bus (Linux).

use std::time::SystemTime;

use futures_util::StreamExt;

use super::Notice;

pub(super) async fn follow(notice: &Notice) -> zbus::Result<()> {
    let connection = zbus::Connection::system().await?;
    let rule = zbus::MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .interface("org.freedesktop.login1.Manager")?
        .member("PrepareForSleep")?
        .build();
    let mut signals = zbus::MessageStream::for_match_rule(rule, &connection, None).await?;
    tracing::debug!("following logind's sleeps");
    let mut asleep_since = None;
    while let Some(message) = signals.next().await {
        match message?.body().deserialize::<bool>() {
            Ok(true) => asleep_since = Some(SystemTime::now()),
            Ok(false) => {
                // The wall clock: the monotonic one stands still while the machine sleeps.
                let slept = asleep_since
                    .take()
                    .and_then(|at| at.elapsed().ok())
                    .unwrap_or_default();
                notice.woke("logind", slept);
            }
            Err(e) => tracing::debug!("an unreadable PrepareForSleep: {e}"),
        }
    }
    Ok(())
}
