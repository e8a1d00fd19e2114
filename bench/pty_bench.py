#!/usr/bin/env python3
"""pbx-harden on a slow line: what the wizard writes, how fast it answers, what it costs.

Runs the release binary in a real pty at 80x24 on a copy of the demo system, for
TERM=xterm-256color and TERM=vt100, and reports:

  - bytes of the first frame, and time from start to the first frame (median of runs) of
    this release build and of the static musl binary the packages ship (when built; the
    target is judged on that one, the one admins install), taking turns with whiptail;
  - bytes per keystroke (median, max) typing 20 characters into the user name, the
    password and the SSH port field, and the keystroke-to-echo latency of each;
  - echo latency while typing 100-character worst cases for zxcvbn (random printable,
    symbol-heavy leetspeak), and how long the strength meter took to catch up;
  - bytes for moving between screens;
  - whiptail --inputbox measured the same way, side by side, when installed;
  - peak memory, binary size, plan + apply of the example answers and the audit on the
    demo system (no service restarts: --root is not /);
  - scale: the audit of a FreePBX box with 5,000 extensions (generated here: FreePBX's
    sip_additional.conf, 32-hex secrets, one in ten weak) against the demo's, with peak
    memory; rotating 400, 4,000 and 20,000 weak secrets (a plan with only
    [extensions] rotate_weak = true);
  - the whole walk through the wizard at 9600 baud next to whiptail (bench/walk.py), on the
    demo and (TERM=vt100) on the 5,000-extension box.

Usage: bench/pty_bench.py [--bin target/release/pbx-harden] [--runs 20] [--json FILE] [--quick]
Speed targets are checked here and printed as PASS/MISS (with the ratio); nothing here is a
test. Timings share the machine with whatever else runs: medians of repeated runs, and
the ratios (measured side by side in the same run) matter more than the milliseconds.
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

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
        p.key(CTRL_U, quiet=0.5)
        _, lats = typing(p, s, mask="*")
        # The meter: cleared (Ctrl-U, then the pause), the same text arrives in one write
        # (a paste), and the score shows after the pause that settles the checks (250 ms)
        # plus zxcvbn on its worker thread.
        p.key(CTRL_U, quiet=0.5)
        t_paste = time.perf_counter()
        os.write(p.fd, s.encode())
        _, _, t_last_out = p.read_quiet(1.0, first_timeout=3.0, max_wait=6)
        settle = round((t_last_out - t_paste) * 1000, 1) if t_last_out else None
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


def startup_pair(mine, theirs, term, runs):
    """Start to first frame, medians of `runs`, the two programs alternating (same load)."""
    return startup_many([mine, theirs], term, runs)


def startup_many(cmds, term, runs):
    """Start to first frame of each command (None: skipped), medians of `runs`, taking turns
    (the same load for each)."""
    times = [[] for _ in cmds]
    for _ in range(runs):
        for cmd, into in zip(cmds, times):
            if cmd is None:
                continue
            p = Pty(cmd, term)
            _, _, t_last = p.read_quiet(0.15)
            if t_last:
                into.append((t_last - p.t0) * 1000)
            p.close(CTRL_C + "y" if "pbx-harden" in cmd[0] else "\x1b")
    return tuple(round(med(t), 2) if t else None for t in times)


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


def freepbx_sip_additional(n, weak_every=10, seed=15):
    """FreePBX's sip_additional.conf for n extensions: 32-hex secrets, one in ten weak."""
    rnd = random.Random(seed)
    out = [";" + "-" * 80 + ";\n"
           "; Do NOT edit this file as it is auto-generated by FreePBX. All modifications to ;\n"
           "; this file must be done via the web gui. There are alternative files to make    ;\n"
           "; custom modifications, details at: http://freepbx.org/configuration_files       ;\n"
           ";" + "-" * 80 + ";\n;\n\n"]
    weak = ["{ext}", "1234", "password", "secret{ext}", "amp111", "{ext}{ext}", "letmein", "pbx{ext}"]
    for i in range(n):
        ext = 1000 + i
        s = rnd.choice(weak).format(ext=ext) if i % weak_every == 0 else "%032x" % rnd.getrandbits(128)
        out.append(f"[{ext}]\ndeny=0.0.0.0/0.0.0.0\nsecret={s}\ndtmfmode=rfc2833\ncanreinvite=no\n"
                   f"context=from-internal\nhost=dynamic\ntrustrpid=yes\nsendrpid=no\ntype=friend\n"
                   f"nat=yes\nport=5060\nqualify=yes\nqualifyfreq=60\ntransport=udp\navpf=no\n"
                   f"icesupport=no\nencryption=no\ncallgroup=\npickupgroup=\ndial=SIP/{ext}\n"
                   f"mailbox={ext}@device\npermit=0.0.0.0/0.0.0.0\ncallerid=device <{ext}>\n"
                   f"callcounter=yes\nfaxdetect=no\n\n")
    return "".join(out)


