#!/usr/bin/env python3
"""Render scripts/bench's measurements as the markdown report (docs/benchmarks.md).

Inputs: the emulator's JSON (bench/src/bin/lambda_bench.rs), a TSV of binary sizes
(name, arch, bytes) and criterion's target/criterion directory. The targets are docs/performance.md's.
"""
import argparse
import datetime
import json
import os
import sys

# Init at most a plain lambda_http function's (the baseline's, same build, same run) + this.
TARGET_INIT_OVER_BASELINE_MS = 1.5
# A request that meets a cold start costs at most this much more than the same request warm.
TARGET_FIRST_OVER_WARM_MS = 1.0
TARGET_OVERHEAD_P99_MS = 0.2
# The send-time check's own CPU for 1,000 numbers (criterion, DynamoDB stubbed), and the
# resubscribe function's peak RSS after 20 such checks.
TARGET_ELIGIBILITY_CPU_MS = 5.0
ELIGIBILITY_BENCH = "handler/eligibility_1000_stub_dynamodb"
TARGET_ELIGIBILITY_RSS_BYTES = 16 * 1024 * 1024
# The targets are in MB (10^6 bytes), the strict reading; sizes print in MiB (2^20 bytes), the
# unit tools show, with the exact byte count beside them.
TARGET_RSS_BYTES = 24_000_000
TARGET_ARM64_BYTES = 6_000_000
# Run under the emulator (lambda-bench); SIZED adds the functions only sized here.
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
# Warm scenarios as the report names them (others: their key).
SCENARIOS = {
    "hello": "fixed 200",
    "non_keyword": "signed non-keyword message",
    "stop": "signed STOP, a new number each time",
    "stop_redelivered": "the same STOPs redelivered",
    "resubscribe": "POST /resubscribe",
    "status": "GET /subscriptions/{n}, opted out",
    "run": "scheduled run, one page of 5",
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


def table(w, header, rows):
    w("| " + " | ".join(header) + " |")
    w("|" + "---|" * len(header))
    for row in rows:
        w("| " + " | ".join(row) + " |")
    w("")


def requests_text(req):
    return ", ".join(f"{v:g} {k}" for k, v in sorted(req.items())) or "none"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lambda", dest="lambda_json", required=True)
    p.add_argument("--sizes", required=True)
    p.add_argument("--criterion", default="target/criterion")
    p.add_argument("--arm64-note", default="")
    p.add_argument("--commit", default="unknown")
    p.add_argument("--date", default=datetime.date.today().isoformat(), help="the day measured (default: today)")
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
        f"Generated by `scripts/bench` on {a.date} at `{a.commit}`: {data['cpu'] or 'unknown CPU'}, "
        f"{data['cores']} cores shared with other work. x86_64 release builds under the local Lambda Runtime "
        "API emulator against the local DynamoDB server; arm64 sizes from `cargo lambda build --arm64`. Times in "
        "ms. Own time: latency minus the invocation's DynamoDB time, whose jitter here exceeds what is judged. "
        "Targets, method and the reasons for each miss: [performance.md](performance.md)."
    )
    w("")

    # ---- per function: init, memory, size --------------------------------------------------
    base_init = fns["baseline"]["init"]["p50_ms"]
    target_init = base_init + TARGET_INIT_OVER_BASELINE_MS
    w(
        f"## Per function (init p50 <= the baseline's + {TARGET_INIT_OVER_BASELINE_MS} ms = {target_init:.2f} ms, "
        f"peak RSS <= {TARGET_RSS_BYTES / 1e6:.0f} MB, arm64 bootstrap <= {TARGET_ARM64_BYTES:,} bytes)"
    )
    w("")
    rows = []
    for name in SIZED + ["baseline"]:
        f = fns.get(name)
        misses = []
        init_s = rss_s = "-"
        if f:
            i = f["init"]
            init_s = f"{ms(i['p50_ms'])} / {ms(i['p90_ms'])} / {ms(i['max_ms'])} ({i['count']})"
            if name != "baseline" and i["p50_ms"] > target_init:
                misses.append(f"init by {i['p50_ms'] - target_init:.2f} ms")
            peak = max(f["peak_rss_kib"], f["cold_peak_rss_kib"]) * 1024
            rss_s = f"{peak / MIB:.1f} MiB"
            if peak > TARGET_RSS_BYTES:
                misses.append(f"RSS by {(peak - TARGET_RSS_BYTES) / 1e6:.1f} MB")
        arm = sizes.get((name, "aarch64"))
        if arm is None:
            arm_s = f"not built: {a.arm64_note or 'unknown'}"
            known = False
        else:
            arm_s = f"{arm:,}"
            known = True
            if arm > TARGET_ARM64_BYTES:
                misses.append(f"size by {arm - TARGET_ARM64_BYTES:,} bytes")
        if name == "baseline":
            v = "(reference)"
        elif misses:
            v = "**missed**: " + ", ".join(misses)
        else:
            v = "met" if known else "size unknown"
        rows.append([f"`{name}`", init_s, rss_s, arm_s, v])
    table(w, ["function", "init p50 / p90 / max (starts)", "peak RSS", "arm64 bytes", "verdict"], rows)

    # ---- cold starts -----------------------------------------------------------------------
    w(f"## Cold starts (first request <= warm + {TARGET_FIRST_OVER_WARM_MS} ms, own time at p50)")
    w("")
    w(
        f"{data['cold_starts']} fresh processes per route: the first request, then 5 more (their median: \"warm\")."
    )
    w("")
    rows = []
    for name in ["baseline"] + FUNCTIONS:
        for key, label, c in cold_routes(fns, name):
            f1, wm, od = c["first_request"], c["warm"], c["own_first_minus_warm"]
            if name == "baseline":
                v = "(reference)"
            else:
                ok = od["p50_ms"] <= TARGET_FIRST_OVER_WARM_MS
                v = verdict(ok) + ("" if ok else f" (by {od['p50_ms'] - TARGET_FIRST_OVER_WARM_MS:.2f} ms)")
            rows.append([
                f"`{name}` {label}", f"{ms(f1['p50_ms'])} / {ms(f1['max_ms'])}", ms(wm["p50_ms"]),
                f"{od['p50_ms']:+.2f} / {od['max_ms']:+.1f}", ms(c["init_plus_first"]["p50_ms"]), v,
            ])
    table(w, ["route", "first p50 / max", "warm p50", "own: first - warm p50 / max", "init + first p50", "verdict"], rows)

    # ---- warm invocations --------------------------------------------------------------------
    w(f"## Warm invocations (webhook handler overhead <= {TARGET_OVERHEAD_P99_MS} ms at p99)")
    w("")
    w(
        f"{data['events_per_scenario']} invocations per scenario after {data['warmup']} warm-up ones; overhead: own "
        "time minus the baseline's."
    )
    w("")
    rows = []
    for name in ["baseline"] + FUNCTIONS:
        f = fns.get(name)
        if not f:
            continue
        for key, s in f["scenarios"].items():
            l, o = s["latency"], s["own_time"]
            over50 = o["p50_ms"] - base["own_time"]["p50_ms"]
            over99 = o["p99_ms"] - base["own_time"]["p99_ms"]
            v = "-"
            if name == "unsubscribe-webhook":
                ok = over99 <= TARGET_OVERHEAD_P99_MS
                v = verdict(ok) + ("" if ok else f" (by {over99 - TARGET_OVERHEAD_P99_MS:.3f} ms)")
            rows.append([
                f"`{name}` {SCENARIOS.get(key, key)}", f"{ms(l['p50_ms'])} / {ms(l['p99_ms'])}",
                f"{ms(o['p50_ms'])} / {ms(o['p99_ms'])}", f"{over50:+.3f} / {over99:+.3f}",
                requests_text(s["dynamodb_requests_per_invocation"]), v,
            ])
    table(w, ["scenario", "latency p50 / p99", "own p50 / p99", "overhead p50 / p99", "DynamoDB requests", "verdict"], rows)
    errors = [
        f"`{name}` {key}: {c['errors']}"
        for name in ["baseline"] + FUNCTIONS
        for key, _, c in cold_routes(fns, name)
        if c["errors"]
    ] + [
        f"`{name}` {key}: {s['errors']}"
        for name in ["baseline"] + FUNCTIONS
        for key, s in (fns.get(name) or {}).get("scenarios", {}).items()
        if s["errors"]
    ]
    w("Errors: " + ("; ".join(errors) if errors else "none") + ".")
    w("")

    # ---- send-time check ----------------------------------------------------------------------
    el = data.get("eligibility")
    if el:
        rt, boot = el["round_trips"], el.get("bootstrap")
        budget = rt["budget_ms"]
        w(
            f"## Send-time check ({rt['numbers']:,} numbers <= 12 GetItem round trips: "
            f"12 x {rt['get_item']['p50_ms']:.2f} = {budget:.1f} ms)"
        )
        w("")
        rows = [["GetItem round trip (`Store::state`)", f"{rt['get_item']['p50_ms']:.2f}", f"{rt['get_item']['p90_ms']:.2f}", "-"]]
        for key, what in [("store", "through the store (parse + parallel BatchGetItems)"),
                          ("handler", "through the whole handler, in-process")]:
            p50 = rt[key]["p50_ms"]
            ok = p50 <= budget
            v = verdict(ok) + ("" if ok else f" ({p50 / budget:.1f}x)")
            rows.append([what, f"{p50:.1f}", f"{rt[key]['p90_ms']:.1f}", v])
        rows.append(["parsing alone", f"{rt['parse_only']['p50_ms']:.1f}", f"{rt['parse_only']['p90_ms']:.1f}", "-"])
        if boot:
            rows.append(["the bootstrap under the emulator", f"{boot['latency']['p50_ms']:.1f}", f"{boot['latency']['p90_ms']:.1f}", "-"])
        cpu = next((median for i, _, _, _, median in crit if i == ELIGIBILITY_BENCH), None)
        if cpu is not None:
            ok = cpu / 1e6 <= TARGET_ELIGIBILITY_CPU_MS
            rows.append([
                f"the handler's own CPU (criterion `{ELIGIBILITY_BENCH}`, median; <= {TARGET_ELIGIBILITY_CPU_MS:.0f} ms)",
                f"{cpu / 1e6:.2f}", "-", verdict(ok) + ("" if ok else f" (by {cpu / 1e6 - TARGET_ELIGIBILITY_CPU_MS:.2f} ms)"),
            ])
        table(w, ["what", "p50", "p90", "verdict"], rows)
        if boot:
            after = boot["peak_rss_kib_after"] * 1024
            ok = after <= TARGET_ELIGIBILITY_RSS_BYTES
            w(
                f"Memory (`resubscribe`, `MemorySize` {boot['memory_size_mib']}): peak RSS "
                f"{boot['peak_rss_kib_before'] / 1024:.1f} MiB after init and one request, "
                f"{after / MIB:.1f} MiB after {boot['invocations']} checks "
                f"(<= {TARGET_ELIGIBILITY_RSS_BYTES / MIB:.0f} MiB: {verdict(ok)})."
            )
            w("")

    # ---- DynamoDB ------------------------------------------------------------------------
    rt = data["dynamodb_round_trips"]
    w("## The local DynamoDB server's own round trip")
    w("")
    w(
        "From the emulator process, p50 / p99 (n): the floor under every STOP above, not production's. " + "; ".join(
            f"{label} {ms(s['p50_ms'])} / {ms(s['p99_ms'])} ({s['count']})"
            for label, s in [
                ("`Store::record` of a new opt-out", rt["record_new_opt_out"]),
                ("the same right before the STOP scenario", data["dynamodb_record_before_stop"]),
                ("`Store::state` (GetItem)", rt["get_state"]),
                ("a small PutItem", rt["put_item"]),
            ]
        ) + "."
    )
    w("")

    # ---- criterion ------------------------------------------------------------------------
    w("## Micro-benchmarks (criterion, `shared/benches/hot_paths.rs`)")
    w("")
    if crit:
        # One clause per group: "parse: get_query 2.25 µs, post_form 3.58 µs; keywords: ...".
        groups = {}
        for i, _, _, _, median in crit:
            group, _, name = i.partition("/")
            groups.setdefault(group, []).append(f"{name or group} {ns(median)}")
        w("Medians. " + "; ".join(f"{g}: " + ", ".join(items) for g, items in groups.items()) + ".")
    else:
        w("Not run in this report (BENCH_SKIP_CRITERION).")
    w("")
    print("\n".join(out).rstrip("\n"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
