"""Plays logind on a private D-Bus bus: announces the machine is going to sleep (`true`) or
has woken (`false`) with org.freedesktop.login1.Manager.PrepareForSleep, as logind does.

Usage: logind.py BUS_ADDRESS true|false
"""
import asyncio
import sys

from dbus_next import Message
from dbus_next.aio import MessageBus


async def main(address, going):
    bus = await MessageBus(bus_address=address).connect()
    await bus.request_name("org.freedesktop.login1")
    signal = Message.new_signal(
        "/org/freedesktop/login1",
        "org.freedesktop.login1.Manager",
        "PrepareForSleep",
        "b",
        [going],
    )
    await bus.send(signal)
    bus.disconnect()


asyncio.run(main(sys.argv[1], sys.argv[2] == "true"))
