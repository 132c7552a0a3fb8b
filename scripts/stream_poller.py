#!/usr/bin/env python3
"""Stand-in for the Lambda event source mapping of the table's stream, for scripts/local.

Reads the local server's DynamoDB stream (the DynamoDB Streams API, which moto serves) and
hands new records to the notify function running under `cargo lambda watch`, as Lambda would:
the same filter as template.yaml (INSERTs of history entries, sort key `E#...`), batches of up to
25, the records a response names in `batchItemFailures` retried (up to 10 times, a few seconds
apart), and then given up on, as the dead-letter queue would get them.

    python3 scripts/stream_poller.py --table optout-local --invoke http://127.0.0.1:9000
"""
import argparse
import json
import os
import sys
import time
import urllib.request

import boto3

BATCH = 25
MAX_RETRIES = 10


def wanted(record):
    image = record.get("dynamodb", {}).get("NewImage", {})
    return record.get("eventName") == "INSERT" and image.get("sk", {}).get("S", "").startswith("E#")


def invoke(url, records):
    body = json.dumps({"Records": records}, default=str).encode()
    request = urllib.request.Request(url, data=body, headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        answer = json.loads(response.read() or b"{}")
    return {f.get("itemIdentifier") for f in answer.get("batchItemFailures", [])}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", required=True)
    parser.add_argument("--invoke", required=True, help="cargo lambda watch's address")
    parser.add_argument("--interval", type=float, default=0.5)
    args = parser.parse_args()
    endpoint = os.environ["AWS_ENDPOINT_URL_DYNAMODB"]
    kw = dict(endpoint_url=endpoint, region_name=os.environ.get("AWS_REGION", "us-east-1"))
    dynamodb = boto3.client("dynamodb", **kw)
    streams = boto3.client("dynamodbstreams", **kw)
    arn = dynamodb.describe_table(TableName=args.table)["Table"]["LatestStreamArn"]
    iterators = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterators.append(
            streams.get_shard_iterator(
                StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
        )
    url = f"{args.invoke}/2015-03-31/functions/notify/invocations"
    pending = []  # (record, attempts)
    print(f"stream poller: {arn} -> {url}", flush=True)
    while True:
        fresh = []
        for i, iterator in enumerate(iterators):
            out = streams.get_records(ShardIterator=iterator, Limit=1000)
            iterators[i] = out.get("NextShardIterator") or iterator
            for record in out.get("Records", []):
                if wanted(record):
                    record["eventSourceARN"] = arn
                    fresh.append((record, 0))
        work = pending + fresh
        pending = []
        for start in range(0, len(work), BATCH):
            batch = work[start : start + BATCH]
            try:
                failed = invoke(url, [r for r, _ in batch])
            except Exception as e:  # the function is still compiling, or down: try again
                print(f"stream poller: invoke failed ({e}); retrying", flush=True)
                failed = {r["dynamodb"]["SequenceNumber"] for r, _ in batch}
            for record, attempts in batch:
                sequence = record["dynamodb"]["SequenceNumber"]
                if sequence not in failed:
                    continue
                if attempts + 1 >= MAX_RETRIES:
                    print(f"stream poller: giving up on record {sequence} (dead-letter)", flush=True)
                else:
                    pending.append((record, attempts + 1))
            if fresh:
                print(f"stream poller: {len(batch)} record(s), {len(failed)} to retry", flush=True)
        time.sleep(args.interval if not pending else 2.0)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
