"""A RabbitMQ client of the Janus API, with pika (Debian's python3-pika): publishes each
request given (JSON) to the incoming queue with a correlation id (corr-0, corr-1, ...) and
prints every message of the outgoing queue, one JSON line each with its properties, until
nothing comes for 10 seconds.

With --repeat, the requests are published again every second until something is heard (for
a queue that is being declared again).

usage: rabbitmq_client.py [--repeat] <port> <incoming queue> <outgoing queue> <request>...
"""
import json
import sys

import pika

args = sys.argv[1:]
repeat = args[0] == "--repeat"
if repeat:
    args.pop(0)
port, to_janus, from_janus, requests = int(args[0]), args[1], args[2], args[3:]
connection = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", port))
channel = connection.channel()


def publish():
    for i, request in enumerate(requests):
        props = pika.BasicProperties(correlation_id=f"corr-{i}", reply_to="tests", content_type="application/json")
        channel.basic_publish("", to_janus, request.encode(), props)


publish()
heard, quiet = False, 0
for method, props, body in channel.consume(from_janus, auto_ack=True, inactivity_timeout=1):
    if method is None:
        quiet += 1
        if quiet >= 10:
            break
        if repeat and not heard:
            publish()
        continue
    heard, quiet = True, 0
    seen = {
        "correlation_id": props.correlation_id,
        "reply_to": props.reply_to,
        "content_type": props.content_type,
        "body": json.loads(body),
    }
    print(json.dumps(seen), flush=True)
connection.close()
