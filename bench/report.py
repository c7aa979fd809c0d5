#!/usr/bin/env python3
"""report.py: the summaries of bench/run.sh.

  report.py cg WORK_DUMP IDLE_DUMP REQUESTS WORK_SECONDS IDLE_SECONDS
      Per-request cost from two callgrind dumps of one server: one taken
      after REQUESTS requests (counters zeroed just before), one after an
      idle period (counters zeroed by the previous dump). Prints one JSON
      line: instructions per request (all, and without memset, whose
      `rep stosb` valgrind counts once per byte), memset bytes-ish per
      request, and calls per request to the allocator.

  report.py hot INCLUSIVE_TXT REQUESTS
      Per-request inclusive instructions of the functions of the hot path,
      from `callgrind_annotate --inclusive=yes` output.

  report.py table RUNS_JSONL
      The table of medians per scenario, with ratios to the nginx baseline.
"""
import json
import re
import statistics
import sys

ALLOC = ("malloc", "calloc", "realloc", "free", "posix_memalign", "aligned_alloc")


def parse_callgrind(path):
    """Total Ir, self Ir per function, and calls per callee name."""
    names = {}
    total = 0
    calls = {}
    self_ir = {}
    cur_fn = None
    callee = None
    pending_call = None  # callee name whose cost line comes next
    call_incl = {}
    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            if line.startswith("summary:"):
                total = int(line.split()[1])
                continue
            m = re.match(r"^(c?fn)=\((\d+)\)(?: (.*))?$", line)
            if m:
                kind, ident, name = m.groups()
                if name is not None:
                    names[ident] = name
                name = names.get(ident, "?")
                if kind == "fn":
                    cur_fn = name
                else:
                    callee = name
                continue
            if line.startswith("calls="):
                n = int(line[6:].split()[0])
                calls[callee] = calls.get(callee, 0) + n
                pending_call = callee
                continue
            c = line[0]
            if c.isdigit() or c in "+-*":
                parts = line.split()
                if len(parts) >= 2:
                    try:
                        cost = int(parts[1])
                    except ValueError:
                        continue
                    if pending_call is not None:
                        call_incl[pending_call] = call_incl.get(pending_call, 0) + cost
                        pending_call = None
                    else:
                        self_ir[cur_fn] = self_ir.get(cur_fn, 0) + cost
                continue
    return total, self_ir, calls


def base_name(fn):
    # "malloc'2" (recursion) -> "malloc"; strip "file:" prefixes callgrind never adds here
    return fn.split("'")[0]


def cg(work, idle, requests, work_s, idle_s):
    requests = int(requests)
    work_s = float(work_s)
    idle_s = float(idle_s) or 1.0
    wt, wself, wcalls = parse_callgrind(work)
    it, iself, icalls = parse_callgrind(idle)
    scale = work_s / idle_s

    def per_req(w, i):
        return (w - i * scale) / requests

    def sum_self(selfs, pred):
        return sum(v for k, v in selfs.items() if k and pred(base_name(k)))

    def sum_calls(cs, names):
        return sum(v for k, v in cs.items() if k and base_name(k) in names)

    is_memset = lambda n: "memset" in n
    out = {
        "requests": requests,
        "ir_per_req": round(per_req(wt, it)),
        "memset_ir_per_req": round(per_req(sum_self(wself, is_memset), sum_self(iself, is_memset))),
        "allocs_per_req": round(per_req(sum_calls(wcalls, ("malloc", "calloc", "realloc")),
                                        sum_calls(icalls, ("malloc", "calloc", "realloc"))), 1),
        "frees_per_req": round(per_req(sum_calls(wcalls, ("free",)), sum_calls(icalls, ("free",))), 1),
        "idle_ir": it,
    }
    out["ir_per_req_wo_memset"] = out["ir_per_req"] - out["memset_ir_per_req"]
    print(json.dumps(out))


HOT = [
    ("PROGRAM TOTALS", "everything (all threads)"),
    ("worker_main", "http.c worker thread (the API handler side)"),
    ("api_handle", "  api_handle: one request"),
    ("gen_uuid", "    gen_uuid (RequestId)"),
    ("sq_key_lookup", "    key lookup (SQLite)"),
    ("tc3_canonical_request", "    TC3 canonical request"),
    ("tc3_derive_key", "    TC3 signing key (3 HMACs)"),
    ("tc3_signature", "    TC3 signature (SHA-256 + HMAC)"),
    ("rl_take", "    rate limit"),
    ("input_from_json", "    input mapping (JSON)"),
    ("act_describe_flow_logs", "    DescribeFlowLogs handler"),
    ("sq_flowlog_query", "      store query (count + page)"),
    ("shape_prepare", "        statement prepare (shape cache miss)"),
    ("act_create_flow_log", "    CreateFlowLog handler"),
    ("sq_resource_get", "      inventory lookups"),
    ("sq_flowlog_create", "      store create (queue + wait)"),
    ("render_flowlog", "      render_flowlog (jansson tree)"),
    ("reply_envelope", "    reply_envelope (json_dumps + json_delete)"),
    ("reply_error", "    reply_error"),
    ("writer_main", "writer thread (group commit)"),
    ("job_flowlog_create", "  the create job"),
    ("run_batch", "  batch incl. BEGIN/SAVEPOINT/COMMIT"),
    ("__memset_avx2_unaligned_erms", "memset (MHD pool reset; Ir = bytes)"),
    ("malloc", "malloc"),
    ("free", "free"),
]


