#!/usr/bin/env python3
"""Turns the runs of bench/linux.sh into figures: medians, a JSON line per
figure and column, and the tables printed on the terminal.

usage: linux-report.py --runs DIR --out FILE.jsonl --configs "A B ..."
                       [--title T] [--meta KEY=VALUE]... [--note=TEXT]...
Reads DIR/*.json (bench/vmrun.py's objects, "meta" naming the column),
writes FILE.jsonl (one line per figure and column, format in docs/bench.md)
and FILE without .jsonl plus -meta.json (how the figures were made). Only
runs that ended well count (status 0, RVBENCH-DONE, no RVBENCH-FAIL, no
timeout); the others are listed, and the exit status is then 1, as it is
when the runs disagree on the data (md5, compressed size) or forked less
than asked.
"""
import argparse
import collections
import glob
import json
import os
import re
import statistics
import sys

# figure, unit, label of its row, short name (a column of the ratios), digits
FIGURES = [
    ("boot_to_marker_s", "s", "boot: start to init marker", "boot", 2),
    ("md5sum_s", "s", "md5sum of {mib} MiB", "md5sum", 2),
    ("gzip9_s", "s", "gzip -9 of {mib} MiB", "gzip -9", 2),
    ("fork_exec_s", "s", "{forks} fork+exec of /bin/true", "fork+exec", 2),
    ("dd_syscalls_s", "s", "dd bs=1 count={bytes} (2 syscalls/B)", "dd bs=1", 2),
    ("peak_rss_mib", "MiB", "peak RSS of the process", "peak RSS", 0),
    ("wall_to_exit_s", "s", "start to exit (whole run)", None, 1),
    ("mips", "MIPS", "ringvm --stats", None, 0),
]
CPU_JOBS = ["md5sum_s", "gzip9_s"]
MIPS_RE = re.compile(r"stats: (\d+) instructions in ([0-9.]+) s = ([0-9.]+) MIPS")


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--runs", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--configs", required=True)
    p.add_argument("--title", default="")
    p.add_argument("--meta", action="append", default=[])
    p.add_argument("--note", action="append", default=[])
    return p.parse_args()


def run_ok(r):
    return (r["status"] == 0 and r["done"] and not r["fails"] and not r["timed_out"]
            and (r["meta"]["vmm"] == "native" or r["marker_s"] is not None))


def boot_only(r):
    return "jobs=none" in r["info"].get("params", "")


def figures_of(r):
    """The figures one run gives, by name."""
    f = dict(r["values"])
    if r["meta"]["vmm"] == "native":
        return f
    f["boot_to_marker_s"] = r["marker_s"]
    f["wall_to_exit_s"] = r["wall_s"]
    if not boot_only(r):
        f["peak_rss_mib"] = round(r["maxrss_kib"] / 1024, 1)
    for line in r.get("stderr_tail", []) if r["meta"]["vmm"] == "ringvm" else []:
        m = MIPS_RE.search(line)
        if m:
            f["mips"] = float(m.group(3))
    return f


def checks(runs, params):
    """The mechanics: errors when the data differ anywhere or the forks did
    not happen; notes when the guest's clock disagrees with the host's."""
    errors, notes = [], []
    for key in ("md5", "gzip_bytes"):
        seen = {r["info"][key] for r in runs if key in r["info"]}
        if len(seen) > 1:
            errors.append("%s differs between runs: %s" % (key, " ".join(sorted(seen))))
    forks = int(params["forks"]) if params["forks"].isdigit() else 0
    for r in runs:
        n = r["info"].get("forks_counted")
        if n is not None and int(n) < forks:
            errors.append("%s: only %s processes for %d fork+exec" % (r["tag"], n, forks))
        # Each job's time as the guest measured it against the host's time
        # between the line before it and its own: the guest clock must
        # neither run fast nor slow by much.
        stamps = list(r["host_s"].items())
        for i, (key, t) in enumerate(stamps):
            tag, _, name = key.partition(" ")
            if tag != "RVBENCH-VALUE" or i == 0 or r["meta"]["vmm"] == "native":
                continue
            gap, guest = t - stamps[i - 1][1], r["values"][name]
            if gap < guest - 0.25 or gap > guest * 1.15 + 1.0:
                notes.append("%s: %s is %.2f s by the guest clock, %.2f s by the host's"
                             % (r["tag"], name, guest, gap))
    return errors, notes


def fmt(v, digits):
    return "-" if v is None else "%.*f" % (digits, v)


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def table(rows, header):
    widths = [max(len(str(row[i])) for row in [header] + rows) for i in range(len(header))]
    out = []
    for row in [header] + rows:
        cells = [str(row[0]).ljust(widths[0])]
        cells += [str(c).rjust(w) for c, w in zip(row[1:], widths[1:])]
        out.append("  ".join(cells))
    return "\n".join(out)


