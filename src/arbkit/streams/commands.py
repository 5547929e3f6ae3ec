"""``arbkit record`` and ``arbkit replay``: the streaming commands of the ``arbkit`` CLI.

::

    arbkit record session.jsonl.gz --seconds 600     # stream the matched markets, write every frame
    arbkit replay session.jsonl.gz [--json]          # what existed, how long, what paper trading made
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from decimal import Decimal
from typing import Any, TextIO

from arbkit.config import Settings
from arbkit.errors import ArbkitError, ConfigError
from arbkit.models import Market, to_decimal
from arbkit.streams.books import BookStore
from arbkit.streams.recording import Recorder, replay
from arbkit.streams.session import streams_for

__all__ = ["add_commands", "cmd_record", "cmd_replay"]

CENT = Decimal("0.01")


def add_commands(commands: Any) -> None:
    """Add ``record`` and ``replay`` to the CLI's subcommands."""
    record = commands.add_parser("record", help="record the venues' streams of matched markets to a file")
    record.add_argument("file", help="where to write (gzip JSON lines, e.g. session.jsonl.gz)")
    record.add_argument("--seconds", type=float, default=None, help="stop after this long (default: Ctrl-C)")
    record.add_argument("--venues", default=None, help="comma list (default: ARBKIT_EXCHANGES)")
    record.set_defaults(run=cmd_record)
    play = commands.add_parser("replay", help="replay a recording through detection and paper trading")
    play.add_argument("file", help="a recording made by arbkit record")
    play.add_argument("--bet", default=None, help="dollars per trade (default: PAPER_TRADING_BET_AMOUNT)")
    play.add_argument("--no-trade", action="store_true", help="only find opportunities")
    play.add_argument("--json", action="store_true", help="print the report as JSON")
    play.set_defaults(run=cmd_replay)


def cmd_record(args: argparse.Namespace, out: TextIO) -> int:
    """Discover and match by REST, subscribe every matched market, write every frame until stopped."""
    from arbkit.scanner import Scanner

    settings = Settings.from_env(env_file=args.env_file)
    venues = [v.strip() for v in (args.venues or ",".join(settings.exchanges)).split(",") if v.strip()]
    streams = streams_for(settings, venues)
    if not streams:
        raise ConfigError("no installed venue streams", variable="ARBKIT_EXCHANGES")
    scanner = Scanner.from_settings(settings)
    markets = scanner.markets()
    matches = [m for m in scanner.match(markets) if getattr(m, "tradable", True)]
    wanted: dict[str, dict[str, Market]] = {}
    for match in matches:
        for market in match.markets:
            wanted.setdefault(market.exchange, {})[market.id] = market
    store = BookStore()
    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
    started = time.monotonic()
    try:
        with Recorder(args.file, venues=sorted(streams), inner=store) as recorder:
            recorder.catalog(matches)
            for name, stream in list(streams.items()):
                try:
                    stream.start(recorder)
                    if wanted.get(name):
                        stream.subscribe(list(wanted[name].values()))
                except ArbkitError as exc:  # Kalshi's stream needs credentials even for market data
                    print(f"warning: {name} not recorded: {exc}", file=sys.stderr)
                    stream.close()
                    del streams[name]
            if not streams:
                raise ConfigError("no venue stream could be started", variable="ARBKIT_EXCHANGES")
            venues_text = ", ".join(sorted(streams))
            print(f"recording {len(matches)} matches on {venues_text} to {args.file}", file=out)
            while not stop.wait(min(5.0, args.seconds or 5.0)):
                recorder.flush()
                if args.seconds is not None and time.monotonic() - started >= args.seconds:
                    break
            for stream in streams.values():
                stream.close()
            frames = recorder.frames
    finally:
        signal.signal(signal.SIGINT, previous)
        for client in scanner.exchanges.values():
            client.close()
    print(f"{frames} frames in {time.monotonic() - started:.0f} s", file=out)
    for name in sorted(streams):
        status = store.status(name)
        print(f"  {name}: {status.state} {status.reason}".rstrip(), file=out)
    return 0


def _money(value: Decimal) -> str:
    return f"${value.quantize(CENT):,}"


def cmd_replay(args: argparse.Namespace, out: TextIO) -> int:
    """Replay a recording and print what existed and what paper trading would have made."""
    settings = Settings.from_env(env_file=args.env_file)
    bet = to_decimal(args.bet, field="--bet") if args.bet else settings.paper.bet_amount
    report = replay(
        args.file,
        bet_amount=bet,
        min_roi_percent=settings.paper.min_roi_percent,
        max_position=settings.paper.max_position_size,
        initial_balance=settings.paper.initial_balance,
        trade=not args.no_trade,
        settings=settings,
    )
    if args.json:
        json.dump(report.summary(), out, indent=2)
        print(file=out)
        return 0
    print(
        f"{report.messages} messages over {report.recorded_seconds:.1f} s recorded "
        f"({', '.join(report.venues)}), replayed at {report.messages_per_second:,.0f} msg/s",
        file=out,
    )
    print(f"{len(report.opportunities)} opportunities", file=out)
    for life in report.opportunities:
        lived = "still open" if life.seconds is None else f"{life.seconds:.2f} s"
        print(
            f"  {life.opened_at:%H:%M:%S.%f}  {life.title[:40]:40}  lived {lived}  "
            f"best {_money(life.best.profit)} ({life.best.roi_percent.quantize(CENT)}%)",
            file=out,
        )
    print(
        f"paper: {len(report.executed)} trades, cost {_money(report.cost)}, fees {_money(report.fees)}, "
        f"expected profit {_money(report.profit)}",
        file=out,
    )
    for problem in report.problems:
        print(f"warning: {problem}", file=sys.stderr)
    return 0
