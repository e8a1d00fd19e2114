#!/usr/bin/env python3
"""The whole wizard walk on a 9600-baud line: pbx-harden next to the same steps in whiptail.

Both run in a real pty at 80x24 on a copy of the demo system. Every key is one write,
followed by 300 ms of quiet (or, where the program works, until the next screen is up),
as a careful admin on a serial console would walk:

  welcome, services (as found), login user, own password twice, SSH port, extensions,
  Asterisk's own doors, firewall ports, brute-force protection, the review paged to its end, apply (progress),
  confirm here (c, y), done.

The whiptail equivalent is the dialogs a shell script would use for the same steps:
msgbox, checklist, inputbox, passwordbox x2, inputbox, checklist x3, inputbox, a
scrolling textbox with the same plan text (paged to its end), a gauge with one update
per apply step (the same step texts, from `pbx-harden apply` on another copy), a yesno and a msgbox.

Seconds at 9600 baud are bytes / 960 (8N1: ten bits a byte). Per screen and in total,
for TERM=vt100 and TERM=xterm-256color, measured side by side in one run. Targets:
pbx-harden's total at most whiptail's; the Apply progress at most whiptail's gauge.
A missed target prints MISS with its ratio.

Usage: bench/walk.py [--bin target/release/pbx-harden] [--json FILE] [--show]
  --show   print each pbx-harden screen after its step (needs python3-pyte; pyte 0.8 takes
           ESC [ r, which resets the scroll region, as "top margin 1" and shows a muddle
           where a real terminal, tmux or the vt100 crate does not)
Imported by pty_bench.py; nothing here is a test.
"""
import argparse
import json
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pty_bench import Pty  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENTER, TAB, DOWN, PGDN, CTRL_U, ESC = "\r", "\t", "\x1b[B", "\x1b[6~", "\x15", "\x1b"
QUIET = 0.3
PW = "Tundra mosaic 8! lantern quill"
BAUD_BYTES = 960.0


def strip(b):
    """Output without escape sequences, for finding text in it."""
    return re.sub(rb"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-B]|\x1b[=>78DEMc]", b"", b)


