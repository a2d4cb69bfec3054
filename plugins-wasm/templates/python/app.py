"""A Portunus plugin in Python: copy this folder to start one (see docs/plugins.md).

`janus.plugin.hello` answers `{"request": "hello", "name": "..."}` with a greeting and how many
greetings the handle got; the count is saved state, so it survives hot reloads and crashes.
"""

import portunus
from portunus import STRING, Field, PluginError

PACKAGE = "janus.plugin.hello"
CODES = portunus.ErrorCodes(invalid_json=490, missing_element=491, invalid_element=492)
FIELDS = [Field("request", STRING, required=True), Field("name", STRING, nonempty=True)]


class Hello(portunus.Plugin):
    def __init__(self):
        # Saved for the plugin: handle id -> greetings so far.
        self.greetings = portunus.Keyed("greetings/")

    def info(self, config):
        return portunus.info(PACKAGE, "Hello", description="Greets whoever asks", version=1)

    def handle_message(self, msg):
        body = portunus.parse_body(msg.body, FIELDS, CODES)
        if body["request"] != "hello":
            raise PluginError(493, f"Unknown request '{body['request']}'")
        count = self.greetings.get(msg.handle.handle, 0) + 1
        self.greetings[msg.handle.handle] = count
        portunus.log.info(f"greeting {body.get('name', 'world')}")
        return {"hello": "greeting", "text": f"Hello, {body.get('name', 'world')}!", "count": count}

    def destroy_handle(self, handle):
        self.greetings.pop(handle.handle, None)


WitWorld = portunus.export(Hello)
