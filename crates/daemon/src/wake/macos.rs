//! IOKit's power notices (macOS): each wake is told with the time slept, and every sleep is
//! allowed at once (the system waits for each listener that registered). The notices come on a
//! thread of their own, whose run loop runs as long as the daemon.

use std::ffi::c_void;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;

use super::Asleep;

pub(super) const CAUSE: &str = "macos";

type IoConnect = u32;
type IoObject = u32;
type NotificationPort = *mut c_void;
type RunLoopSource = *mut c_void;
type RunLoop = *mut c_void;
type CfString = *const c_void;
type InterestCallback =
    unsafe extern "C" fn(refcon: *mut c_void, service: IoObject, message: u32, argument: *mut c_void);

/// `kIOMessageCanSystemSleep`, `kIOMessageSystemWillSleep`, `kIOMessageSystemHasPoweredOn`.
const CAN_SYSTEM_SLEEP: u32 = 0xe000_0270;
const SYSTEM_WILL_SLEEP: u32 = 0xe000_0280;
const SYSTEM_HAS_POWERED_ON: u32 = 0xe000_0300;

#[link(name = "IOKit", kind = "framework")]
unsafe extern "C" {
    fn IORegisterForSystemPower(
        refcon: *mut c_void,
        port: *mut NotificationPort,
        callback: InterestCallback,
        notifier: *mut IoObject,
    ) -> IoConnect;
    fn IONotificationPortGetRunLoopSource(port: NotificationPort) -> RunLoopSource;
    fn IOAllowPowerChange(root: IoConnect, notification: isize) -> i32;
}

#[link(name = "CoreFoundation", kind = "framework")]
unsafe extern "C" {
    fn CFRunLoopGetCurrent() -> RunLoop;
    fn CFRunLoopAddSource(run_loop: RunLoop, source: RunLoopSource, mode: CfString);
    fn CFRunLoopRun();
    #[allow(non_upper_case_globals)]
    static kCFRunLoopDefaultMode: CfString;
}

/// What the callback needs. Leaked: it lives as long as the thread that runs the callback.
struct Listener {
    /// The root power domain's connection, which sleeps are allowed on.
    root: AtomicU32,
    asleep: Asleep,
    woke: UnboundedSender<Duration>,
}

/// Registers for the power notices, on a thread that then serves them.
pub(super) fn follow(woke: UnboundedSender<Duration>) -> std::io::Result<()> {
    let (registered, outcome) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("power-notices".to_owned())
        .spawn(move || {
            let listener: &'static Listener = Box::leak(Box::new(Listener {
                root: AtomicU32::new(0),
                asleep: Asleep::default(),
                woke,
            }));
            let mut port: NotificationPort = std::ptr::null_mut();
            let mut notifier: IoObject = 0;
            // SAFETY: the callback and its refcon (the leaked listener) live for the rest of
            // the process; the out-pointers are this frame's locals.
            let root = unsafe {
                IORegisterForSystemPower(
                    std::ptr::from_ref(listener).cast_mut().cast(),
                    &raw mut port,
                    on_power,
                    &raw mut notifier,
                )
            };
            if root == 0 {
                let refused = std::io::Error::other("IOKit refused the registration for power notices");
                let _ = registered.send(Err(refused));
                return;
            }
            listener.root.store(root, Ordering::Release);
            let _ = registered.send(Ok(()));
            // SAFETY: `port` was just made by IOKit; its source joins this thread's run loop,
            // which runs for the rest of the process.
            unsafe {
                let source = IONotificationPortGetRunLoopSource(port);
                CFRunLoopAddSource(CFRunLoopGetCurrent(), source, kCFRunLoopDefaultMode);
                CFRunLoopRun();
            }
        })?;
    outcome
        .recv()
        .map_err(|_| std::io::Error::other("the thread for power notices ended before registering"))?
}

/// # Safety
/// `refcon` is the leaked [`Listener`] given at registration.
unsafe extern "C" fn on_power(refcon: *mut c_void, _: IoObject, message: u32, argument: *mut c_void) {
    // SAFETY: see above; it is never freed.
    let listener = unsafe { &*refcon.cast::<Listener>() };
    match message {
        CAN_SYSTEM_SLEEP | SYSTEM_WILL_SLEEP => {
            if message == SYSTEM_WILL_SLEEP {
                listener.asleep.began();
            }
            // SAFETY: the connection is the registered one; `argument` is the notice's id.
            unsafe {
                IOAllowPowerChange(
                    listener.root.load(Ordering::Acquire),
                    argument.addr().cast_signed(),
                )
            };
        }
        SYSTEM_HAS_POWERED_ON => {
            let _ = listener.woke.send(listener.asleep.woke());
        }
        _ => {}
    }
}
