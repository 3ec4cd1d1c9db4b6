"""Closes a process's windows the way a window manager does when a person clicks the close
button: a WM_DELETE_WINDOW message to each of its top-level windows (found by _NET_WM_PID).

Usage: close_window.py PID (on $DISPLAY). Exits 1 if the process has no window to close.
"""

import sys

from Xlib import X, display
from Xlib.protocol import event


def windows_of(screen, pid, net_wm_pid):
    for window in screen.root.query_tree().children:
        prop = window.get_full_property(net_wm_pid, X.AnyPropertyType)
        if prop is not None and pid in prop.value:
            yield window


def main():
    pid = int(sys.argv[1])
    xdisplay = display.Display()
    protocols = xdisplay.intern_atom("WM_PROTOCOLS")
    delete = xdisplay.intern_atom("WM_DELETE_WINDOW")
    closed = 0
    for window in windows_of(xdisplay.screen(), pid, xdisplay.intern_atom("_NET_WM_PID")):
        if delete not in (window.get_wm_protocols() or []):
            continue
        message = event.ClientMessage(window=window, client_type=protocols,
                                      data=(32, [delete, X.CurrentTime, 0, 0, 0]))
        window.send_event(message, event_mask=X.NoEventMask)
        closed += 1
    xdisplay.sync()
    if not closed:
        sys.exit(f"process {pid} has no window to close")
    print(f"closed {closed} window(s)")


if __name__ == "__main__":
    main()
