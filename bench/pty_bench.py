#!/usr/bin/env python3
"""pbx-harden on a slow line: what the wizard writes, how fast it answers, what it costs.

Runs the release binary in a real pty at 80x24 on a copy of the demo system, for
TERM=xterm-256color and TERM=vt100, and reports:

  - bytes of the first frame, and time from start to the first frame (median of runs);
  - bytes per keystroke (median, max) typing 20 characters into the user name, the
    password and the SSH port field, and the keystroke-to-echo latency of each;
  - echo latency while typing 100-character worst cases for zxcvbn (random printable,
    symbol-heavy leetspeak), and how long the strength meter took to catch up;
  - bytes for moving between screens;
  - whiptail --inputbox measured the same way, side by side, when installed;
  - peak memory, binary size, plan + apply of the example answers and the audit on the
    demo system (no service restarts: --root is not /).

Usage: bench/pty_bench.py [--bin target/release/pbx-harden] [--runs 10] [--json FILE]
Speed targets are checked here and printed as PASS/MISS; nothing here is a test.
"""
import argparse
import fcntl
import json
import os
import pty
import random
import select
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENTER, TAB, DOWN, CTRL_U, CTRL_C = "\r", "\t", "\x1b[B", "\x15", "\x03"


class Pty:
    """A program in a pty, with byte accounting."""

    def __init__(self, cmd, term, rows=24, cols=80, env_extra=None):
        env = dict(os.environ)
        env.update({"TERM": term, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"})
        env.pop("NO_COLOR", None)
        env.pop("COLUMNS", None)
        env.pop("LINES", None)
        env["SSH_CONNECTION"] = ""  # set but empty: no ancestor lookup
        env["SSH_CLIENT"] = ""
        if env_extra:
            env.update(env_extra)
        self.t0 = time.perf_counter()
        pid, fd = pty.fork()
        if pid == 0:
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
            try:
                os.execvpe(cmd[0], cmd, env)
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd

    def read_quiet(self, quiet, first_timeout=5.0, max_wait=10.0):
        """Read until `quiet` seconds without output. Returns (bytes, t_first, t_last)."""
        buf = bytearray()
        first = last = None
        start = time.perf_counter()
        while time.perf_counter() - start < max_wait:
            timeout = quiet if buf else first_timeout
            r, _, _ = select.select([self.fd], [], [], timeout)
            if not r:
                break
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            now = time.perf_counter()
            first = first or now
            last = now
            buf.extend(chunk)
        return bytes(buf), first, last

    def key(self, k, quiet=0.06, expect=None):
        """Send one key; returns (bytes written back, echo latency in ms or None).

        The latency is the time until the first output chunk arrives, or, with `expect`,
        until output containing `expect` arrives (the echo itself, not a meter update)."""
        t = time.perf_counter()
        os.write(self.fd, k.encode())
        buf = bytearray()
        lat = None
        while True:
            r, _, _ = select.select([self.fd], [], [], quiet if buf else 2.0)
            if not r:
                break
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            buf.extend(chunk)
            if lat is None and (expect is None or expect.encode() in chunk):
                lat = (time.perf_counter() - t) * 1000
        return bytes(buf), lat

    def peak_kib(self):
        try:
            for line in open(f"/proc/{self.pid}/status"):
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        except OSError:
            return None
        return None

    def close(self, quit_keys):
        try:
            os.write(self.fd, quit_keys.encode())
        except OSError:
            pass
        self.read_quiet(0.2, first_timeout=1.0, max_wait=3)
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass
        os.close(self.fd)


def med(v):
    return statistics.median(v) if v else None


def typing(p, text, expect_echo=True, mask=None):
    sizes, lats = [], []
    for c in text:
        b, lat = p.key(c, expect=(mask or c) if expect_echo else None)
        sizes.append(len(b))
        if lat is not None:
            lats.append(lat)
    return sizes, lats


def hostile_strings():
    rnd = random.Random(7)
    printable = "".join(chr(c) for c in range(33, 127))
    random_printable = "".join(rnd.choice(printable) for _ in range(100))
    leet = ""
    while len(leet) < 100:
        leet += rnd.choice(["p@$$", "w0rd", "1!|", "$3cr3t", "@dm1n", "7r1xb0x", "|_|", "!!", "4$7"])
    return random_printable, leet[:100]


def wizard_session(binary, root, term):
    """One scripted run through the first screens. Returns a dict of measurements."""
    out = {}
    p = Pty([binary, "--root", root], term)
    first, t_first, t_last = p.read_quiet(0.3)
    out["first_frame_bytes"] = len(first)
    out["first_frame_ms"] = round((t_last - p.t0) * 1000, 2) if t_last else None
    b, _ = p.key(ENTER, quiet=0.15)
    out["screen_welcome_to_services_bytes"] = len(b)
    b, _ = p.key(ENTER, quiet=0.15)
    out["screen_services_to_user_bytes"] = len(b)
    sizes, lats = typing(p, "trixuser12345678abcd")
    out["user_name"] = {"bytes": sizes, "latency_ms": lats}
    # back to a valid name, then on to the password screen
    for _ in range(12):
        p.key("\x7f")
    b, _ = p.key(ENTER, quiet=0.25)
    out["screen_user_to_password_bytes"] = len(b)
    # "my own password": Down, Space, Tab to the field
    chooser = 0
    for k in (DOWN, " ", TAB):
        b, _ = p.key(k, quiet=0.2)
        chooser += len(b)
    out["password_choose_typed_bytes"] = chooser
    sizes, lats = typing(p, "Tundra mosaic 8! lan", mask="*")
    out["password"] = {"bytes": sizes, "latency_ms": lats}
    worst = {}
    for name, s in zip(("random_printable", "leetspeak_symbols"), hostile_strings()):
        p.key(CTRL_U, quiet=0.3)
        _, lats = typing(p, s, mask="*")
        # After the last key: the pause that settles the checks (250 ms), then zxcvbn on a
        # worker thread; the meter's redraw is the last output.
        t_key = time.perf_counter()
        tail, _, t_last_out = p.read_quiet(0.4, first_timeout=3.0, max_wait=5)
        settle = round((t_last_out - t_key) * 1000, 1) if t_last_out else None
        worst[name] = {
            "echo_ms_median": round(med(lats), 2) if lats else None,
            "echo_ms_max": round(max(lats), 2) if lats else None,
            "keys": len(lats),
            "meter_settle_ms_after_typing": settle,
        }
    out["password_worst_case"] = worst
    # a good password, twice, then the SSH screen
    p.key(CTRL_U, quiet=0.3)
    typing(p, "Tundra mosaic 8! lantern quill", mask="*")
    p.key(TAB, quiet=0.1)
    typing(p, "Tundra mosaic 8! lantern quill", mask="*")
    b, _ = p.key(ENTER, quiet=0.3)
    out["screen_password_to_ssh_bytes"] = len(b)
    p.key(CTRL_U, quiet=0.2)
    sizes, lats = typing(p, "22022")
    # the field takes at most 5 digits: erase and retype to get 20 keystrokes
    for _ in range(5):
        p.key("\x7f")
    s2, l2 = typing(p, "23023")
    for _ in range(5):
        p.key("\x7f")
    s3, l3 = typing(p, "24024")
    out["ssh_port"] = {"bytes": sizes + s2 + s3, "latency_ms": lats + l2 + l3}
    out["peak_rss_kib"] = p.peak_kib()
    p.close(CTRL_C + "y")
    return out


def whiptail_session(term):
    w = shutil.which("whiptail")
    if not w:
        return None
    cmd = [w, "--title", "pbx-harden", "--inputbox", "Login name", "10", "60"]
    p = Pty(cmd, term)
    first, t_first, t_last = p.read_quiet(0.3)
    sizes, lats = typing(p, "trixuser12345678abcd")
    peak = p.peak_kib()
    p.close("\x1b")
    return {
        "cmd": " ".join(cmd[1:]),
        "first_frame_bytes": len(first),
        "first_frame_ms": round((t_last - p.t0) * 1000, 2) if t_last else None,
        "typing": {"bytes": sizes, "latency_ms": lats},
        "peak_rss_kib": peak,
    }


def startup(cmd, term, runs):
    times = []
    for _ in range(runs):
        p = Pty(cmd, term)
        _, _, t_last = p.read_quiet(0.15)
        if t_last:
            times.append((t_last - p.t0) * 1000)
        p.close(CTRL_C + "y" if "pbx-harden" in cmd[0] else "\x1b")
    return round(med(times), 2) if times else None


def timed(cmd, runs, prepare):
    ts = []
    for _ in range(runs):
        env = prepare()
        t = time.perf_counter()
        r = subprocess.run(cmd(env), capture_output=True, text=True)
        ts.append((time.perf_counter() - t) * 1000)
        if r.returncode not in (0, 1):
            return {"error": (r.stdout + r.stderr)[-400:]}
    return {"median_ms": round(med(ts), 1), "max_ms": round(max(ts), 1), "runs": runs}


def summary(v):
    return {"median": med(v), "max": max(v) if v else None}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "target/release/pbx-harden"))
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--json")
    a = ap.parse_args()
    binary = os.path.abspath(a.bin)
    if not os.path.exists(binary):
        sys.exit(f"{binary} missing: run cargo build --release")
    work = tempfile.mkdtemp(prefix="pbx-harden-bench-")
    demo = os.path.join(work, "demo")
    subprocess.run([binary, "demo", "--extract", demo], check=True, capture_output=True)

    def fresh():
        d = tempfile.mkdtemp(prefix="r-", dir=work)
        shutil.rmtree(d)
        shutil.copytree(demo, d, symlinks=True)
        return d

    res = {"binary_bytes": os.path.getsize(binary), "terms": {}}
    for term in ("xterm-256color", "vt100"):
        root = fresh()
        w = wizard_session(binary, root, term)
        w["startup_first_frame_ms_median"] = startup([binary, "--root", root], term, a.runs)
        wt = whiptail_session(term)
        if wt:
            wt["startup_first_frame_ms_median"] = startup(
                [shutil.which("whiptail"), "--inputbox", "Login name", "10", "60"], term, a.runs
            )
        res["terms"][term] = {"pbx-harden": w, "whiptail": wt}

    answers = os.path.join(ROOT, "assets/demo/answers.toml")
    res["plan_ms"] = timed(lambda d: [binary, "--root", d, "plan", "--answers", answers], a.runs, fresh)
    res["apply_ms"] = timed(lambda d: [binary, "--root", d, "apply", "--answers", answers], a.runs, fresh)
    has_audit = subprocess.run([binary, "audit", "--help"], capture_output=True).returncode == 0
    res["audit_ms"] = timed(lambda d: [binary, "--root", d, "audit"], a.runs, fresh) if has_audit else "no audit command"
    musl = os.path.join(ROOT, "target/x86_64-unknown-linux-musl/release/pbx-harden")
    res["musl_binary_bytes"] = os.path.getsize(musl) if os.path.exists(musl) else None
    shutil.rmtree(work, ignore_errors=True)

    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=2)

    # ---- report ----
    def verdict(ok):
        return "PASS" if ok else "MISS"

    print(f"pbx-harden slow-line benchmark  ({time.strftime('%Y-%m-%d')}, {os.uname().machine}, "
          f"{os.cpu_count()} cpu)\n")
    print(f"binary: {res['binary_bytes']:,} bytes" + (f"; musl static: {res['musl_binary_bytes']:,}" if res["musl_binary_bytes"] else ""))
    for term, r in res["terms"].items():
        w, wt = r["pbx-harden"], r["whiptail"]
        print(f"\nTERM={term}")
        ff_ok = wt is None or w["first_frame_bytes"] <= wt["first_frame_bytes"]
        print(f"  first frame            {w['first_frame_bytes']:6d} bytes"
              + (f"   whiptail {wt['first_frame_bytes']}  ratio {w['first_frame_bytes']/wt['first_frame_bytes']:.2f}  {verdict(ff_ok)}" if wt else ""))
        st_ok = wt is None or (w["startup_first_frame_ms_median"] or 1e9) <= (wt["startup_first_frame_ms_median"] or 0) * 1.5
        print(f"  start to first frame   {w['startup_first_frame_ms_median']:6.1f} ms"
              + (f"      whiptail {wt['startup_first_frame_ms_median']} ms  {verdict(st_ok)}" if wt else ""))
        for field in ("user_name", "password", "ssh_port"):
            s = summary(w[field]["bytes"])
            lat = w[field]["latency_ms"] or [float("nan")]
            print(f"  {field:22s} bytes/key median {s['median']:4} max {s['max']:4}  {verdict(s['median'] <= 4)}"
                  f"   echo ms median {med(lat):.2f} max {max(lat):.2f}  {verdict(max(lat) <= 16)}")
        if wt:
            s = summary(wt["typing"]["bytes"])
            print(f"  whiptail typing        bytes/key median {s['median']:4} max {s['max']:4}"
                  f"   echo ms median {med(wt['typing']['latency_ms']):.2f}")
        for name, v in w["password_worst_case"].items():
            print(f"  zxcvbn worst case {name:18s} echo ms median {v['echo_ms_median']} max {v['echo_ms_max']}"
                  f"  {verdict((v['echo_ms_max'] or 1e9) <= 16)}  (meter redrawn {v['meter_settle_ms_after_typing']} ms after the last key)")
        print(f"  screen changes         welcome->services {w['screen_welcome_to_services_bytes']}  "
              f"services->user {w['screen_services_to_user_bytes']}  user->password "
              f"{w['screen_user_to_password_bytes']}  password->ssh {w['screen_password_to_ssh_bytes']} bytes")
        print(f"  peak memory            {w['peak_rss_kib']} KiB" + (f"   whiptail {wt['peak_rss_kib']} KiB" if wt else ""))
    p, ap_, au = res["plan_ms"], res["apply_ms"], res["audit_ms"]
    print(f"\nplan (example answers, demo system)   median {p.get('median_ms')} ms")
    print(f"apply (no service restarts)          median {ap_.get('median_ms')} ms  max {ap_.get('max_ms')}  "
          f"{verdict((ap_.get('median_ms') or 1e9) <= 200)} (target 200 ms)")
    if isinstance(au, dict):
        print(f"audit (demo system)                  median {au.get('median_ms')} ms  "
              f"{verdict((au.get('median_ms') or 1e9) <= 50)} (target 50 ms)")
    else:
        print(f"audit: {au}")


if __name__ == "__main__":
    main()
