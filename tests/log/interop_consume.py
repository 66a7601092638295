#!/usr/bin/python3
"""Reads a whole Kafka topic with python3-kafka and prints each record as one JSON line.

Used by tests/log/kafka_interop_test.cc to check that a client written independently of
librdkafka reads what the project's KafkaLog appends.

usage: interop_consume.py BOOTSTRAP TOPIC [--timeout SECONDS]

Output, one line per record, ordered by partition then offset:
  {"partition": 0, "offset": 0, "timestamp": 1700000000000, "key": "cpts-...", "value": "...",
   "headers": [["name", "value"], ...], "default_partition": 0}
key, value and header values are the UTF-8 text of the bytes (null for a null key or value);
"default_partition" is where python3-kafka's DefaultPartitioner (the Java client's murmur2) puts
the key, for the topic's partition count as the broker reports it (null without a key).

Exit status: 0 once every partition was read up to the end offset it had when the script started;
1 with a message on stderr otherwise (unknown topic, broker unreachable, timeout, bad bytes).
"""

import argparse
import json
import os
import signal
import sys
import time

from kafka import KafkaConsumer, TopicPartition
from kafka.codec import has_lz4
from kafka.partitioner import DefaultPartitioner

# What python3-kafka 2.0.2's own version probe settles on against the librdkafka mock broker
# (checked; (2, 5, 0) works too). Pinned so the client skips the probe, which fails the whole run
# with NoBrokersAvailable when it takes longer than api_version_auto_timeout_ms (2 s).
API_VERSION = (2, 3, 0)


class Timeout(Exception):
    pass


def on_alarm(signum, frame):
    raise Timeout("no answer from the broker within the time limit")


def text(data, what):
    if data is None:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"{what} is not UTF-8 ({e}): {data!r}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bootstrap")
    parser.add_argument("topic")
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args()
    # The project's KafkaLog compresses every batch with lz4; python3-kafka decodes lz4 only
    # through an optional module, and would otherwise fail on the first batch with a vaguer error.
    if not has_lz4():
        sys.exit("interop_consume.py: python3-kafka cannot decompress lz4 here, and the project "
                 "writes lz4 batches: install Debian's python3-lz4")

    # Some python3-kafka calls (metadata, end offsets) can block for long; the alarm bounds the
    # whole run so the test gets an error message instead of being killed without one.
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(int(args.timeout) + 1)
    deadline = time.monotonic() + args.timeout

    consumer = KafkaConsumer(
        bootstrap_servers=args.bootstrap.split(","),
        api_version=API_VERSION,
        group_id=None,
        enable_auto_commit=False,
        fetch_max_wait_ms=50,
        session_timeout_ms=6000,
        request_timeout_ms=10000,
    )
    partitions = None
    end = {}
    records = []
    try:
        while not partitions:
            partitions = consumer.partitions_for_topic(args.topic)
            if not partitions:
                if time.monotonic() > deadline:
                    raise Timeout()
                time.sleep(0.1)
        all_partitions = sorted(partitions)
        tps = [TopicPartition(args.topic, p) for p in all_partitions]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        end = consumer.end_offsets(tps)

        while any(consumer.position(tp) < end[tp] for tp in tps):
            if time.monotonic() > deadline:
                raise Timeout()
            for batch in consumer.poll(timeout_ms=200).values():
                records.extend(batch)
        signal.alarm(0)
    except Timeout:
        # Say how far it got; no further client call, since one may be what hangs.
        ends = {tp.partition: offset for tp, offset in end.items()}
        print(f"interop_consume.py: timed out after {args.timeout} s reading {args.topic} from "
              f"{args.bootstrap}: partitions {partitions}, end offsets {ends}, "
              f"{len(records)} records read", file=sys.stderr)
        os._exit(1)

    records.sort(key=lambda r: (r.partition, r.offset))
    partitioner = DefaultPartitioner()
    for r in records:
        where = f"{args.topic}/{r.partition}@{r.offset}"
        print(json.dumps({
            "partition": r.partition,
            "offset": r.offset,
            "timestamp": r.timestamp,
            "key": text(r.key, f"key of {where}"),
            "value": text(r.value, f"value of {where}"),
            "headers": [[name, text(value, f"header {name} of {where}")]
                        for name, value in r.headers],
            "default_partition": (None if r.key is None else
                                  partitioner(r.key, all_partitions, all_partitions)),
        }))
    consumer.close()


if __name__ == "__main__":
    try:
        main()
    except SystemExit:
        raise
    except BaseException as e:  # anything else: say what, and fail
        sys.exit(f"interop_consume.py: {type(e).__name__}: {e}")