def weak_phones(n, seed=18):
    """sip_custom.conf (the admin's file) with n phones whose secrets are weak."""
    rnd = random.Random(seed)
    pool = ["{ext}", "1234", "password", "secret", "amp111", "letmein"]
    return "".join(
        f"[{5000 + i}]\ntype=friend\nhost=dynamic\ncontext=from-internal\n"
        f"secret={rnd.choice(pool).format(ext=5000 + i)}\n\n"
        for i in range(n))


def run_rss(cmd, limit=120.0):
    """(ms, peak RSS in KiB, exit status) of one run; killed after `limit` seconds (status -9)."""
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while True:
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() - t > limit:
            p.kill()
            _, status, ru = os.wait4(p.pid, 0)
            break
        time.sleep(0.005)
    ms = (time.perf_counter() - t) * 1000
    p.returncode = os.waitstatus_to_exitcode(status)
    return ms, ru.ru_maxrss, p.returncode


def median_rss(cmd, runs):
    ms, kib = [], []
    for _ in range(runs):
        t, k, rc = run_rss(cmd)
        if rc == -9:
            return {"error": "killed after 120 s", "median_ms": None, "peak_rss_kib": k}
        if rc not in (0, 1):
            return {"error": f"exit {rc}: {' '.join(cmd)}"}
        ms.append(t)
        kib.append(k)
    return {"median_ms": round(med(ms), 1), "max_ms": round(max(ms), 1), "peak_rss_kib": max(kib), "runs": runs}


