"""A RabbitMQ client of the Janus API, with pika (Debian's python3-pika): publishes each
request given (JSON) to the incoming queue with a correlation id (corr-0, corr-1, ...) and
prints every message of the outgoing queue, one JSON line each with its properties, until
nothing comes for 10 seconds.

usage: rabbitmq_client.py <port> <incoming queue> <outgoing queue> <request>...
"""
import json
import sys

import pika

port, to_janus, from_janus = int(sys.argv[1]), sys.argv[2], sys.argv[3]
connection = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", port))
channel = connection.channel()
for i, request in enumerate(sys.argv[4:]):
    props = pika.BasicProperties(correlation_id=f"corr-{i}", reply_to="tests", content_type="application/json")
    channel.basic_publish("", to_janus, request.encode(), props)
for method, props, body in channel.consume(from_janus, auto_ack=True, inactivity_timeout=10):
    if method is None:
        break
    seen = {
        "correlation_id": props.correlation_id,
        "reply_to": props.reply_to,
        "content_type": props.content_type,
        "body": json.loads(body),
    }
    print(json.dumps(seen), flush=True)
connection.close()