class Walk:
    """One program in a pty, bytes booked to the screen being walked."""

    def __init__(self, p, show=None):
        self.p = p
        self.entered_ms = {}  # name -> ms from the key to the first byte of the screen
        self.screens = {}  # name -> bytes
        self.order = []
        self.cur = None
        self.show = show

    def book(self, b):
        if self.cur not in self.screens:
            self.screens[self.cur] = 0
            self.order.append(self.cur)
        self.screens[self.cur] += len(b)
        if self.show:
            self.show.feed(b)

    def screen(self, name):
        self.cur = name

    def read(self, quiet=QUIET, first_timeout=5.0, max_wait=60.0, until=None, chunks=None, book=True):
        """Read until `quiet` s of silence (and, with `until`, until that text was seen).

        `chunks` (a list) receives each read separately; `book=False` leaves the booking
        to the caller."""
        buf = bytearray()
        start = time.perf_counter()
        seen = until is None
        while time.perf_counter() - start < max_wait:
            r, _, _ = select.select([self.p.fd], [], [], quiet if (buf and seen) else first_timeout)
            if not r:
                if seen:
                    break
                continue
            try:
                chunk = os.read(self.p.fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            buf.extend(chunk)
            if chunks is not None:
                chunks.append(chunk)
            if not seen and until.encode() in strip(bytes(buf)):
                seen = True
        if book:
            self.book(bytes(buf))
        return bytes(buf)

    def key(self, k, **kw):
        t = time.perf_counter()
        os.write(self.p.fd, k.encode())
        if self.cur not in self.entered_ms:
            r, _, _ = select.select([self.p.fd], [], [], 10.0)
            if r:
                self.entered_ms[self.cur] = round((time.perf_counter() - t) * 1000, 2)
        return self.read(**kw)

    def type(self, s):
        for c in s:
            self.key(c)


class Screen:
    """pyte screen for --show."""

    def __init__(self):
        import pyte

        self.s = pyte.Screen(80, 24)
        self.st = pyte.ByteStream(self.s)

    def feed(self, b):
        self.st.feed(b)

    def dump(self, title):
        print(f"----- {title}")
        for line in self.s.display:
            print(line.rstrip())


def pbx_walk(binary, root, term, show=False):
    scr = Screen() if show else None
    p = Pty([binary, "--root", root], term)
    w = Walk(p, scr)

    def shown(t):
        if scr:
            scr.dump(t)

    w.screen("Welcome")
    w.read(first_timeout=5.0)
    shown("welcome")
    w.screen("Services")
    w.key(ENTER)
    shown("services")
    w.screen("Login user")
    w.key(ENTER)
    w.type("trixuser")
    shown("user")
    w.screen("Password")
    w.key(ENTER)
    for k in (DOWN, " ", TAB):
        w.key(k)
    w.type(PW)
    w.key(TAB)
    w.type(PW)
    shown("password")
    w.screen("SSH")
    w.key(ENTER)
    w.key(CTRL_U)
    w.type("22022")
    shown("ssh")
    w.screen("Extensions")
    w.key(ENTER)
    shown("extensions")
    w.screen("Asterisk")
    w.key(ENTER)
    shown("asterisk")
    w.screen("Firewall ports")
    w.key(ENTER)
    shown("ports")
    w.screen("Trusted and blocked hosts")
    w.key(ENTER)
    shown("hosts")
    w.screen("Protection")
    w.key(ENTER)
    shown("protection")
    w.screen("Review")
    w.key(ENTER, until="Lockout checks", max_wait=30)
    pages = 1
    shown("review")
    while True:
        b = w.key(PGDN)
        if not b:
            break
        pages += 1
    shown("review end")
    w.screen("Apply")
    # Until the Confirm screen is up; each frame is one write, so the first read that
    # holds the Confirm screen's title starts that screen's bytes.
    chunks = []
    os.write(p.fd, ENTER.encode())
    w.read(until="rolls back", max_wait=60, quiet=0.05, chunks=chunks, book=False)
    cut = next((i for i, c in enumerate(chunks) if b"Confirm" in strip(c)), len(chunks))
    w.book(b"".join(chunks[:cut]))
    w.screen("Confirm")
    w.book(b"".join(chunks[cut:]))
    w.read(quiet=QUIET)
    shown("confirm")
    w.key("c")
    w.screen("Done")
    w.key("y", until="Done", max_wait=20)
    shown("done")
    peak = p.peak_kib()
    w.key(ESC, max_wait=3)
    w.screen("exit")
    p.close("")
    return {"screens": {n: w.screens[n] for n in w.order}, "review_pages": pages,
            "entered_ms": w.entered_ms, "peak_rss_kib": peak}


def plan_text(binary, root):
    answers = os.path.join(ROOT, "assets/demo/answers.toml")
    r = subprocess.run([binary, "--root", root, "plan", "--answers", answers], capture_output=True, text=True)
    return r.stdout


def apply_steps(binary, root):
    """The progress lines of the same apply (CLI), for the gauge's number of updates."""
    answers = os.path.join(ROOT, "assets/demo/answers.toml")
    r = subprocess.run([binary, "--root", root, "apply", "--answers", answers], capture_output=True, text=True)
    # end the rollback timer apply armed (its watchdog would outlive the copy)
    subprocess.run([binary, "--root", root, "rollback"], capture_output=True)
    steps = []
    for line in r.stdout.splitlines():
        if line.startswith("  ") and not line.startswith("   "):
            steps.append(line.strip())
        elif steps and not line.strip():
            break
    return steps


def whiptail_walk(term, plan, steps):
    """The same steps as whiptail dialogs. Returns bytes per screen."""
    wt = shutil.which("whiptail")
    if not wt:
        return None
    tmp = tempfile.mkdtemp(prefix="walk-wt-")
    plan_file = os.path.join(tmp, "plan.txt")
    with open(plan_file, "w") as f:
        f.write(plan)
    out = {}
    order = []

    def dialog(name, args, keys, until_exit=True, feed=None):
        p = Pty([wt, "--title", "pbx-harden", *args], term)
        w = Walk(p)
        w.screen(name)
        w.read(first_timeout=5.0)
        for k in keys:
            w.key(k)
        if feed:
            feed(w)
        # wait for the exit (the last key ends the dialog)
        w.read(quiet=0.2, first_timeout=1.0, max_wait=5)
        p.close("")
        if name not in out:
            out[name] = 0
            order.append(name)
        out[name] += w.screens.get(name, 0)

    dialog("Welcome", ["--msgbox", "pbx-harden hardens this PBX: services, a login user, SSH, "
                       "extension secrets, firewall, brute-force protection. Nothing is "
                       "changed before the review.", "12", "70"], [ENTER])
    dialog("Services", ["--checklist", "Services to disable", "16", "70", "6",
                        "avahi-daemon", "mDNS", "ON", "cups", "printing", "ON",
                        "rpcbind", "NFS portmapper", "ON", "tftp", "phone provisioning", "OFF"],
           [ENTER])
    dialog("Login user", ["--inputbox", "Login name for SSH (root logins are turned off)",
                          "10", "70"], list("trixuser") + [ENTER])
    dialog("Password", ["--passwordbox", "Password for trixuser", "10", "70"], list(PW) + [ENTER])
    dialog("Password", ["--passwordbox", "The same password again", "10", "70"], list(PW) + [ENTER])
    dialog("SSH", ["--inputbox", "SSH port (22 is scanned all day)", "10", "70", "22"],
           ["\x7f", "\x7f", "2", "2", "0", "2", "2", ENTER])
    dialog("Extensions", ["--checklist", "Weak extension secrets to replace", "16", "70", "6",
                          "100", "SIP: all digits, too short", "ON",
                          "101", "SIP: equals the extension", "ON",
                          "200", "IAX2: common password", "ON"], [ENTER])
    dialog("Asterisk", ["--checklist", "Doors Asterisk itself leaves open", "16", "70", "4",
                        "ami", "manager interface on 127.0.0.1 only", "ON",
                        "guests", "no calls from unknown SIP callers", "ON"], [ENTER])
    dialog("Firewall ports", ["--checklist", "Ports open to the world", "16", "70", "6",
                              "5060/udp", "SIP", "ON", "10000-20000/udp", "RTP", "ON",
                              "80/tcp", "web (FreePBX)", "OFF", "4569/udp", "IAX2", "OFF"], [ENTER])
    dialog("Protection", ["--inputbox", "E-mail for fail2ban and BFD alerts", "10", "70",
                          "pbx-admin@example.com"], [ENTER])

    def page(w):
        # page to the end: PgDn until nothing changes, then leave
        for _ in range(100):
            if not w.key(PGDN):
                break
        w.key(ENTER)

    dialog("Review", ["--scrolltext", "--textbox", plan_file, "24", "80"], [], feed=page)

    def gauge():
        p = Pty([wt, "--title", "pbx-harden", "--gauge", "Applying...", "8", "70", "0"], term)
        w = Walk(p)
        w.screen("Apply")
        w.read(first_timeout=5.0, quiet=0.1)
        for i, text in enumerate(steps):
            pct = (i + 1) * 100 // len(steps)
            msg = f"XXX\n{pct}\n{text}\nXXX\n"
            os.write(p.fd, msg.encode())
            w.read(quiet=0.05, first_timeout=1.0)
        os.write(p.fd, b"\x04")  # end of input: the gauge ends
        w.read(quiet=0.2, first_timeout=1.0, max_wait=5)
        p.close("")
        out["Apply"] = w.screens.get("Apply", 0)
        order.append("Apply")

    gauge()
    dialog("Confirm", ["--yesno", "Applied. It rolls back in 5:00 unless confirmed. "
                       "Keep the change (confirm here)?", "10", "70"], [ENTER])
    dialog("Done", ["--msgbox", "Done: the change is kept.", "8", "70"], [ENTER])
    shutil.rmtree(tmp, ignore_errors=True)
    return {n: out[n] for n in order}


def run(binary, show=False, demo=None, terms=("vt100", "xterm-256color")):
    """Both terminals on copies of `demo` (the bundled demo system when None)."""
    work = tempfile.mkdtemp(prefix="pbx-harden-walk-")
    if demo is None:
        demo = os.path.join(work, "demo")
        subprocess.run([binary, "demo", "--extract", demo], check=True, capture_output=True)
    res = {}
    for term in terms:
        # same path length for both terminals: the plan shows paths
        root = os.path.join(work, "r-" + term[0])
        shutil.copytree(demo, root, symlinks=True)
        plan = plan_text(binary, root)
        copy = os.path.join(work, "c-" + term[0])
        shutil.copytree(demo, copy, symlinks=True)
        steps = apply_steps(binary, copy) or ["applied"]
        mine = pbx_walk(binary, root, term, show)
        mine["apply_steps"] = len(steps)
        res[term] = {"pbx-harden": mine, "whiptail": whiptail_walk(term, plan, steps)}
    shutil.rmtree(work, ignore_errors=True)
    return res


def report(res):
    lines = []
    for term, r in res.items():
        m, wt = r["pbx-harden"], r["whiptail"]
        ms = {k: v for k, v in m["screens"].items() if k != "exit"}
        tot = sum(ms.values())
        lines.append(f"\nwhole walk, TERM={term} (80x24; bytes, seconds at 9600 baud)")
        lines.append(f"  {'screen':16s} {'pbx-harden':>18s} {'whiptail':>18s}")
        for name, b in ms.items():
            wb = wt.get(name) if wt else None
            lines.append(f"  {name:16s} {b:8d} B {b / BAUD_BYTES:6.1f} s"
                         + (f" {wb:8d} B {wb / BAUD_BYTES:6.1f} s" if wb is not None else ""))
        wtot = sum(wt.values()) if wt else None
        lines.append(f"  {'total':16s} {tot:8d} B {tot / BAUD_BYTES:6.1f} s"
                     + (f" {wtot:8d} B {wtot / BAUD_BYTES:6.1f} s" if wtot else ""))
        lines.append(f"  (review: {m['review_pages']} pages; apply: {m['apply_steps']} steps (the gauge's updates);"
                     f" leaving the wizard: {m['screens'].get('exit', 0)} B)")
        if wt:
            lines.append("  " + verdict("whole walk", tot, wtot))
            lines.append("  " + verdict("apply progress", ms.get("Apply", 0), wt.get("Apply", 0)))
        else:
            lines.append("  whiptail not installed: no comparison")
    return "\n".join(lines)


def verdict(what, mine, theirs):
    ratio = mine / theirs if theirs else float("inf")
    ok = mine <= theirs
    return f"{what}: {mine} B vs whiptail {theirs} B, ratio {ratio:.2f}  " + (
        "PASS" if ok else f"MISS (ratio {ratio:.2f}, target <= 1.00)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "target/release/pbx-harden"))
    ap.add_argument("--json")
    ap.add_argument("--show", action="store_true")
    a = ap.parse_args()
    binary = os.path.abspath(a.bin)
    if not os.path.exists(binary):
        sys.exit(f"{binary} missing: run cargo build --release")
    res = run(binary, a.show)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=2)
    print(report(res))


if __name__ == "__main__":
    main()