def scale(binary, demo, work, runs):
    """The audit of a 5,000-extension FreePBX box next to the demo's; rotation at 400, 4,000, 20,000."""
    res = {}
    box = os.path.join(work, "freepbx-5000")
    shutil.copytree(demo, box, symlinks=True)
    with open(os.path.join(box, "etc/asterisk/sip_additional.conf"), "w") as f:
        f.write(freepbx_sip_additional(5000))
    res["box"] = box
    res["audit_demo"] = median_rss([binary, "--root", demo, "audit"], runs)
    res["audit_5000"] = median_rss([binary, "--root", box, "audit"], max(3, runs // 4))
    answers = os.path.join(work, "rotate.toml")
    with open(answers, "w") as f:
        f.write("[extensions]\nrotate_weak = true\n")
    rot = {}
    for n in (400, 4000, 20000):
        d = os.path.join(work, f"rot-{n}")
        shutil.copytree(demo, d, symlinks=True)
        with open(os.path.join(d, "etc/asterisk/sip_custom.conf"), "w") as f:
            f.write(weak_phones(n))
        rot[n] = median_rss([binary, "--root", d, "plan", "--answers", answers], 3 if n < 20000 else 1)
    res["rotation"] = rot
    return res


def summary(v):
    return {"median": med(v), "max": max(v) if v else None}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "target/release/pbx-harden"))
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--json")
    ap.add_argument("--quick", action="store_true", help="a smoke run: few runs, no walk, no scale")
    a = ap.parse_args()
    if a.quick:
        a.runs = min(a.runs, 3)
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

    # The binary admins install: packaging/build puts the static musl one into the .deb and
    # .rpm. Start-up is measured for both (taking turns with whiptail) and judged on that one
    # when it is built (bench/run builds it when the target is installed).
    musl = os.path.join(ROOT, "target/x86_64-unknown-linux-musl/release/pbx-harden")
    musl = musl if os.path.exists(musl) else None
    res = {"binary_bytes": os.path.getsize(binary), "terms": {}, "load_start": os.getloadavg(),
           "musl_binary": musl}
    for term in ("xterm-256color", "vt100"):
        root = fresh()
        w = wizard_session(binary, root, term)
        wt = whiptail_session(term)
        wcmd = [shutil.which("whiptail"), "--inputbox", "Login name", "10", "60"] if wt else None
        mine, shipped, theirs = startup_many(
            [[binary, "--root", root], [musl, "--root", root] if musl else None, wcmd], term, a.runs)
        w["startup_first_frame_ms_median"] = mine
        w["startup_first_frame_ms_median_musl"] = shipped
        if wt:
            wt["startup_first_frame_ms_median"] = theirs
        res["terms"][term] = {"pbx-harden": w, "whiptail": wt}

    answers = os.path.join(ROOT, "assets/demo/answers.toml")
    res["plan_ms"] = timed(lambda d: [binary, "--root", d, "plan", "--answers", answers], a.runs, fresh)
    res["apply_ms"] = timed(lambda d: [binary, "--root", d, "apply", "--answers", answers], a.runs, fresh)
    has_audit = subprocess.run([binary, "audit", "--help"], capture_output=True).returncode == 0
    res["audit_ms"] = timed(lambda d: [binary, "--root", d, "audit"], a.runs, fresh) if has_audit else "no audit command"
    res["musl_binary_bytes"] = os.path.getsize(musl) if musl else None
    if not a.quick:
        import walk
        res["scale"] = scale(binary, demo, work, a.runs)
        res["walk"] = walk.run(binary)
        big = walk.run(binary, demo=res["scale"]["box"], terms=("vt100",))
        res["walk_5000"] = big["vt100"]["pbx-harden"]
    shutil.rmtree(work, ignore_errors=True)
    res["load_end"] = os.getloadavg()

    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=2)

    # ---- report ----
    def verdict(ok, ratio=None):
        if ok:
            return "PASS"
        return f"MISS (ratio {ratio:.2f})" if ratio is not None else "MISS"

    def against(value, target):
        """PASS when value <= target, else MISS with value / target."""
        if value is None or target is None:
            return "MISS (not measured)"
        return verdict(value <= target, value / target if target else float("inf"))

    print(f"pbx-harden slow-line benchmark  ({time.strftime('%Y-%m-%d')}, {os.uname().machine}, "
          f"{os.cpu_count()} cpu)")
    print("load average (1, 5, 15 min) at the start {:.2f} {:.2f} {:.2f}, at the end {:.2f} {:.2f} {:.2f}: "
          "timings share the machine with that load\n".format(*res["load_start"], *res["load_end"]))
    print(f"binary: {res['binary_bytes']:,} bytes" + (f"; musl static: {res['musl_binary_bytes']:,}" if res["musl_binary_bytes"] else ""))
    for term, r in res["terms"].items():
        w, wt = r["pbx-harden"], r["whiptail"]
        print(f"\nTERM={term}")
        print(f"  first frame            {w['first_frame_bytes']:6d} bytes"
              + (f"   whiptail {wt['first_frame_bytes']}  ratio {w['first_frame_bytes']/wt['first_frame_bytes']:.2f}  "
                 f"{against(w['first_frame_bytes'], wt['first_frame_bytes'])}" if wt else ""))
        mine, theirs = w["startup_first_frame_ms_median"], wt["startup_first_frame_ms_median"] if wt else None
        shipped = w["startup_first_frame_ms_median_musl"]
        # judged: the binary the packages ship when it was built, else this release build
        judged = shipped if shipped is not None else mine
        which = "static musl (the .deb/.rpm's)" if shipped is not None else "release build (musl not built)"
        print(f"  start to first frame   {judged:6.1f} ms, {which} (median of {a.runs}, taking turns)"
              + (f"   whiptail {theirs} ms  ratio {judged / theirs:.2f}  {against(judged, theirs)}" if wt else ""))
        if shipped is not None:
            print(f"    release build (glibc, dynamic) {mine:6.1f} ms"
                  + (f"   ratio {mine / theirs:.2f} to whiptail  {against(mine, theirs)}" if wt else ""))
        for field in ("user_name", "password", "ssh_port"):
            s = summary(w[field]["bytes"])
            lat = w[field]["latency_ms"] or [float("nan")]
            print(f"  {field:22s} bytes/key median {s['median']:4} max {s['max']:4}  {against(s['median'], 1)}"
                  f"   echo ms median {med(lat):.2f} max {max(lat):.2f}  {against(max(lat), 16)}")
        if wt:
            s = summary(wt["typing"]["bytes"])
            print(f"  whiptail typing        bytes/key median {s['median']:4} max {s['max']:4}"
                  f"   echo ms median {med(wt['typing']['latency_ms']):.2f}")
        for name, v in w["password_worst_case"].items():
            settle = v['meter_settle_ms_after_typing']
            print(f"  zxcvbn worst case {name:18s} echo ms median {v['echo_ms_median']} max {v['echo_ms_max']}"
                  f"  {against(v['echo_ms_max'], 16)}  (the meter's last redraw "
                  + (f"{settle} ms after a paste of it: the 250 ms pause, then zxcvbn)" if settle is not None
                     else "not seen: MISS)"))
        print(f"  screen changes         welcome->services {w['screen_welcome_to_services_bytes']}  "
              f"services->user {w['screen_services_to_user_bytes']}  user->password "
              f"{w['screen_user_to_password_bytes']}  password->ssh {w['screen_password_to_ssh_bytes']} bytes")
        print(f"  peak memory            {w['peak_rss_kib']} KiB" + (f"   whiptail {wt['peak_rss_kib']} KiB" if wt else ""))
    p, ap_, au = res["plan_ms"], res["apply_ms"], res["audit_ms"]
    print(f"\nplan (example answers, demo system)   median {p.get('median_ms')} ms")
    print(f"apply (no service restarts)          median {ap_.get('median_ms')} ms  max {ap_.get('max_ms')}  "
          f"{against(ap_.get('median_ms'), 200)} (target 200 ms)")
    if isinstance(au, dict):
        print(f"audit (demo system)                  median {au.get('median_ms')} ms  "
              f"{against(au.get('median_ms'), 50)} (target 50 ms)")
    else:
        print(f"audit: {au}")
    if "scale" not in res:
        return
    sc = res["scale"]
    d, big = sc["audit_demo"], sc["audit_5000"]
    print("\nscale")
    print(f"  audit, demo                         median {d.get('median_ms')} ms  peak {d.get('peak_rss_kib')} KiB")
    print(f"  audit, FreePBX with 5,000 extensions median {big.get('median_ms')} ms  peak {big.get('peak_rss_kib')} KiB"
          f"  {big.get('median_ms', 0) / d.get('median_ms', 1):.1f}x the demo's  "
          f"{against(big.get('median_ms'), 25 * d.get('median_ms', 0))} (target 25x)")
    rot = sc["rotation"]
    for n, r in rot.items():
        print(f"  rotating {n:6d} weak secrets (plan) median {r.get('median_ms')} ms  peak {r.get('peak_rss_kib')} KiB"
              + (f"  {r.get('error')}" if "error" in r else ""))
    r400, r4k, r20k = (rot[n].get("median_ms") for n in (400, 4000, 20000))
    if r400 and r4k:
        print(f"  4,000 vs 400: {r4k / r400:.1f}x  {against(r4k, 15 * r400)} (target 15x)")
    print(f"  20,000: {against(r20k, 5000)} (target 5 s)")
    import walk
    print(walk.report(res["walk"]))
    wb = res["walk_5000"]
    ms = {k: v for k, v in wb["screens"].items() if k != "exit"}
    tot = sum(ms.values())
    print(f"\nwhole walk on the 5,000-extension box, TERM=vt100: {tot} B = {tot / 960:.1f} s at 9600 baud; "
          f"Extensions screen {ms.get('Extensions')} B, up {wb['entered_ms'].get('Extensions')} ms after Enter "
          f"{against(wb['entered_ms'].get('Extensions'), 16)} (target 16 ms: it never waits on the scan); "
          f"peak memory {wb['peak_rss_kib']} KiB")
    for term, r in res["walk"].items():
        print(f"  peak memory of the wizard after the walk on the demo, TERM={term}: {r['pbx-harden']['peak_rss_kib']} KiB")


if __name__ == "__main__":
    main()
