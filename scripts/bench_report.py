#!/usr/bin/env python3
"""Render scripts/bench's measurements as the markdown report (docs/benchmarks.md).

Inputs: the emulator's JSON (bench/src/bin/lambda_bench.rs), a TSV of binary sizes
(name, arch, bytes) and criterion's target/criterion directory. Targets are issue 6's.
"""
import argparse
import datetime
import json
import os
import sys

TARGET_INIT_MS = 15.0
# A request that meets a cold start costs at most this much more than the same request warm.
TARGET_FIRST_OVER_WARM_MS = 10.0
TARGET_OVERHEAD_P99_MS = 0.2
# The targets are in MB (10^6 bytes), the strict reading; sizes print in MiB (2^20 bytes), the
# unit tools show, with the exact byte count beside them.
TARGET_RSS_BYTES = 24_000_000
TARGET_ARM64_BYTES = 6_000_000
FUNCTIONS = ["unsubscribe-webhook", "resubscribe", "reconcile"]
# Functions whose bootstrap sizes are reported (scripts/bench builds these too).
SIZED = FUNCTIONS + ["notify", "review-check"]
# Cold-start routes as the report names them.
ROUTES = {
    "unsubscribe-webhook": [("stop", "signed STOP"), ("bad_request", "400: sender not E.164")],
    "resubscribe": [
        ("resubscribe", "POST /resubscribe"),
        ("status", "GET /subscriptions/{n}"),
        ("opt_outs", "GET /opt-outs"),
        ("bad_number", "400: invalid number"),
    ],
    "reconcile": [("run", "scheduled run")],
    "baseline": [("hello", "fixed 200")],
}
MIB = 1024 * 1024


def ms(x):
    return f"{x:.3f}" if x < 10 else f"{x:.1f}"


def verdict(ok):
    return "met" if ok else "**missed**"


def cold_routes(fns, name):
    """(key, label, result) of a function's cold-start routes, in the report's order."""
    f = fns.get(name) or {}
    routes = f.get("cold_routes", {})
    known = [(k, label, routes[k]) for k, label in ROUTES.get(name, []) if k in routes]
    others = [(k, k, r) for k, r in routes.items() if k not in dict(ROUTES.get(name, []))]
    return known + others


def load_sizes(path):
    sizes = {}
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) == 3:
                sizes[(parts[0], parts[1])] = int(parts[2])
    return sizes


def load_criterion(root):
    rows = []
    if not os.path.isdir(root):
        return rows
    for dirpath, _, files in os.walk(root):
        if os.path.basename(dirpath) != "new" or "estimates.json" not in files:
            continue
        try:
            with open(os.path.join(dirpath, "benchmark.json")) as f:
                bench = json.load(f)
            with open(os.path.join(dirpath, "estimates.json")) as f:
                est = json.load(f)
        except (OSError, ValueError):
            continue
        mean = est["mean"]
        rows.append(
            (
                bench.get("full_id", dirpath),
                mean["point_estimate"],
                mean["confidence_interval"]["lower_bound"],
                mean["confidence_interval"]["upper_bound"],
                est.get("median", {}).get("point_estimate", float("nan")),
            )
        )
    order = ["parse", "keywords", "signature", "msisdn", "vonage", "handler"]
    rows.sort(key=lambda r: (order.index(r[0].split("/")[0]) if r[0].split("/")[0] in order else 99, r[0]))
    return rows


