#!/usr/bin/env python3
"""Runs one monitor (ringvm or QEMU) or one native job for `make bench`.

Times the process from just before it starts: when the boot marker first
appears on its standard output, when each result line of bench/guest-jobs.sh
appears, and when it ends; its peak resident memory comes from wait4's
rusage (ru_maxrss, the largest the process itself ever was). Standard input
is /dev/null, so the run depends on nothing typed.

usage: vmrun.py --log FILE --json FILE [--marker STR] [--timeout S]
                [--set KEY=VALUE]... -- CMD...
Writes standard output to --log as it comes (standard error goes to
FILE.err), one JSON object to --json and a one-line summary on standard
output. The object holds: meta {KEY: VALUE of --set}, cmd, status (exit
status, or -signal), timed_out, wall_s, marker_s (or null), maxrss_kib,
values {figure: guest seconds}, host_s {"TAG KEY": host seconds when that
RVBENCH line arrived, in the order they came}, info {key: text}, fails
[text], done (RVBENCH-DONE seen), stderr_tail (its last lines: ringvm's
--stats).
The timeout is only a guard against hangs: a run past it is killed (SIGTERM,
then SIGKILL) and counted as failed, never as a time.
"""
import argparse
import json
import os
import select
import signal
import subprocess
import sys
import time


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--log", required=True)
    p.add_argument("--json", required=True)
    p.add_argument("--marker", default="")
    p.add_argument("--timeout", type=float, default=3600)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("cmd", nargs="+")
    return p.parse_args()


class Result:
    def __init__(self, cmd):
        self.r = {"cmd": cmd, "status": None, "timed_out": False, "wall_s": None,
                  "marker_s": None, "maxrss_kib": None, "values": {},
                  "host_s": {}, "info": {}, "fails": [], "done": False}

    def line(self, text, t):
        """Takes one line of the guest's output seen at host time t."""
        words = text.split(None, 2)
        if not words:
            return
        tag = words[0]
        if tag.startswith("RVBENCH-"):
            self.r["host_s"][" ".join(words[:2])] = round(t, 6)
        if tag == "RVBENCH-VALUE" and len(words) == 3:
            try:
                self.r["values"][words[1]] = float(words[2])
            except ValueError:
                self.r["fails"].append("unreadable: " + text)
        elif tag == "RVBENCH-INFO" and len(words) >= 2:
            self.r["info"][words[1]] = words[2] if len(words) == 3 else ""
        elif tag == "RVBENCH-FAIL":
            self.r["fails"].append(text)
        elif tag == "RVBENCH-DONE":
            self.r["done"] = True


def guard(proc, res, deadline, killed_at):
    """Past the deadline: SIGTERM once, SIGKILL 10 s later. Returns when
    SIGTERM was sent (None before)."""
    now = time.monotonic()
    if now >= deadline and killed_at is None:
        res.r["timed_out"] = True
        proc.send_signal(signal.SIGTERM)
        return now
    if killed_at is not None and now - killed_at > 10:
        proc.kill()
    return killed_at


def summary(r):
    """One line on a run: how it ended and what it measured."""
    ok = r["status"] == 0 and r["done"] and not r["fails"] and not r["timed_out"]
    words = ["ok" if ok else "FAILED (status %s%s%s)" % (
        r["status"], ", timed out" if r["timed_out"] else "",
        "" if r["done"] else ", no RVBENCH-DONE")]
    if r["marker_s"] is not None:
        words.append("marker %.2f s" % r["marker_s"])
    words += ["%s %.3f" % kv for kv in r["values"].items()]
    words.append("peak RSS %.0f MiB" % (r["maxrss_kib"] / 1024))
    words += r["fails"][:3]
    return "  %s: %s" % (r["meta"].get("config", r["cmd"][0]), ", ".join(words))


def main():
    a = parse_args()
    res = Result(a.cmd)
    res.r["meta"] = dict(kv.split("=", 1) for kv in a.set)
    marker = a.marker.encode()
    log = open(a.log, "wb")
    err = open(a.log + ".err", "wb")
    t0 = time.monotonic()
    try:
        proc = subprocess.Popen(a.cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=err)
    except OSError as e:
        print("vmrun.py: cannot start %s: %s" % (a.cmd[0], e), file=sys.stderr)
        return 2
    fd = proc.stdout.fileno()
    deadline = t0 + a.timeout
    pending = b""    # the unfinished last line
    seen = b""       # a tail kept to find a marker cut between two reads
    killed_at = None
    while True:
        killed_at = guard(proc, res, deadline, killed_at)
        ready, _, _ = select.select([fd], [], [], 0.5)
        if not ready:
            continue
        chunk = os.read(fd, 65536)
        t = time.monotonic() - t0
        if not chunk:
            break
        log.write(chunk)
        if marker and res.r["marker_s"] is None:
            seen = seen[-len(marker):] + chunk
            if marker in seen:
                res.r["marker_s"] = round(t, 6)
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for raw in lines:
            res.line(raw.decode("utf-8", "replace").strip("\r "), t)
    if pending:
        res.line(pending.decode("utf-8", "replace").strip("\r "), time.monotonic() - t0)
    # wait4 rather than Popen.wait: it gives the child's own rusage. The
    # output may end before the process does, so the guard still applies.
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        killed_at = guard(proc, res, deadline, killed_at)
        time.sleep(0.05)
    t_end = time.monotonic() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    log.close()
    err.close()
    res.r["status"] = proc.returncode
    res.r["wall_s"] = round(t_end, 6)
    res.r["maxrss_kib"] = usage.ru_maxrss
    with open(a.log + ".err", "rb") as f:
        tail = f.read()[-4096:].decode("utf-8", "replace").splitlines()
    res.r["stderr_tail"] = tail[-5:]
    with open(a.json, "w") as f:
        json.dump(res.r, f)
        f.write("\n")
    print(summary(res.r), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
