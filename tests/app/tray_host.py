"""A desktop for tests, speaking the protocols Linux desktops use: it owns
org.kde.StatusNotifierWatcher on the session bus, takes the app's StatusNotifierItem and reads
and clicks its menu over com.canonical.dbusmenu, as a panel does; and it owns
org.freedesktop.Notifications, keeping the notifications the app raises.

Usage: tray_host.py SERVER CRASHING

Prints READY once it owns both names (start the app after that), then waits for the app's
item, checks the menu shows SERVER as a running check item, clicks it and waits for "stopped"
(unchecked), clicks again and waits for "running", and turns Start at login on. Then it
prints TOGGLED and waits for the notification that CRASHING (a server the test adds now)
keeps crashing. Prints each step;
exits 1 naming the step that failed.
"""

import asyncio
import sys

from dbus_next import BusType, Message, MessageType, Variant
from dbus_next.aio import MessageBus
from dbus_next.service import PropertyAccess, ServiceInterface, dbus_property, method

WATCHER = "org.kde.StatusNotifierWatcher"
TIMEOUT = 60


class Watcher(ServiceInterface):
    """The watcher's properties; registration is caught from the message itself (its sender)."""

    def __init__(self):
        super().__init__(WATCHER)

    @method()
    def RegisterStatusNotifierHost(self, service: "s"):  # noqa: F821 - D-Bus signature
        pass

    @dbus_property(access=PropertyAccess.READ)
    def RegisteredStatusNotifierItems(self) -> "as":  # noqa: F821
        return []

    @dbus_property(access=PropertyAccess.READ)
    def IsStatusNotifierHostRegistered(self) -> "b":  # noqa: F821
        return True

    @dbus_property(access=PropertyAccess.READ)
    def ProtocolVersion(self) -> "i":  # noqa: F821
        return 0


class Notifications(ServiceInterface):
    """The freedesktop notification server's methods, keeping (summary, body) of each."""

    def __init__(self):
        super().__init__("org.freedesktop.Notifications")
        self.shown = []
        self.changed = asyncio.Event()

    @method()
    def Notify(self, app: "s", replaces: "u", icon: "s", summary: "s", body: "s",  # noqa: F821
               actions: "as", hints: "a{sv}", timeout: "i") -> "u":  # noqa: F821
        self.shown.append((summary, body))
        self.changed.set()
        return len(self.shown)

    @method()
    def GetCapabilities(self) -> "as":  # noqa: F821
        return ["body"]

    @method()
    def GetServerInformation(self) -> "ssss":  # noqa: F821
        return ["tray-host", "switchboard-tests", "1", "1.2"]

    @method()
    def CloseNotification(self, id: "u"):  # noqa: F821
        pass


def items(layout):
    """(id, label, toggle state) of every menu entry, depth first."""
    item_id, props, children = layout
    found = []
    if "label" in props:
        state = props["toggle-state"].value if "toggle-state" in props else None
        found.append((item_id, props["label"].value, state))
    for child in children:
        found.extend(items(child.value))
    return found


async def main(server, crashing):
    bus = await MessageBus(bus_type=BusType.SESSION).connect()
    registered = asyncio.get_running_loop().create_future()

    def on_message(msg):
        if msg.message_type == MessageType.METHOD_CALL and msg.member == "RegisterStatusNotifierItem":
            if not registered.done():
                registered.set_result((msg.sender, msg.body[0]))
            return Message.new_method_return(msg)
        return None

    bus.add_message_handler(on_message)
    bus.export("/StatusNotifierWatcher", Watcher())
    await bus.request_name(WATCHER)
    notifications = Notifications()
    bus.export("/org/freedesktop/Notifications", notifications)
    await bus.request_name("org.freedesktop.Notifications")
    print("READY", flush=True)

    step = "the app registers its tray item"
    try:
        print(f"- {step}", flush=True)
        sender, path = await asyncio.wait_for(registered, TIMEOUT)
        if not path.startswith("/"):
            sender, path = path, "/StatusNotifierItem"
        item_proxy = bus.get_proxy_object(sender, path, await bus.introspect(sender, path))
        menu_path = await item_proxy.get_interface("org.kde.StatusNotifierItem").get_menu()
        menu_proxy = bus.get_proxy_object(sender, menu_path, await bus.introspect(sender, menu_path))
        menu = menu_proxy.get_interface("com.canonical.dbusmenu")

        async def entry(wanted_label, wanted_state):
            """The id of the entry once the menu shows it and has settled: the app rebuilds its
            menu on every event, and a click on a replaced menu goes nowhere, as for a person."""
            deadline = asyncio.get_running_loop().time() + TIMEOUT
            while True:
                revision, layout = await menu.call_get_layout(0, -1, [])
                found = [i for i, label, state in items(layout) if label == wanted_label and state == wanted_state]
                if found:
                    await asyncio.sleep(0.3)
                    if (await menu.call_get_layout(0, -1, []))[0] == revision:
                        return found[0]
                    continue
                if asyncio.get_running_loop().time() > deadline:
                    raise TimeoutError(f"no entry {wanted_label!r} with toggle state {wanted_state}; the menu: {items(layout)}")
                await asyncio.sleep(0.1)

        step = f"the menu shows {server} running, checked, with the app's other items"
        print(f"- {step}", flush=True)
        item = await entry(f"{server} — running", 1)
        labels = [label for _, label, _ in items((await menu.call_get_layout(0, -1, []))[1])]
        for wanted in ("Open Switchboard", "Pause all", "Quit and stop servers"):
            if wanted not in labels:
                raise AssertionError(f"{wanted!r} is missing from the menu: {labels}")

        step = f"clicking {server} stops it: the item reads stopped, unchecked"
        print(f"- {step}", flush=True)
        await menu.call_event(item, "clicked", Variant("i", 0), 0)
        item = await entry(f"{server} — stopped", 0)

        step = f"clicking it again starts it: running, checked"
        print(f"- {step}", flush=True)
        await menu.call_event(item, "clicked", Variant("i", 0), 0)
        await entry(f"{server} — running", 1)

        step = "Start at login is off, and clicking it turns it on"
        print(f"- {step}", flush=True)
        login = await entry("Start at login", 0)
        await menu.call_event(login, "clicked", Variant("i", 0), 0)
        await entry("Start at login", 1)

        step = f"a crash loop of {crashing} raises a notification"
        print(f"- {step}", flush=True)
        print("TOGGLED", flush=True)
        wanted = f"{crashing} keeps crashing"
        deadline = asyncio.get_running_loop().time() + TIMEOUT
        while not any(summary == wanted for summary, _ in notifications.shown):
            notifications.changed.clear()
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise TimeoutError(f"no notification {wanted!r}; shown: {notifications.shown}")
            try:
                await asyncio.wait_for(notifications.changed.wait(), left)
            except asyncio.TimeoutError:
                pass
        print("tray host: every step passed", flush=True)
    except Exception as e:  # noqa: BLE001 - report any failure with its step
        print(f"tray host step failed: {step}\n{type(e).__name__}: {e}", file=sys.stderr, flush=True)
        sys.exit(1)


asyncio.run(main(sys.argv[1], sys.argv[2]))
