"""Run an external program (abc2midi, abcm2ps, fluidsynth, lame, gs, the music21
converter) within bounds, so that no tune, however hostile, costs more than a known
amount of time, memory, disk or captured text:

* time: the program and its process group are killed after ``seconds``;
* messages: stdout and stderr come through one pipe, read in chunks; at most
  ``output_bytes`` are kept and a program that prints more is killed. (abc2midi has
  printed 420 MB of "Part not defined" for one tune, all of which
  ``subprocess.run(capture_output=True)`` kept in memory.)
* files: RLIMIT_FSIZE, so a write past ``file_bytes`` stops the program with SIGXFSZ;
* memory: RLIMIT_AS, so an allocation past ``memory_bytes`` fails inside the program;
* no core files (RLIMIT_CORE 0) and no standard input.

The resource limits are set by util-linux's ``prlimit``, which sets them on itself
and then executes the program, so they hold from its first instruction. (Setting
them in Python between fork and exec, ``preexec_fn``, makes subprocess fork the
whole parent instead of using vfork: 40 ms a call once torch is loaded, which made
guided sampling, one abc2midi run per line, a third slower. prlimit costs ~2 ms.)
"""
from __future__ import annotations

import os
import resource
import selectors
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from abcrnn.tools.programs import require_tool

CHUNK = 65536

TIMED_OUT, OUTPUT_LIMIT, FILE_LIMIT, CRASHED, NOT_STARTED = (
    "timed out", "output limit", "file size limit", "crashed", "could not start")


@dataclass(frozen=True)
class Limits:
    """What one run of one external program may use."""
    seconds: float = 60.0
    output_bytes: int = 1 << 20        # messages kept; one byte more and the program is killed
    file_bytes: int = 256 << 20        # any one file it writes (a 20-minute WAV is 212 MB)
    memory_bytes: int = 1 << 30        # address space (fluidsynth with its soundfont: ~320 MB)

    def __post_init__(self):
        if not (self.seconds > 0 and self.output_bytes > 0 and self.file_bytes > 0
                and self.memory_bytes > 0):
            raise ValueError(f"limits must be positive: {self}")


@dataclass
class Outcome:
    """How a program ended: its exit status (negative: the signal that stopped it) and
    the messages kept; ``failure`` is one of the constants above when a limit or a
    signal stopped it ("" when it ran to its own end), ``detail`` says it in words."""
    returncode: int
    output: str
    failure: str = ""
    detail: str = ""

    def problem(self, name: str) -> str:
        """One line for the user ("abc2midi crashed (signal 11, SIGSEGV)"), "" if none."""
        return f"{name} {self.detail}" if self.failure else ""


def _prlimit(limits: Limits) -> list[str]:
    """The prlimit command line that runs a program within ``limits``."""
    wanted = (("fsize", resource.RLIMIT_FSIZE, limits.file_bytes),
              ("as", resource.RLIMIT_AS, limits.memory_bytes), ("core", resource.RLIMIT_CORE, 0))
    argv = [require_tool("prlimit")]
    for name, which, value in wanted:
        hard = resource.getrlimit(which)[1]     # a limit can be lowered, never raised
        argv.append(f"--{name}={value if hard == resource.RLIM_INFINITY else min(value, hard)}")
    return argv + ["--"]


def _read(proc: subprocess.Popen, limits: Limits, deadline: float) -> tuple[bytes, str]:
    """The program's messages, up to the limit, and TIMED_OUT / OUTPUT_LIMIT / ""."""
    kept, size = [], 0
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return b"".join(kept), TIMED_OUT
            if not sel.select(min(left, 1.0)):
                continue
            data = os.read(proc.stdout.fileno(), CHUNK)
            if not data:
                return b"".join(kept), ""
            kept.append(data[: max(0, limits.output_bytes - size)])
            size += len(data)
            if size > limits.output_bytes:
                return b"".join(kept), OUTPUT_LIMIT


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)     # its own session: children go too
    except ProcessLookupError:
        pass
    proc.wait()


def run_tool(cmd: list[str], cwd: Path, limits: Limits = Limits()) -> Outcome:
    """Run ``cmd`` in ``cwd`` within ``limits``. Never raises for what the program does
    (MissingToolError only when prlimit itself is missing)."""
    try:
        proc = subprocess.Popen(_prlimit(limits) + list(cmd), cwd=cwd, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                start_new_session=True)
    except OSError as e:                   # e.g. no memory left under the limit to exec
        return Outcome(-1, "", NOT_STARTED, f"could not start: {e.strerror or e}")
    deadline = time.monotonic() + limits.seconds
    try:
        data, failure = _read(proc, limits, deadline)
        if not failure:                    # stdout closed; the program may still run
            try:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                failure = TIMED_OUT
    finally:
        if proc.returncode is None:
            _kill(proc)
        proc.stdout.close()
    return _outcome(proc.returncode, data.decode("utf-8", errors="replace"), failure, limits)


def _outcome(code: int, text: str, failure: str, limits: Limits) -> Outcome:
    if failure == TIMED_OUT:
        return Outcome(code, text, failure, f"took longer than {limits.seconds:g} s")
    if failure == OUTPUT_LIMIT:
        return Outcome(code, text, failure,
                       f"printed more than {limits.output_bytes:,} bytes of messages")
    if code == -signal.SIGXFSZ:
        return Outcome(code, text, FILE_LIMIT,
                       f"tried to write a file larger than {limits.file_bytes:,} bytes")
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = "unknown"
        return Outcome(code, text, CRASHED, f"crashed (signal {-code}, {name})")
    return Outcome(code, text)