def main():
    a = parse_args()
    configs = a.configs.split()
    runs, failed = [], []
    for path in sorted(glob.glob(os.path.join(a.runs, "*.json"))):
        with open(path) as f:
            r = json.load(f)
        r["tag"] = os.path.basename(path)[:-5]
        (runs if run_ok(r) else failed).append(r)
    params = collections.defaultdict(lambda: "?")
    # Every run is given the same sizes; a boot-only one ran no jobs.
    for r in sorted(runs + failed, key=boot_only):
        if "params" in r["info"]:
            params.update(kv.split("=", 1) for kv in r["info"]["params"].split() if "=" in kv)
            break
    meta_of = {}
    for r in runs + failed:
        meta_of.setdefault(r["meta"]["config"], r["meta"])

    # figure -> config -> [values in run order]
    values = {}
    for r in runs:
        for name, v in figures_of(r).items():
            if v is not None:
                values.setdefault(name, {}).setdefault(r["meta"]["config"], []).append(v)
    median = {(n, c): statistics.median(vs) for n, by in values.items() for c, vs in by.items()}

    with open(a.out + ".tmp", "w") as f:
        for name, unit, _, _, _ in FIGURES:
            for c in configs:
                vs = values.get(name, {}).get(c)
                if not vs:
                    continue
                m = meta_of[c]
                nfail = sum(1 for r in failed if r["meta"]["config"] == c)
                f.write(json.dumps({"figure": name, "unit": unit, "vmm": m["vmm"], "path": m["path"],
                                    "config": c, "flags": m["flags"], "runs": vs,
                                    "median": round(median[(name, c)], 6), "failed": nfail}) + "\n")
    os.replace(a.out + ".tmp", a.out)
    errors, notes = checks(runs, params)
    notes = a.note + notes
    meta = dict(kv.split("=", 1) for kv in a.meta)
    meta.update({"params": dict(params), "columns": {c: meta_of.get(c) for c in configs},
                 "notes": notes, "errors": errors, "failed_runs": [r["tag"] for r in failed]})
    meta_path = re.sub(r"\.jsonl$", "", a.out) + "-meta.json"
    with open(meta_path, "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")

    # The medians: a row per figure, a column per configuration.
    print()
    print("Linux guest (%s), median of the runs that ended well:" % a.title)
    rows = []
    for name, unit, label, _, digits in FIGURES:
        if name in values:
            rows.append(["%s (%s)" % (label.format_map(params), unit)]
                        + [fmt(median.get((name, c)), digits) for c in configs])
    print(table(rows, ["figure"] + configs))

    # The ratios of the medians: every ringvm column against every QEMU
    # column, and every monitor against the host for the CPU jobs.
    vmms = [c for c in configs if c in meta_of and meta_of[c]["vmm"] != "native"]
    pairs = [(x, y) for x in vmms if meta_of[x]["vmm"] == "ringvm"
             for y in vmms if meta_of[y]["vmm"] == "qemu"]
    shown = [(name, short) for name, _, _, short, _ in FIGURES if short and name in values]
    if pairs:
        print()
        print("ringvm / QEMU, time or memory (above 1: ringvm is slower or bigger):")
        rows = [["%s / %s" % (x, y)] + [fmt(ratio(median.get((n, x)), median.get((n, y))), 2)
                                         for n, _ in shown] for x, y in pairs]
        print(table(rows, ["columns"] + [short for _, short in shown]))
    rows = [[c] + [fmt(ratio(median.get((n, c)), median.get((n, "native"))), 1)
                   for n, _ in shown if n in CPU_JOBS]
            for c in vmms if any((n, c) in median for n in CPU_JOBS)]
    if ("md5sum_s", "native") in median and rows:
        print()
        print("slowdown against the host, same busybox and data (native: %s):" % ", ".join(
            "%s %s s" % (short, fmt(median.get((n, "native")), 3)) for n, short in shown if n in CPU_JOBS))
        print(table(rows, ["column"] + [short for n, short in shown if n in CPU_JOBS]))
    print()
    for c in configs:
        m = meta_of.get(c)
        if m:
            print("  %-16s %s %s%s" % (c, m["vmm"], m["path"], (", " + m["flags"]) if m["flags"] else ""))
    for n in notes:
        print("  note: " + n)
    for e in errors:
        print("  ERROR: " + e)
    for r in failed:
        print("  FAILED run %s: status %s%s%s %s" % (
            r["tag"], r["status"], ", timed out" if r["timed_out"] else "",
            "" if r["done"] else ", no RVBENCH-DONE", " ".join(r["fails"][:3])))
    print("  results: %s (a JSON line per figure and column), %s" % (a.out, meta_path))
    return 1 if failed or errors else 0


if __name__ == "__main__":
    sys.exit(main())
