"""Soak (issue 8, item 6): single checks at a fixed rate for a long time; errors, memory growth
and p99 latency over time.

    .venv/bin/python bench/soak.py [--rate 2500] [--duration 600] [--workers 1] [--driver wrk]
        [--list-rows 1000000] [--window 60] [--warmup 60] [--sample-every 5]

It starts an embedded PostgreSQL of its own in a temporary directory, loads a global DNC list of
`--list-rows` numbers, and serves `callguard serve --workers N` pointed at it with DATABASE_URL.
Then it sends `POST /v1/checks` at `--rate` requests a second for `--duration` seconds, from wrk
paced to that rate (the default, see WrkLoad) or from this script's own open-loop client
(`--driver python`: request i is due at start + i / rate whether or not earlier ones have been
answered; a small asyncio HTTP/1.1 client on keep-alive connections, up to `--connections` of
them; a request that finds every connection busy waits for one, and its latency counts from when
it was due, so a stall is not hidden).
The checks are allowed numbers (not on the list, in area codes of the contiguous US) at a fixed
instant inside calling hours, so every answer should be `200`.

Every `--sample-every` seconds it samples the resident memory (RSS) of the callguard process tree
(the `serve` process and its uvicorn workers, summed, with psutil), and the CPU time used by that
tree, by PostgreSQL, by this generator and by the whole machine. Per window of `--window` seconds
(by the time a request was due) it reports the count, errors, p50, p99 and maximum latency, the
mean RSS, and the CPU cores each party used, with what anything else on the machine used (on a
shared machine, a latency spike that comes with a busy neighbour is the neighbour's). At the end
it reports and judges:
- errors: every answer that is not 2xx, every socket error and every request without an answer
  within `--timeout` s; must be zero;
- RSS growth: the mean RSS of the last window against the first window after `--warmup`; must be
  below 10%;
- p99 stable: no spike, every window's p99 after the warm-up within 2x the median of those
  windows' p99; and no drift, the median p99 of the last third of those windows within 1.5x
  that of the first third;
- whether the load generator held the rate (requests due vs sent, and how late they left); if it
  did not, the run says so and measures nothing.

The default rate, 2,500 checks a second with 1 worker, is about half the single-check
throughput bench/checks.py measured (5,115 req/s with 1 worker at df594f1, docs/BENCHMARKS.md).
The load comes from wrk by default (`--driver wrk`: one paced wrk run per window, see WrkLoad);
`--driver python` uses this script's own open-loop client, which measures from when each request
was due but needs about as much CPU as callguard itself at that rate on two cores.
For a quick
smoke run, pass a short `--duration`: the window and warm-up then default to a sixth of it.
Progress goes to standard error; the Markdown summary to standard output. Exit status 1 if a
criterion is not met.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

from app.core.embedded import EmbeddedPostgres
from app.core.migrations import upgrade

sys.path.insert(0, str(Path(__file__).parent))
from harness import (
    IN_HOURS,
    Callguard,
    admin_secret,
    cpu_seconds,
    day_npas,
    free_port,
    load_global_list,
    log,
    numbers_in,
    postgres_tree,
    provenance,
    tenant_key,
)

MAX_IDLE_S = 2.0
RSS_LIMIT = 0.10
P99_SPREAD = 2.0
P99_DRIFT = 1.5


class Http1:
    """One keep-alive HTTP/1.1 connection: write a request, read the status and the body."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.idle_since = time.perf_counter()

    @classmethod
    async def open(cls, port: int) -> Http1:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def exchange(self, request: bytes) -> tuple[int, bool]:
        """(status, whether the server will close the connection)."""
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length, chunked, close = 0, False, False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"connection":
                close = b"close" in value.lower()
        if chunked:
            while size := int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16):
                await self.reader.readexactly(size + 2)
            await self.reader.readuntil(b"\r\n")
        else:
            await self.reader.readexactly(length)
        self.idle_since = time.perf_counter()
        return status, close

    def close(self) -> None:
        self.writer.close()


