//! logind's announcements of sleep, on the system bus (Linux).

use futures_util::StreamExt;

use super::{Asleep, Notice};

pub(super) async fn follow(notice: &Notice) -> zbus::Result<()> {
    let connection = zbus::Connection::system().await?;
    let rule = zbus::MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .interface("org.freedesktop.login1.Manager")?
        .member("PrepareForSleep")?
        .build();
    let mut signals = zbus::MessageStream::for_match_rule(rule, &connection, None).await?;
    tracing::debug!("following logind's sleeps");
    let asleep = Asleep::default();
    while let Some(message) = signals.next().await {
        match message?.body().deserialize::<bool>() {
            Ok(true) => asleep.began(),
            Ok(false) => {
                notice.woke("logind", asleep.woke());
            }
            Err(e) => tracing::debug!("an unreadable PrepareForSleep: {e}"),
        }
    }
    Ok(())
}
