#!/usr/bin/python3
"""Produces records to a Kafka topic with python3-kafka and prints where each one landed.

Used by tests/log/kafka_interop_test.cc to check that the project's KafkaLog reads what a client
written independently of librdkafka produces, on the partition a Java client would choose.

usage: interop_produce.py BOOTSTRAP TOPIC [--timeout SECONDS] < records

Input, one JSON object per line:
  {"key": "cpts-...", "value": "...", "headers": [["name", "value"], ...], "partition": 2}
"key" may be null; "headers" may be left out; without "partition" the producer's default
partitioner chooses (python3-kafka's DefaultPartitioner: the Java client's murmur2 of the key).
Strings are sent as their UTF-8 bytes.

Output, one line per input record, in input order: {"partition": 0, "offset": 0}.
Exit status: 0 once the broker acknowledged every record (acks=all); 1 with a message on stderr
otherwise (bad input, unknown topic, broker unreachable, timeout).
"""

import argparse
import json
import os
import signal
import sys

from kafka import KafkaProducer

# What python3-kafka 2.0.2's own version probe settles on against the librdkafka mock broker
# (checked; (2, 5, 0) works too). Pinned so the client skips the probe, which fails the whole run
# with NoBrokersAvailable when it takes longer than api_version_auto_timeout_ms (2 s).
API_VERSION = (2, 3, 0)


def utf8(text, what):
    if text is None:
        return None
    if not isinstance(text, str):
        raise ValueError(f"{what} must be a string or null, got {text!r}")
    return text.encode("utf-8")


def parse(line_number, line):
    where = f"input line {line_number}"
    try:
        record = json.loads(line)
    except json.JSONDecodeError as e:
        raise ValueError(f"{where} is not JSON: {e}")
    if not isinstance(record, dict) or "value" not in record:
        raise ValueError(f"{where} must be an object with at least a \"value\"")
    headers = [(name, utf8(value, f"header {name} on {where}"))
               for name, value in record.get("headers", [])]
    return {
        "key": utf8(record.get("key"), f"key on {where}"),
        "value": utf8(record["value"], f"value on {where}"),
        "headers": headers,
        "partition": record.get("partition"),
    }


def on_alarm(signum, frame):
    # Said here, not through an exception: the hanging call may sit in a thread that swallows it.
    print("interop_produce.py: timed out waiting for the broker's acknowledgements",
          file=sys.stderr)
    os._exit(1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bootstrap")
    parser.add_argument("topic")
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args()

    records = [parse(n, line) for n, line in enumerate(sys.stdin, start=1) if line.strip()]
    if not records:
        sys.exit("interop_produce.py: no records on stdin")

    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(int(args.timeout) + 1)
    producer = KafkaProducer(
        bootstrap_servers=args.bootstrap.split(","),
        api_version=API_VERSION,
        acks="all",
        # No retries (python3-kafka's default): a retried batch could land twice or out of order,
        # and the test compares exact offsets.
        retries=0,
        max_block_ms=int(args.timeout * 1000),
        request_timeout_ms=10000,
    )
    # Fails fast, with the broker's answer, when the topic does not exist.
    if not producer.partitions_for(args.topic):
        sys.exit(f"interop_produce.py: topic {args.topic} has no partitions on {args.bootstrap}")
    futures = [producer.send(args.topic, key=r["key"], value=r["value"], headers=r["headers"],
                             partition=r["partition"])
               for r in records]
    producer.flush(timeout=args.timeout)
    for n, future in enumerate(futures, start=1):
        try:
            metadata = future.get(timeout=args.timeout)
        except Exception as e:
            sys.exit(f"interop_produce.py: record {n} was not acknowledged: {type(e).__name__}: {e}")
        print(json.dumps({"partition": metadata.partition, "offset": metadata.offset}))
    signal.alarm(0)
    producer.close(timeout=5)


if __name__ == "__main__":
    try:
        main()
    except SystemExit:
        raise
    except BaseException as e:  # anything else: say what, and fail
        sys.exit(f"interop_produce.py: {type(e).__name__}: {e}")