def hot(path, requests):
    requests = int(requests)
    best = {}
    with open(path, errors="replace") as f:
        for line in f:
            m = re.match(r"^\s*([\d,]+) \(\s*[\d.]+%\)\s+(\S.*?)(?: \[.*\])?$", line)
            if not m:
                continue
            n = int(m.group(1).replace(",", ""))
            fn = m.group(2)
            if fn == "PROGRAM TOTALS":
                name = fn
            else:
                name = fn.rsplit(":", 1)[-1].split("'")[0]
                name = re.sub(r"\.(isra|part|constprop)\.\d+$", "", name)
            best[name] = max(best.get(name, 0), n)
    total = best.get("PROGRAM TOTALS", 1)
    for key, label in HOT:
        if key in best:
            print("%-48s %10d  %5.1f%%" % (label, best[key] / requests, 100.0 * best[key] / total))


def fmt_us(us):
    if us is None:
        return "-"
    if us < 1000:
        return "%d us" % us
    return "%.2f ms" % (us / 1000.0)


def table(path):
    runs = {}
    order = []
    extra = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                r = json.loads(line)
            except ValueError:
                continue
            b = r.get("bench", "setup" if "setup" in r else None)
            if b in ("startup", "rss", "callgrind", "setup", "pager", "wal", "pg-cpu", "redis-cpu"):
                extra.setdefault(b, []).append(r)
                continue
            if b not in runs:
                runs[b] = []
                order.append(b)
            runs[b].append(r)
    med = {}
    for b in order:
        rs = runs[b]
        med[b] = {
            "n": len(rs),
            "rps": statistics.median(r["rps"] for r in rs),
            "ok_rps": statistics.median(r.get("ok_rps", 0) for r in rs),
            "p50": statistics.median(r["p50_us"] for r in rs),
            "p99": statistics.median(r["p99_us"] for r in rs),
            "gen": statistics.median(r.get("gen_cpu", 0) for r in rs),
            "srv": statistics.median(r.get("server_cpu", 0) for r in rs),
            "load": statistics.median(r.get("loadavg", 0) for r in rs),
            "others": statistics.median(r.get("others_cpu", -1) for r in rs),
            "cs": statistics.median(r.get("server_ctxsw_per_req", 0) for r in rs),
            "us_req": statistics.median(1e6 * r.get("server_cpu", 0) / r["rps"] if r["rps"] else 0 for r in rs),
            "codes": rs[-1].get("codes", {}),
            "all": [round(r["rps"]) for r in rs],
        }
    base = med.get("nginx-static", {}).get("rps")
    print("%-16s %4s %9s %9s %9s %9s %7s %6s %7s %6s %6s %6s  %s" % (
        "scenario", "runs", "req/s", "ok/s", "p50", "p99", "x nginx", "srvCPU", "us/req", "cs/req",
        "genCPU", "others", "per-run req/s"))
    for b in order:
        m = med[b]
        ratio = ("%.3f" % (m["rps"] / base)) if base else "-"
        others = ("%5.0f%%" % (m["others"] * 100)) if m["others"] >= 0 else "%5.1fL" % m["load"]
        cs = "-" if b.startswith("nginx") else "%.1f" % m["cs"]
        print("%-16s %4d %9.0f %9.0f %9s %9s %7s %5.0f%% %7.0f %6s %5.0f%% %6s  %s" % (
            b, m["n"], m["rps"], m["ok_rps"], fmt_us(m["p50"]), fmt_us(m["p99"]), ratio,
            m["srv"] * 100, m["us_req"], cs, m["gen"] * 100, others, m["all"]))
    print("  (srvCPU: server CPU in % of one core; us/req: server CPU per answer; cs/req: server\n"
          "   context switches per answer; genCPU: the generator; others: everything else on the\n"
          "   machine meanwhile, % of one core, or the 1-min load average (L) if not recorded)")
    print()
    for b in order:
        codes = " ".join("%s=%d" % kv for kv in sorted(med[b]["codes"].items()))
        print("  %-16s answers (last run): %s" % (b, codes))
    for tls, plain in (("create-https", "create"), ("describe-https", "describe-1m")):
        if tls in med and plain in med and med[plain]["rps"]:
            print("\n  %s / %s: %.2f x the requests/s (%.0f / %.0f), p50 %s / %s, server CPU per "
                  "answer %.0f / %.0f us" % (
                      tls, plain, med[tls]["rps"] / med[plain]["rps"], med[tls]["rps"],
                      med[plain]["rps"], fmt_us(med[tls]["p50"]), fmt_us(med[plain]["p50"]),
                      med[tls]["us_req"], med[plain]["us_req"]))
    redis_us = {}
    for name in sorted({r["after"] for r in extra.get("redis-cpu", [])}):
        if name not in med or not med[name]["rps"]:
            continue
        cpu = statistics.median(r["redis_cpu"] for r in extra["redis-cpu"] if r["after"] == name)
        redis_us[name] = 1e6 * cpu / med[name]["rps"]
    pairs = [("describe-1m-redis", "describe-1m")] + [
        ("pg-describe-1m-redis-%dn" % n, "pg-describe-1m-%dn" % n) for n in range(1, 9)]
    for shared, local in pairs:
        if shared in med and local in med and med[local]["rps"]:
            print("\n  rate limit in Redis / in the node (%s / %s): %.2f x the requests/s (%.0f / %.0f), "
                  "p50 %s / %s, p99 %s / %s, node CPU per answer %.0f / %.0f us (%+.0f us), "
                  "Redis's own CPU per answer %.0f us" % (
                      shared, local, med[shared]["rps"] / med[local]["rps"], med[shared]["rps"],
                      med[local]["rps"], fmt_us(med[shared]["p50"]), fmt_us(med[local]["p50"]),
                      fmt_us(med[shared]["p99"]), fmt_us(med[local]["p99"]), med[shared]["us_req"],
                      med[local]["us_req"], med[shared]["us_req"] - med[local]["us_req"],
                      redis_us.get(shared, 0)))
    if "describe-1m" in med and "describe-1k" in med:
        print("\n  describe p50 at 1,000,000 / at 1,000 flow logs: %.2f x" % (
            med["describe-1m"]["p50"] / max(1, med["describe-1k"]["p50"])))
    for name in sorted({r["after"] for r in extra.get("pg-cpu", [])}):
        cpu = [r["pg_cpu"] for r in extra["pg-cpu"] if r["after"] == name]
        print("  PostgreSQL server CPU during %s: median %.0f%% of one core (srvCPU above: the nodes)" % (
            name, 100 * statistics.median(cpu)))
    for name in sorted({r["after"] for r in extra.get("wal", [])}):
        sizes = [r["wal_max_bytes"] for r in extra["wal"] if r["after"] == name]
        print("  largest WAL during %s: median %.1f MB (max %.1f MB)" % (
            name, statistics.median(sizes) / 1048576, max(sizes) / 1048576))
    if "describe-alone" in med and "describe-pager" in med:
        pages = extra.get("pager", [])
        print("\n  DescribeFlowLogs p99 while one client pages DescribeNetworkInterfaces over 50,000 "
              "ENIs / alone: %.2f x (%s / %s)" % (
                  med["describe-pager"]["p99"] / max(1, med["describe-alone"]["p99"]),
                  fmt_us(med["describe-pager"]["p99"]), fmt_us(med["describe-alone"]["p99"])))
        if pages:
            print("  pager: %d pages per run (median), page p50 %s p99 %s, errors %d" % (
                statistics.median(r["pages"] for r in pages),
                fmt_us(statistics.median(r["p50_us"] for r in pages)),
                fmt_us(statistics.median(r["p99_us"] for r in pages)),
                sum(r["errors"] for r in pages)))
    for r in extra.get("startup", []):
        print("  start to first answer (1,000,000 flow logs): median %.1f ms (min %.1f, max %.1f)" % (
            r["median_ms"], r["min_ms"], r["max_ms"]))
    for r in extra.get("rss", []):
        print("  memory after %s: anon (heap, SQLite caches) %.1f MB; Pss %.1f MB (file %.1f MB, "
              "shm %.1f MB); VmRSS %.1f MB counts mapped file pages once per mapping" % (
            r.get("after", "?"), r["anon_kb"] / 1024, r.get("pss_kb", 0) / 1024,
            r.get("pss_file_kb", 0) / 1024, r.get("pss_shmem_kb", 0) / 1024, r["rss_kb"] / 1024))
    for r in extra.get("callgrind", []):
        print("  callgrind %-9s %8d instr/request (%d without memset), %.1f allocations/request" % (
            r["scenario"], r["ir_per_req"], r["ir_per_req_wo_memset"], r["allocs_per_req"]))


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "cg" and len(sys.argv) == 7:
        cg(*sys.argv[2:])
    elif len(sys.argv) == 4 and sys.argv[1] == "hot":
        hot(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 3 and sys.argv[1] == "table":
        table(sys.argv[2])
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()
