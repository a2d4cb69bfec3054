"""`janus.plugin.testfault` in Python, for the containment tests: a plugin that misbehaves on
request. `ping` counts (saved state), `spin` loops forever, `alloc` takes `mb` MiB, `panic`
raises an exception nobody catches."""

import portunus

VERSION = 1


class TestFault(portunus.Plugin):
    def __init__(self):
        self.counts = portunus.Keyed("count/")

    def info(self, config):
        return portunus.info("janus.plugin.testfault", "Test fault (Python)", version=VERSION)

    def handle_message(self, msg):
        request = (msg.body or {}).get("request")
        if request == "ping":
            self.counts["pings"] = self.counts.get("pings", 0) + 1
            return {"testfault": "pong", "version": VERSION, "count": self.counts["pings"], "lang": "py"}
        if request == "spin":
            while True:
                pass
        if request == "alloc":
            block = bytearray(msg.body["mb"] << 20)
            return {"testfault": "alloc", "mb": len(block) >> 20}
        if request == "panic":
            raise RuntimeError("testfault: raising on request")
        raise portunus.PluginError(499, f"unknown request {request!r}")


WitWorld = portunus.export(TestFault)