@dataclass
class Window:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    socket_errors: Counter[str] = field(default_factory=Counter)
    timeouts: int = 0
    rss: list[int] = field(default_factory=list)
    # CPU seconds over `cpu_span` seconds of samples: callguard, PostgreSQL, this generator,
    # and the whole machine busy (all cores, steal included): what else ran shows as the rest
    cpu_span: float = 0.0
    cpu: Counter[str] = field(default_factory=Counter)
    # from wrk, which reports percentiles rather than each latency
    fixed: dict[float, float] = field(default_factory=dict)
    answered: int = 0

    def cores(self, who: str) -> float:
        return self.cpu[who] / self.cpu_span if self.cpu_span else float("nan")

    @property
    def errors(self) -> int:
        non_2xx = sum(n for status, n in self.statuses.items() if not 200 <= status < 300)
        return non_2xx + sum(self.socket_errors.values()) + self.timeouts

    @property
    def count(self) -> int:
        return self.answered or len(self.latencies)

    def quantile(self, q: float) -> float:
        if q in self.fixed:
            return self.fixed[q]
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class OpenLoop:
    """Requests due at a fixed rate, each sent when due on an idle connection (a new one up
    to `max_connections`, else the next one freed); latency is measured from when it was due."""

    def __init__(
        self,
        *,
        port: int,
        requests: list[bytes],
        rate: float,
        duration: float,
        window: float,
        max_connections: int,
        timeout: float,
    ) -> None:
        self.port = port
        self.requests = requests
        self.rate = rate
        self.duration = duration
        self.window = window
        self.max_connections = max_connections
        self.timeout = timeout
        self.windows: dict[int, Window] = {}
        self.idle: deque[Http1] = deque()  # first in, first out: all of them stay warm
        self.opened = 0
        self.peak_connections = 0
        self.waiters: deque[asyncio.Future[Http1 | None]] = deque()
        self.lag: list[float] = []  # how late each request left the generator
        self.due = 0
        self.start = 0.0

    def bucket(self, due_at: float) -> Window:
        return self.windows.setdefault(int((due_at - self.start) // self.window), Window())

    def lag99(self) -> float:
        return statistics.quantiles(self.lag, n=100)[98] if len(self.lag) > 1 else 0.0

    def held(self) -> bool:
        return self.due == int(self.rate * self.duration) and self.lag99() < 0.05

    def describe(self) -> str:
        return (
            f"open loop (this script's asyncio client), up to {self.peak_connections} "
            f"connections; generator lag p99 {self.lag99() * 1000:.1f} ms"
        )

    async def _acquire(self) -> Http1:
        while True:
            while self.idle:
                conn = self.idle.popleft()
                if time.perf_counter() - conn.idle_since < MAX_IDLE_S:
                    return conn
                # uvicorn closes a keep-alive connection idle for 5 s; a request written just
                # as it does would be lost, which says nothing about callguard: never reuse one
                # idle that long
                conn.close()
                self.opened -= 1
            if self.opened < self.max_connections:
                self.opened += 1
                self.peak_connections = max(self.peak_connections, self.opened)
                try:
                    return await Http1.open(self.port)
                except BaseException:
                    self._give(None)
                    raise
            waiter: asyncio.Future[Http1 | None] = asyncio.get_running_loop().create_future()
            self.waiters.append(waiter)
            handed = await waiter
            if handed is not None:
                return handed
            # a connection was dropped: its slot is free, open one

    def _give(self, conn: Http1 | None) -> None:
        """Hand a freed connection (or, None, a freed slot) to the first live waiter."""
        if conn is None:
            self.opened -= 1
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)  # None: the waiter opens one in the freed slot
                return
        if conn is not None:
            self.idle.append(conn)

    async def _one(self, index: int, due_at: float) -> None:
        self.lag.append(time.perf_counter() - due_at)
        window = self.bucket(due_at)
        try:
            async with asyncio.timeout(self.timeout):
                conn = await self._acquire()
                try:
                    status, close = await conn.exchange(self.requests[index % len(self.requests)])
                except BaseException:
                    conn.close()
                    self._give(None)
                    raise
                if close:
                    conn.close()
                    self._give(None)
                else:
                    self._give(conn)
        except TimeoutError:
            window.timeouts += 1
            return
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            window.socket_errors[type(exc).__name__] += 1
            return
        window.statuses[status] += 1
        window.latencies.append(time.perf_counter() - due_at)

    async def run(self, on_tick: Callable[[float], None] | None = None) -> None:
        # time.perf_counter throughout: uvloop's loop clock moves in whole milliseconds
        if not self.start:
            self.start = time.perf_counter() + 0.05
        total = int(self.rate * self.duration)
        tasks: set[asyncio.Task[None]] = set()
        while self.due < total:
            now = time.perf_counter()
            due_now = min(total, int((now - self.start) * self.rate) + 1)
            while self.due < due_now:
                task = asyncio.create_task(self._one(self.due, self.start + self.due / self.rate))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                self.due += 1
            if on_tick is not None:
                on_tick(now - self.start)
            await asyncio.sleep(max(0.0, self.start + self.due / self.rate - time.perf_counter()))
        if tasks:
            await asyncio.wait(tasks, timeout=self.timeout + 5)
        for conn in self.idle:
            conn.close()


PACED = """
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_usec; } soak_timeval;
int gettimeofday(soak_timeval *tv, void *tz);
]]
local tv = ffi.new("soak_timeval")
local function now_ms()
  ffi.C.gettimeofday(tv, nil)
  return tonumber(tv.tv_sec) * 1000 + tonumber(tv.tv_usec) / 1000
end
local bodies = { @BODIES@ }
local interval = @INTERVAL@  -- ms between requests of this thread
local sent, scheduled, start = 0, 0, nil
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer @KEY@"
function request()
  sent = sent + 1
  return wrk.format(nil, nil, nil, bodies[(sent % #bodies) + 1])
end
function delay()
  -- each call reserves the next slot of this thread's schedule
  local now = now_ms()
  if start == nil then start = now end
  scheduled = scheduled + 1
  local wait = start + scheduled * interval - now
  if wait < 0 then return 0 end
  return wait
end
"""


class WrkLoad:
    """The same windows driven by wrk, one run per window, so the load generator (C) does not
    take the CPU the server is measured with (this script's own client needed about as much CPU
    as callguard at a few thousand requests a second). Each wrk thread paces its connections to
    rate / threads requests a second with a schedule in `delay()` (LuaJIT's clock). Latency is
    measured from when a request was sent: a stall delays the sends after it rather than
    counting from when they were due, so the rate achieved per window is checked too."""

    THREADS = 2

    def __init__(
        self,
        *,
        port: int,
        key: str,
        bodies: list[bytes],
        rate: float,
        duration: float,
        window: float,
        max_connections: int,
        timeout: float,
        work: Path,
    ) -> None:
        self.port = port
        self.rate = rate
        self.duration = duration
        self.window = window
        self.connections = max(self.THREADS, min(max_connections, 32))
        self.timeout = timeout
        self.windows: dict[int, Window] = {}
        self.due = 0
        self.start = 0.0
        self.peak_connections = self.connections
        self.script = work / "paced.lua"
        lua_bodies = ", ".join("[[" + body.decode() + "]]" for body in bodies[:2000])
        self.script.write_text(
            PACED.replace("@BODIES@", lua_bodies)
            .replace("@INTERVAL@", repr(1000.0 * self.THREADS / rate))
            .replace("@KEY@", key)
        )

    def bucket(self, due_at: float) -> Window:
        return self.windows.setdefault(int((due_at - self.start) // self.window), Window())

    def held(self) -> bool:
        return all(
            w.count + w.errors >= 0.97 * self.rate * self.window for w in self.windows.values()
        )

    def describe(self) -> str:
        rates = [(w.count + w.errors) / self.window for w in self.windows.values()]
        return (
            f"wrk -t{self.THREADS} -c{self.connections}, paced; achieved "
            f"{min(rates, default=0):,.0f}-{max(rates, default=0):,.0f} requests/s per window"
        )

    async def run(self, on_tick: Callable[[float], None] | None = None) -> None:
        for index in range(int(self.duration // self.window)):
            window = self.windows.setdefault(index, Window())
            out = await asyncio.to_thread(
                subprocess.run,
                [
                    "wrk",
                    f"-t{self.THREADS}",
                    f"-c{self.connections}",
                    f"-d{self.window:g}s",
                    f"--timeout={self.timeout:g}s",
                    "--latency",
                    "-s",
                    str(self.script),
                    f"http://127.0.0.1:{self.port}/v1/checks",
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            parse_wrk(out.stdout, window)
            self.due += window.count + window.errors
            if on_tick is not None:
                on_tick(time.perf_counter() - self.start)


UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def parse_wrk(text: str, window: Window) -> None:
    """Counts and latency percentiles of one wrk run, into `window`."""
    total = int(re.search(r"(\d+) requests in", text).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    non_2xx = int(bad.group(1)) if bad else 0
    socket = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text
    )
    if socket:
        connect, read, write, timeout = (int(x) for x in socket.groups())
        window.socket_errors.update({"connect": connect, "read": read, "write": write})
        window.timeouts += timeout
    window.statuses[200] += total - non_2xx
    if non_2xx:
        window.statuses[0] += non_2xx  # wrk does not say which status
    window.answered = total - non_2xx
    for q, label in ((0.5, "50"), (0.99, "99")):
        found = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.M)
        if found:
            window.fixed[q] = float(found.group(1)) * UNITS[found.group(2)]
    peak = re.search(r"Latency\s+\S+\s+\S+\s+([\d.]+)(us|ms|s|m)", text)
    if peak:
        window.fixed[1.0] = float(peak.group(1)) * UNITS[peak.group(2)]


def machine_busy() -> float:
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0) - getattr(times, "guest", 0.0)


def measure(server: Callguard, embedded: EmbeddedPostgres) -> tuple[int, dict[str, float]]:
    """RSS of the callguard tree, and CPU seconds used so far by each party."""
    return server.rss_bytes(), {
        "callguard": server.cpu_seconds(),
        "postgres": cpu_seconds(postgres_tree(embedded)),
        "generator": cpu_seconds([psutil.Process()]),
        "machine": machine_busy(),
    }


async def sample(
    server: Callguard, embedded: EmbeddedPostgres, gen: OpenLoop | WrkLoad, every: float
) -> None:
    """Every `every` seconds: RSS into the window, CPU used since the last sample too."""
    last: tuple[float, dict[str, float]] | None = None
    while True:
        rss, cpu = await asyncio.to_thread(measure, server, embedded)
        at = time.perf_counter()
        if at >= gen.start:
            window = gen.bucket(at)
            window.rss.append(rss)
            if last is not None:
                window.cpu_span += at - last[0]
                # a backend that ended takes its CPU seconds with it: never count below zero
                window.cpu.update({k: max(0.0, v - last[1][k]) for k, v in cpu.items()})
        last = (at, cpu)
        await asyncio.sleep(every)


async def soak(
    args: argparse.Namespace,
    server: Callguard,
    embedded: EmbeddedPostgres,
    requests: list[bytes],
    key: str,
    work: Path,
) -> dict[str, object]:
    gen: OpenLoop | WrkLoad
    if args.driver == "wrk":
        gen = WrkLoad(
            port=server.port,
            key=key,
            bodies=[r.split(b"\r\n\r\n", 1)[1] for r in requests],
            rate=args.rate,
            duration=args.duration,
            window=args.window,
            max_connections=args.connections,
            timeout=args.timeout,
            work=work,
        )
    else:
        gen = OpenLoop(
            port=server.port,
            requests=requests,
            rate=args.rate,
            duration=args.duration,
            window=args.window,
            max_connections=args.connections,
            timeout=args.timeout,
        )
    next_report = [0.0]

    def progress(elapsed: float) -> None:
        if elapsed >= next_report[0]:
            done = sum(w.count for w in gen.windows.values())
            log(f"{elapsed:5.0f} s: {gen.due:,} due, {done:,} answered")
            next_report[0] += max(10.0, args.window)

    cpu_before = server.cpu_seconds()
    gen.start = time.perf_counter() + 0.05
    sampler = asyncio.create_task(sample(server, embedded, gen, args.sample_every))
    started = time.monotonic()
    try:
        await gen.run(progress)
    finally:
        sampler.cancel()
    elapsed = time.monotonic() - started
    return {
        "gen": gen,
        "elapsed": elapsed,
        "cpu": (server.cpu_seconds() - cpu_before) / elapsed,
    }


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop (uvicorn's own loop, installed with it) keeps the generator cheap."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def build_requests(port: int, key: str, numbers: list[int]) -> list[bytes]:
    out = []
    for number in numbers:
        body = json.dumps({"to": f"+1{number}", "at": IN_HOURS}).encode()
        head = (
            f"POST /v1/checks HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        out.append(head.encode() + body)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=2500.0, help="checks a second")
    parser.add_argument("--duration", type=float, default=600.0, help="seconds of load")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--list-rows", type=int, default=1_000_000)
    parser.add_argument(
        "--window", type=float, help="seconds per window (60, or a sixth of a duration < 300 s)"
    )
    parser.add_argument(
        "--warmup", type=float, help="seconds left out of the baselines (default: one window)"
    )
    parser.add_argument(
        "--sample-every", type=float, help="seconds between RSS samples (5, at most window / 4)"
    )
    parser.add_argument("--connections", type=int, default=64, help="most connections at once")
    parser.add_argument(
        "--driver",
        choices=("wrk", "python"),
        default="wrk",
        help="wrk, paced (default), or this script's open-loop asyncio client",
    )
    parser.add_argument(
        "--timeout", type=float, default=10.0, help="seconds before a request fails"
    )
    args = parser.parse_args()
    if args.window is None:
        args.window = 60.0 if args.duration >= 300 else max(5.0, args.duration / 6)
    if args.warmup is None:
        args.warmup = args.window
    if args.sample_every is None:
        args.sample_every = min(5.0, args.window / 4)
    if args.duration < args.warmup + 2 * args.window:
        parser.error("--duration must cover the warm-up and at least two windows")
    with tempfile.TemporaryDirectory(prefix="callguard-soak-") as tmp:
        work = Path(tmp)
        with EmbeddedPostgres(work / "pg") as embedded:
            dsn = embedded.start()
            upgrade(dsn)
            ok = run(args, embedded, dsn, work)
    sys.exit(0 if ok else 1)


def run(args: argparse.Namespace, embedded: EmbeddedPostgres, dsn: str, work: Path) -> bool:
    rng = random.Random(17)
    npas = day_npas()
    listed = numbers_in(npas, args.list_rows, rng)
    asyncio.run(load_global_list(dsn, listed, "lst_soakglobal", "soak registry"))
    log(f"global list of {len(listed):,} numbers loaded")
    callers = numbers_in(npas, 20_000, rng, avoid=set(listed))
    del listed
    admin = asyncio.run(admin_secret(dsn))
    server = Callguard(
        dsn=dsn,
        state=work / "state",
        port=free_port(),
        workers=args.workers,
        log_path=work / "serve.log",
    )
    server.start()
    try:
        _, key = tenant_key(server.base, admin, "soak", ["checks:write"])
        with httpx.Client(base_url=server.base, timeout=30) as client:  # every body answers 200
            for number in callers[:200]:
                answer = client.post(
                    "/v1/checks",
                    json={"to": f"+1{number}", "at": IN_HOURS},
                    headers={"Authorization": f"Bearer {key}"},
                )
                if answer.status_code != 200:
                    raise RuntimeError(f"pre-flight check of +1{number}: {answer.text}")
        requests = build_requests(server.port, key, callers)
        log(
            f"soak: {args.rate:g} checks/s for {args.duration:g} s, {args.workers} workers, "
            f"windows of {args.window:g} s, warm-up {args.warmup:g} s"
        )
        with asyncio.Runner(loop_factory=loop_factory()) as runner:
            result = runner.run(soak(args, server, embedded, requests, key, work))
    finally:
        server.stop()
    return report(args, dsn, result)


def report(args: argparse.Namespace, dsn: str, result: dict[str, object]) -> bool:
    gen = result["gen"]
    assert isinstance(gen, OpenLoop | WrkLoad)
    windows = [gen.windows.get(i, Window()) for i in range(int(args.duration // args.window))]
    first = int(args.warmup // args.window)
    measured = windows[first:]
    total = Window()
    for w in windows:
        total.statuses.update(w.statuses)
        total.socket_errors.update(w.socket_errors)
        total.timeouts += w.timeouts
    answered = sum(total.statuses.values())
    held = gen.held()
    rss_first = statistics.fmean(measured[0].rss) if measured[0].rss else float("nan")
    rss_last = statistics.fmean(measured[-1].rss) if measured[-1].rss else float("nan")
    growth = (rss_last - rss_first) / rss_first
    p99s = [w.quantile(0.99) for w in measured]
    median_p99 = statistics.median(p99s)
    third = max(1, len(p99s) // 3)
    early, late = statistics.median(p99s[:third]), statistics.median(p99s[-third:])
    spread_ok = max(p99s) <= P99_SPREAD * median_p99
    drift_ok = late <= P99_DRIFT * early
    stable = spread_ok and drift_ok
    verdicts = {
        "zero errors": total.errors == 0,
        f"RSS growth < {RSS_LIMIT:.0%}": growth < RSS_LIMIT,
        "p99 stable": stable,
        "the generator held the rate": held,
    }

    print("## Soak\n")
    print(
        f"`.venv/bin/python bench/soak.py --rate {args.rate:g} --duration {args.duration:g} "
        f"--workers {args.workers} --list-rows {args.list_rows} --window {args.window:g} "
        f"--warmup {args.warmup:g}`\n"
    )
    print("\n".join(provenance(dsn)))
    print(
        f"- Load: {args.rate:g} checks/s, {gen.due:,} sent in {result['elapsed']:.0f} s, "
        f"{answered:,} answered; {gen.describe()}; callguard used {result['cpu']:.2f} CPU "
        "cores on average"
    )
    print()
    print(
        "| window | from s | requests | errors | p50 ms | p99 ms | max ms | RSS MiB | CPU "
        "cores: callguard / PostgreSQL / generator / anything else |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for i, w in enumerate(windows):
        rss = f"{statistics.fmean(w.rss) / 2**20:.0f}" if w.rss else "-"
        tag = " (warm-up)" if i < first else ""
        ours = ("callguard", "postgres", "generator")
        rest = w.cores("machine") - sum(w.cores(k) for k in ours)
        cpu = " / ".join(f"{w.cores(k):.2f}" for k in ours) + f" / {max(0.0, rest):.2f}"
        print(
            f"| {i + 1}{tag} | {i * args.window:g} | {w.count + w.errors:,} | "
            f"{w.errors} | {w.quantile(0.5) * 1000:.2f} | {w.quantile(0.99) * 1000:.2f} | "
            f"{w.fixed.get(1.0, max(w.latencies, default=float('nan'))) * 1000:.1f} | {rss} | "
            f"{cpu} |"
        )
    print()
    errors = dict(total.statuses - Counter({200: total.statuses[200]}))
    print(
        f"- Errors: {total.errors} (non-2xx by status {errors or '{}'}, socket errors "
        f"{dict(total.socket_errors) or '{}'}, timeouts over {args.timeout:g} s {total.timeouts})"
    )
    print(
        f"- RSS of the callguard process tree: {rss_first / 2**20:.1f} MiB in the first window "
        f"after the warm-up, {rss_last / 2**20:.1f} MiB in the last: {growth:+.1%}"
    )
    print(
        f"- p99 per window after the warm-up: median {median_p99 * 1000:.2f} ms, highest "
        f"{max(p99s) * 1000:.2f} ms ({max(p99s) / median_p99:.1f}x the median: spike "
        f"{'no' if spread_ok else 'yes'}); first third {early * 1000:.2f} ms, last third "
        f"{late * 1000:.2f} ms ({late / early:.2f}x: drift {'no' if drift_ok else 'yes'})"
    )
    print()
    print("| criterion | met |")
    print("|---|---|")
    for name, met in verdicts.items():
        print(f"| {name} | {'yes' if met else '**no**'} |")
    if not held:
        print("\nThe generator did not hold the rate: the latencies above are not a measure.")
    return all(verdicts.values())


if __name__ == "__main__":
    main()