def ns(x):
    if x < 1_000:
        return f"{x:.0f} ns"
    if x < 1_000_000:
        return f"{x / 1_000:.2f} µs"
    return f"{x / 1_000_000:.2f} ms"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lambda", dest="lambda_json", required=True)
    p.add_argument("--sizes", required=True)
    p.add_argument("--criterion", default="target/criterion")
    p.add_argument("--arm64-note", default="")
    p.add_argument("--commit", default="unknown")
    a = p.parse_args()

    with open(a.lambda_json) as f:
        data = json.load(f)
    sizes = load_sizes(a.sizes)
    crit = load_criterion(a.criterion)
    fns = data["functions"]
    base = fns["baseline"]["scenarios"]["hello"]
    out = []
    w = out.append

    w("# Benchmarks")
    w("")
    w(
        f"Measured by `scripts/bench` on {datetime.date.today().isoformat()} at commit `{a.commit}`: "
        f"{data['cpu'] or 'unknown CPU'}, {data['cores']} cores, shared with other work (not an isolated "
        "machine). The functions ran as x86_64 release builds (this machine cannot run arm64 code); "
        "sizes are reported for both. How to run and what each number means: docs/performance.md."
    )
    w("")

    # ---- targets -------------------------------------------------------------------------
    w("## Against the targets")
    w("")
    w("| target | measured | verdict |")
    w("|---|---|---|")
    for name in FUNCTIONS + ["baseline"]:
        f = fns.get(name)
        if not f:
            continue
        init = f["init"]
        ok = init["p50_ms"] <= TARGET_INIT_MS
        extra = "" if ok else f" (p50 over by {init['p50_ms'] - TARGET_INIT_MS:.1f} ms)"
        w(
            f"| init <= {TARGET_INIT_MS:.0f} ms: `{name}` | p50 {ms(init['p50_ms'])} ms, p90 {ms(init['p90_ms'])} ms, "
            f"max {ms(init['max_ms'])} ms over {init['count']} starts | {verdict(ok)}{extra} |"
        )
    for name in FUNCTIONS:
        for key, label, c in cold_routes(fns, name):
            # Judged on own time: the local DynamoDB server's jitter (tens of ms on its slow
            # queries) would otherwise decide the verdict, in either direction.
            o, d = c["own_first_minus_warm"], c["first_minus_warm"]
            ok = o["p50_ms"] <= TARGET_FIRST_OVER_WARM_MS
            extra = "" if ok else f" (p50 over by {o['p50_ms'] - TARGET_FIRST_OVER_WARM_MS:.1f} ms)"
            w(
                f"| first request after a cold start <= warm + {TARGET_FIRST_OVER_WARM_MS:.0f} ms: `{name}` {label} | "
                f"own time {o['p50_ms']:+.1f} ms p50, {o['max_ms']:+.1f} ms max over {o['count']} cold starts "
                f"(latency {d['p50_ms']:+.1f} ms p50, {d['max_ms']:+.1f} ms max) | {verdict(ok)}{extra} |"
            )
    wh = fns["unsubscribe-webhook"]["scenarios"]
    for key, label in [("stop", "STOP webhook"), ("stop_redelivered", "redelivered STOP"), ("non_keyword", "non-keyword message")]:
        s = wh.get(key)
        if not s:
            continue
        over50 = s["own_time"]["p50_ms"] - base["own_time"]["p50_ms"]
        over99 = s["own_time"]["p99_ms"] - base["own_time"]["p99_ms"]
        ok = over99 <= TARGET_OVERHEAD_P99_MS
        extra = "" if ok else f" (by {over99 - TARGET_OVERHEAD_P99_MS:.3f} ms)"
        w(
            f"| handler overhead <= {TARGET_OVERHEAD_P99_MS} ms p99: {label} | {over99:+.3f} ms p99, {over50:+.3f} ms p50 "
            f"(own time minus the baseline's, DynamoDB time excluded per invocation) | {verdict(ok)}{extra} |"
        )
    for name in FUNCTIONS + ["baseline"]:
        f = fns.get(name)
        if not f:
            continue
        peak = max(f["peak_rss_kib"], f["cold_peak_rss_kib"]) * 1024
        ok = peak <= TARGET_RSS_BYTES
        extra = "" if ok else f" (by {(peak - TARGET_RSS_BYTES) / 1e6:.1f} MB)"
        w(f"| peak RSS <= 24 MB: `{name}` | {peak / MIB:.1f} MiB ({peak / 1e6:.1f} MB, VmHWM) | {verdict(ok)}{extra} |")
    for name in SIZED + ["baseline"]:
        size = sizes.get((name, "aarch64"))
        if size is None:
            host = sizes.get((name, "x86_64"))
            note = a.arm64_note or "not measured"
            stand_in = f"{host / MIB:.2f} MiB" if host else "not measured"
            w(
                f"| arm64 bootstrap <= 6 MB (6,000,000 bytes): `{name}` | not built ({note}); x86_64 stand-in "
                f"{stand_in} | unknown |"
            )
            continue
        ok = size <= TARGET_ARM64_BYTES
        extra = "" if ok else f" (by {size - TARGET_ARM64_BYTES:,} bytes)"
        w(f"| arm64 bootstrap <= 6 MB (6,000,000 bytes): `{name}` | {size / MIB:.2f} MiB ({size:,} bytes) | {verdict(ok)}{extra} |")
    for key, label in [("stop", "new STOP"), ("stop_redelivered", "redelivered STOP"), ("non_keyword", "non-keyword")]:
        s = wh.get(key)
        if not s:
            continue
        req = s["dynamodb_requests_per_invocation"]
        text = ", ".join(f"{v:g} {k}" for k, v in sorted(req.items())) or "none"
        w(f"| DynamoDB requests per {label} | {text} (counted at the proxy, real bootstrap) | reported |")
    el = data.get("eligibility")
    if el:
        rt, boot = el["round_trips"], el["bootstrap"]
        budget = rt["budget_ms"]
        for key, what in [("store", "through the store (parse + parallel BatchGetItems)"),
                          ("handler", "through the whole handler, in-process")]:
            p50 = rt[key]["p50_ms"]
            ok = p50 <= budget
            extra = "" if ok else f" (by {p50 - budget:.1f} ms, {p50 / budget:.1f}x the budget)"
            w(
                f"| send-time check, {rt['numbers']:,} numbers <= 12 GetItem round trips "
                f"(12 x p50 {rt['get_item']['p50_ms']:.2f} ms = {budget:.1f} ms): {what} | "
                f"p50 {p50:.1f} ms, p90 {rt[key]['p90_ms']:.1f} ms over {rt[key]['count']} "
                f"(parsing alone p50 {rt['parse_only']['p50_ms']:.1f} ms) | {verdict(ok)}{extra} |"
            )
        w(
            f"| send-time check: memory of the `resubscribe` bootstrap (`MemorySize` {boot['memory_size_mib']}) | "
            f"peak RSS {boot['peak_rss_kib_before'] / 1024:.1f} MiB after init and one request, "
            f"{boot['peak_rss_kib_after'] / 1024:.1f} MiB after {boot['invocations']} checks "
            f"(latency p50 {boot['latency']['p50_ms']:.1f} ms under the emulator) | reported |"
        )
    w("")
    w(
        "Why each missed target is missed, and what would close it: docs/performance.md."
    )
    w("")
    w(
        "A new opt-out is one `TransactWriteItems` of two puts (history entry + state): the fewest that keep state "
        "and history consistent (two item writes, billed as transactional writes). A redelivery costs the failed "
        "transaction plus one conditional `PutItem`, which tells a duplicate from an older event."
    )
    w("")

    # ---- emulator ------------------------------------------------------------------------
    w("## Functions under the Lambda Runtime API emulator")
    w("")
    w(
        f"Each function: {data['cold_starts']} cold starts per route (below), then one process: {data['warmup']} "
        f"warm-up invocations and {data['events_per_scenario']} sequential invocations per scenario. Latency: event "
        "handed out to response received. DynamoDB time: time the invocation's DynamoDB requests spent in the local "
        "server, measured per request by a proxy. Own time: latency minus DynamoDB time. Overhead: own time minus the "
        "baseline's own time at the same percentile."
    )
    w("")
    w("| function | host binary | init p50 / p90 / max (ms), all starts | peak RSS (MiB) |")
    w("|---|---|---|---|")
    for name in ["baseline"] + FUNCTIONS:
        f = fns.get(name)
        if not f:
            continue
        i = f["init"]
        peak = max(f["peak_rss_kib"], f["cold_peak_rss_kib"]) / 1024
        w(
            f"| `{name}` | {f['binary_bytes'] / MIB:.2f} MiB | {ms(i['p50_ms'])} / {ms(i['p90_ms'])} / {ms(i['max_ms'])} "
            f"over {i['count']} | {peak:.1f} |"
        )
    w("")
    w("### Cold starts, per route")
    w("")
    w(
        f"Per route, {data['cold_starts']} fresh processes: init (process start to the first `next` poll), the route's "
        "request as the first invocation (it pays what is built on first use: connections, lazily loaded data), then "
        "5 more of the same route in the same process, whose median is \"warm\". Init + first is what the request that "
        "met the cold start waited, beyond API Gateway and Lambda's own environment setup. Differences are per cold "
        "start (first minus that process's warm median), then summarised; own time subtracts each request's DynamoDB "
        f"time. Targets: init <= {TARGET_INIT_MS:.0f} ms, first <= warm + {TARGET_FIRST_OVER_WARM_MS:.0f} ms, judged on the "
        "own-time difference at p50: the local DynamoDB server's slow queries (`GET /subscriptions`, `GET /opt-outs`) "
        "vary by tens of ms from one request to the next, far more than the cold start adds, so their latency "
        "difference says more about the server than about the function."
    )
    w("")
    w(
        "| function / route | init p50 / max | first request p50 / max | init + first p50 / max | warm p50 | "
        "first - warm p50 / max | own time: first - warm p50 / max | errors |"
    )
    w("|---|---|---|---|---|---|---|---|")
    for name in ["baseline"] + FUNCTIONS:
        for key, label, c in cold_routes(fns, name):
            i, f1, ip, wm, d, od = (
                c["init"], c["first_request"], c["init_plus_first"], c["warm"], c["first_minus_warm"],
                c["own_first_minus_warm"],
            )
            w(
                f"| `{name}` {label}: {c['description']} | {ms(i['p50_ms'])} / {ms(i['max_ms'])} | "
                f"{ms(f1['p50_ms'])} / {ms(f1['max_ms'])} | {ms(ip['p50_ms'])} / {ms(ip['max_ms'])} | {ms(wm['p50_ms'])} | "
                f"{d['p50_ms']:+.1f} / {d['max_ms']:+.1f} | {od['p50_ms']:+.1f} / {od['max_ms']:+.1f} | {c['errors']} |"
            )
    w("")
    w(
        "| function / scenario | latency p50 / p99 | DynamoDB p50 / p99 | own p50 / p99 | overhead p50 / p99 | "
        "DynamoDB requests each | errors |"
    )
    w("|---|---|---|---|---|---|---|")
    for name in ["baseline"] + FUNCTIONS:
        f = fns.get(name)
        if not f:
            continue
        for key, s in f["scenarios"].items():
            l, d, o = s["latency"], s["dynamodb_time"], s["own_time"]
            req = ", ".join(f"{v:g} {k}" for k, v in sorted(s["dynamodb_requests_per_invocation"].items())) or "-"
            w(
                f"| `{name}` {key}: {s['description']} | {ms(l['p50_ms'])} / {ms(l['p99_ms'])} | "
                f"{ms(d['p50_ms'])} / {ms(d['p99_ms'])} | {ms(o['p50_ms'])} / {ms(o['p99_ms'])} | "
                f"{o['p50_ms'] - base['own_time']['p50_ms']:+.3f} / {o['p99_ms'] - base['own_time']['p99_ms']:+.3f} | "
                f"{req} | {s['errors']} |"
            )
    w("")

    # ---- DynamoDB ------------------------------------------------------------------------
    rt = data["dynamodb_round_trips"]
    w("## The local DynamoDB server's own round trip (same run)")
    w("")
    w(
        "Measured from the emulator process with the functions' SDK configuration, straight to the server. The "
        "local server (moto, single-threaded Python) is far slower than DynamoDB: these numbers are the floor under "
        "every STOP above, not a prediction of production."
    )
    w("")
    w("| operation | p50 (ms) | p99 (ms) | n |")
    w("|---|---|---|---|")
    for label, s in [
        ("`Store::record`, new opt-out (TransactWriteItems, 2 puts)", rt["record_new_opt_out"]),
        ("the same, again right before the STOP scenario", data["dynamodb_record_before_stop"]),
        ("`Store::state` (GetItem)", rt["get_state"]),
        ("PutItem, small item", rt["put_item"]),
    ]:
        w(f"| {label} | {ms(s['p50_ms'])} | {ms(s['p99_ms'])} | {s['count']} |")
    w("")

    # ---- criterion ------------------------------------------------------------------------
    w("## Micro-benchmarks (criterion, `shared/benches/hot_paths.rs`)")
    w("")
    if crit:
        w("| benchmark | mean | 95% interval | median |")
        w("|---|---|---|---|")
        for full_id, mean, lo, hi, median in crit:
            w(f"| `{full_id}` | {ns(mean)} | {ns(lo)} – {ns(hi)} | {ns(median)} |")
        w("")
        w(
            "`handler/*` run the whole `Webhook::handle` in-process on an API Gateway event (signature check, "
            "parsing, keyword, response); `webhook_stop_stub_dynamodb` includes the SDK's request building and "
            "SigV4 signing against a stub HTTP client that answers at once."
        )
    else:
        w("Not run in this report (BENCH_SKIP_CRITERION).")
    w("")

    # ---- sizes ---------------------------------------------------------------------------
    w("## Binary sizes (release profile of the root Cargo.toml, stripped)")
    w("")
    w("| binary | arm64 (`cargo lambda build --arm64`) | x86_64 |")
    w("|---|---|---|")
    for name in SIZED + ["baseline"]:
        arm = sizes.get((name, "aarch64"))
        host = sizes.get((name, "x86_64"))
        arm_s = f"{arm / MIB:.2f} MiB" if arm else f"not built: {a.arm64_note or 'unknown'}"
        host_s = f"{host / MIB:.2f} MiB" if host else "-"
        w(f"| `{name}` | {arm_s} | {host_s} |")
    w("")
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
