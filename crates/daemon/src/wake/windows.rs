//! Windows' suspend-resume notification: each wake is told with the time slept. The callback
//! runs on a thread of the system's; the registration lasts as long as the daemon.

use std::ffi::c_void;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;
use windows_sys::Win32::System::Power::{
    DEVICE_NOTIFY_SUBSCRIBE_PARAMETERS, PowerRegisterSuspendResumeNotification,
};
use windows_sys::Win32::UI::WindowsAndMessaging::{
    DEVICE_NOTIFY_CALLBACK, PBT_APMRESUMEAUTOMATIC, PBT_APMSUSPEND,
};

use super::Asleep;

pub(super) const CAUSE: &str = "windows";

/// What the callback needs. Leaked: the registration is never removed.
struct Listener {
    asleep: Asleep,
    woke: UnboundedSender<Duration>,
}

/// Registers for the suspend-resume notification.
pub(super) fn follow(woke: UnboundedSender<Duration>) -> std::io::Result<()> {
    let listener: &'static Listener = Box::leak(Box::new(Listener {
        asleep: Asleep::default(),
        woke,
    }));
    let parameters = Box::leak(Box::new(DEVICE_NOTIFY_SUBSCRIBE_PARAMETERS {
        Callback: Some(on_power),
        Context: std::ptr::from_ref(listener).cast_mut().cast(),
    }));
    let mut registration = std::ptr::null_mut();
    // SAFETY: the parameters and the listener they point to are leaked, so they outlive the
    // registration; `registration` is this frame's local.
    let status = unsafe {
        PowerRegisterSuspendResumeNotification(
            DEVICE_NOTIFY_CALLBACK,
            std::ptr::from_mut(parameters).cast(),
            &raw mut registration,
        )
    };
    if status != 0 {
        return Err(std::io::Error::from_raw_os_error(status.cast_signed()));
    }
    Ok(())
}

/// # Safety
/// `context` is the leaked [`Listener`] given at registration.
unsafe extern "system" fn on_power(context: *const c_void, kind: u32, _: *const c_void) -> u32 {
    // SAFETY: see above; it is never freed.
    let listener = unsafe { &*context.cast::<Listener>() };
    match kind {
        PBT_APMSUSPEND => listener.asleep.began(),
        // Sent on every resume, whether or not someone is at the machine.
        PBT_APMRESUMEAUTOMATIC => {
            let _ = listener.woke.send(listener.asleep.woke());
        }
        _ => {}
    }
    0
}
