"""The ``arbkit`` command: what people do from a shell.

::

    arbkit exchanges                      # the installed venues
    arbkit status                         # mode, where state is kept, balance, P&L, limits, open trades
    arbkit scan [--limit 20] [--json]     # one scan, the opportunities as a table
    arbkit pause | resume                 # stop / restart new trades (kept across restarts)
    arbkit kill --yes                     # cancel every resting order on every venue, stop trading
    arbkit flatten TRADE --max-loss 5 --yes  # sell a trade's position back at the best bids
    arbkit reconcile                      # live: the store against every venue, once
    arbkit sandbox kalshi --port 8701     # run a venue's sandbox (any installed adapter's)
    arbkit record FILE [--seconds 600]    # record the matched markets' streams (arbkit.streams)
    arbkit replay FILE [--json]           # replay a recording: opportunities, lives, paper P&L

Settings come from ``.env`` (``--env-file``) and the environment, as everywhere else
(:meth:`arbkit.Settings.from_env`). Exit status: 0 on success, 2 for a configuration error
or bad arguments, 1 when the command ran but failed (every venue unreachable, say).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from decimal import Decimal
from typing import TextIO

from arbkit.bot import Bot
from arbkit.config import DEFAULT_ACCOUNT, Settings
from arbkit.engine.opportunity import Opportunity
from arbkit.errors import ArbkitError, ConfigError, ValidationError
from arbkit.models import to_decimal
from arbkit.plugins import exchanges, plugin_problems, sandbox_runners
from arbkit.scanner import Scanner
from arbkit.trading.records import TradeStatus, TradingState

__all__ = ["main"]

CENT = Decimal("0.01")


def _money(value: Decimal) -> str:
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value).quantize(CENT):,}"


def _table(rows: Sequence[Sequence[str]], header: Sequence[str], out: TextIO) -> None:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=False)]
    right = [i > 0 and all(_numeric(r[i]) for r in rows) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            str(c).rjust(w) if r else str(c).ljust(w) for c, w, r in zip(cells, widths, right, strict=True)
        ).rstrip()

    print(line(header), file=out)
    print("  ".join("-" * w for w in widths), file=out)
    for row in rows:
        print(line(row), file=out)


def _numeric(cell: str) -> bool:
    text = cell.replace("$", "").replace(",", "").replace("%", "").lstrip("-")
    return bool(text) and text.replace(".", "", 1).isdigit()


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(env_file=args.env_file)


def _legs(opportunity: Opportunity) -> str:
    return " + ".join(
        f"{leg.exchange}:{leg.outcome_name} @ {leg.limit_price.normalize():f}" for leg in opportunity.legs
    )


def _opportunity_json(opportunity: Opportunity) -> dict[str, object]:
    """An opportunity as JSON (amounts as strings: exact, as everywhere in arbkit)."""
    return {
        "title": opportunity.title,
        "key": opportunity.key,
        "size": str(opportunity.size),
        "cost": str(opportunity.cost),
        "fees": str(opportunity.fees),
        "profit": str(opportunity.profit),
        "roi_percent": str(opportunity.roi_percent.quantize(Decimal("0.0001"))),
        "legs": [
            {
                "exchange": leg.exchange,
                "market_id": leg.market.id,
                "outcome_id": leg.outcome_id,
                "outcome_name": leg.outcome_name,
                "price": str(leg.limit_price),
                "size": str(leg.size),
                "cost": str(leg.cost),
                "fee": str(leg.fee),
            }
            for leg in opportunity.legs
        ],
    }


def cmd_exchanges(args: argparse.Namespace, out: TextIO) -> int:
    """Print the installed exchanges, one per line (and, on stderr, any plugin that failed to load)."""
    for name in exchanges():
        print(name, file=out)
    for problem in plugin_problems():
        print(f"skipped: {problem}", file=sys.stderr)
    return 0


def cmd_scan(args: argparse.Namespace, out: TextIO) -> int:
    """One scan: discover, match, fetch books, detect; print the opportunities."""
    settings = _settings(args)
    scanner = Scanner.from_settings(settings)
    try:
        result = scanner.scan()
    finally:
        for client in scanner.exchanges.values():
            client.close()
    found = result.opportunities[: args.limit]
    if args.json:
        json.dump(
            {
                "markets": result.market_count,
                "matches": len(result.matches),
                "opportunities": [_opportunity_json(o) for o in found],
                "errors": [{"venue": v, "operation": o, "message": m} for v, o, m in result.errors],
            },
            out,
            indent=2,
        )
        print(file=out)
    else:
        print(
            f"{result.market_count} markets, {len(result.matches)} matches, "
            f"{len(result.opportunities)} opportunities ({result.seconds:.2f} s)",
            file=out,
        )
        if found:
            rows = [
                [
                    o.title[:48],
                    _legs(o),
                    f"{o.size.normalize():f}",
                    _money(o.total_cost),
                    _money(o.fees),
                    _money(o.profit),
                    f"{o.roi_percent.quantize(CENT)}%",
                ]
                for o in found
            ]
            _table(rows, ["game / market", "legs", "contracts", "cost", "fees", "profit", "roi"], out)
        for venue, operation, message in result.errors:
            print(f"error: {venue}: {operation}: {message}", file=sys.stderr)
    live_venues = [v for v, markets in result.markets.items() if markets]
    return 0 if live_venues or not result.errors else 1


def _print_state(state: TradingState, settings: Settings, out: TextIO) -> None:
    limits = settings.limits
    print(f"mode:          {state.mode}", file=out)
    print(f"state kept in: {settings.data_dir.resolve()}", file=out)
    print(f"exchanges:     {', '.join(settings.exchanges)}", file=out)
    extra = [f"{venue}:{account}" for venue, account in settings.accounts if account != DEFAULT_ACCOUNT]
    if extra:
        print(f"accounts:      each venue's default, {', '.join(extra)}", file=out)
    if settings.instance is not None:
        print(f"instance:      {settings.instance}", file=out)
    print(f"balance:       {_money(state.balance)} (started at {_money(state.initial_balance)})", file=out)
    print(f"realised P&L:  {_money(state.realised_pnl)}", file=out)
    print(f"unrealised:    {_money(state.unrealised_pnl)}", file=out)
    trades_limit = "no limit" if limits.max_daily_trades is None else str(limits.max_daily_trades)
    loss_limit = "no limit" if limits.daily_loss_limit is None else _money(limits.daily_loss_limit)
    print(f"today ({state.day}): {state.daily_trades} trades of {trades_limit}", file=out)
    print(f"               loss {_money(state.daily_loss)} of {loss_limit}", file=out)
    max_position = "no limit" if limits.max_position_size is None else _money(limits.max_position_size)
    print(
        f"limits:        bet {_money(limits.bet_amount)}, min ROI {limits.min_roi_percent}%, "
        f"max position {max_position}",
        file=out,
    )
    if state.open_positions:
        rows = [
            [
                t.created_at.strftime("%Y-%m-%d %H:%M"),
                t.opportunity.title[:48],
                t.status.value,
                _money(t.total_cost),
            ]
            for t in state.open_positions
        ]
        _table(rows, ["opened", "market", "status", "cost"], out)
    else:
        print("no open positions", file=out)
    for error in state.recent_errors[-5:]:
        print(f"recent error: {error.venue}: {error.operation}: {error.message}", file=out)


def cmd_status(args: argparse.Namespace, out: TextIO) -> int:
    """Mode, where state is, balance, P&L, today's counters and limits, open positions."""
    settings = _settings(args)
    bot = Bot.from_settings(settings)
    try:
        _print_state(bot.state(), settings, out)
    finally:
        bot.close()
    return 0


def _bot(args: argparse.Namespace) -> tuple[Bot, Settings]:
    settings = _settings(args)
    return Bot.from_settings(settings), settings


def cmd_pause(args: argparse.Namespace, out: TextIO) -> int:
    """Stop new trades (kept across restarts; a running service notices at its next cycle)."""
    bot, _ = _bot(args)
    try:
        state = bot.pause(args.reason)
    finally:
        bot.close()
    print(f"{state.state}: {state.reason}", file=out)
    return 0


def cmd_resume(args: argparse.Namespace, out: TextIO) -> int:
    """Trade again."""
    bot, _ = _bot(args)
    try:
        state = bot.resume()
    finally:
        bot.close()
    print(state.state, file=out)
    return 0


def cmd_kill(args: argparse.Namespace, out: TextIO) -> int:
    """Cancel every resting order on every venue (live) and stop trading until resumed."""
    if not args.yes:
        print("kill cancels every resting order on every venue: add --yes to confirm", file=sys.stderr)
        return 2
    bot, _ = _bot(args)
    try:
        cancelled = bot.kill(args.reason)
    finally:
        bot.close()
    print(f"killed: {args.reason}", file=out)
    for venue, outcome in cancelled.items():
        print(f"  {venue}: {outcome}", file=out)
    return 0 if all(outcome == "cancelled" for outcome in cancelled.values()) else 1


def cmd_reconcile(args: argparse.Namespace, out: TextIO) -> int:
    """One reconciliation run (live): stored positions, cash and open orders against every venue."""
    bot, settings = _bot(args)
    try:
        if settings.mode != "live":
            print(
                "reconcile compares a live store with the venues: LIVE_TRADING is not true", file=sys.stderr
            )
            return 2
        report = bot.reconcile()
    finally:
        bot.close()
    if report is None:
        print("reconciliation failed: see the log", file=sys.stderr)
        return 1
    if report.ok:
        print("reconciled: the store agrees with every venue", file=out)
        return 0
    for mismatch in report.mismatches:
        print(f"mismatch: {mismatch.venue}: {mismatch.kind}: {mismatch.message}", file=out)
    for trade_id in report.unresolved:
        print(f"unresolved: trade {trade_id} has a leg whose outcome is still unknown", file=out)
    for error in report.errors:
        print(f"error: {error}", file=out)
    return 1


def cmd_flatten(args: argparse.Namespace, out: TextIO) -> int:
    """Sell back what one trade holds at the best bids, within a loss bound (--yes to confirm).

    With ``--url`` the running service does it (``POST /api/trading/flatten``, the token from
    ``ARBKIT_API_TOKEN``): use that while a service trades on the same data folder.
    """
    if not args.yes:
        print(
            "flatten sells the trade's contracts back at the best bids now: add --yes to confirm",
            file=sys.stderr,
        )
        return 2
    try:
        max_loss = None if args.max_loss is None else to_decimal(args.max_loss, field="--max-loss")
    except ValidationError as exc:
        print(f"bad argument: {exc}", file=sys.stderr)
        return 2
    if args.url:
        return _flatten_remote(args, max_loss, out)
    bot, _ = _bot(args)
    try:
        trade = bot.flatten(args.trade_id, max_loss=max_loss)
    finally:
        bot.close()
    print(
        f"{trade.id}: {trade.status.value}; {_money(trade.unwind_proceeds)} back from sales, "
        f"realised {_money(trade.realised_pnl) if trade.realised_pnl is not None else '-'}",
        file=out,
    )
    return 0 if trade.status is TradeStatus.UNWOUND else 1


def _flatten_remote(args: argparse.Namespace, max_loss: Decimal | None, out: TextIO) -> int:
    import requests

    settings = _settings(args)
    headers = {}
    if settings.api_token is not None:
        headers["Authorization"] = f"Bearer {settings.api_token.reveal()}"
    body: dict[str, str] = {"trade_id": args.trade_id, "confirm": "flatten"}
    if max_loss is not None:
        body["max_loss"] = str(max_loss)
    url = args.url.rstrip("/") + "/api/trading/flatten"
    try:
        response = requests.post(url, json=body, headers=headers, timeout=60)
    except requests.RequestException as exc:
        print(f"error: cannot reach the service at {args.url}: {type(exc).__name__}", file=sys.stderr)
        return 1
    try:
        data = response.json()
    except ValueError:
        data = {}
    if response.status_code != 200:
        print(f"refused ({response.status_code}): {data.get('message', response.reason)}", file=sys.stderr)
        return 1
    print(f"{data['id']}: {data['status']}; ${data['unwind_proceeds']} back from sales", file=out)
    return 0 if data["status"] == "unwound" else 1


def cmd_sandbox(args: argparse.Namespace, out: TextIO) -> int:
    """Run an installed venue's sandbox with the remaining arguments."""
    runners = sandbox_runners()
    runner = runners.get(args.venue)
    if runner is None:
        known = ", ".join(sorted(runners)) or "none"
        print(f"no sandbox named {args.venue!r}; installed: {known}", file=sys.stderr)
        return 2
    return int(runner(list(args.rest)))


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (one subcommand per action)."""
    parser = argparse.ArgumentParser(prog="arbkit", description=__doc__.split("\n\n")[0])
    parser.add_argument("--env-file", default=".env", help="dotenv file to read (default .env)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("exchanges", help="list the installed exchanges").set_defaults(run=cmd_exchanges)
    status = commands.add_parser("status", help="balance, P&L, limits and open positions")
    status.set_defaults(run=cmd_status)
    scan = commands.add_parser("scan", help="one scan, printed as a table")
    scan.add_argument("--limit", type=int, default=20, help="opportunities to show (20)")
    scan.add_argument("--json", action="store_true", help="print JSON instead of a table")
    scan.set_defaults(run=cmd_scan)
    pause = commands.add_parser("pause", help="stop new trades until resume (kept across restarts)")
    pause.add_argument("--reason", default="paused from the shell")
    pause.set_defaults(run=cmd_pause)
    commands.add_parser("resume", help="trade again after pause or kill").set_defaults(run=cmd_resume)
    kill = commands.add_parser("kill", help="cancel every resting order and stop trading (--yes)")
    kill.add_argument("--yes", action="store_true", help="confirm")
    kill.add_argument("--reason", default="killed from the shell")
    kill.set_defaults(run=cmd_kill)
    flatten = commands.add_parser("flatten", help="sell back what a trade holds at the best bids (--yes)")
    flatten.add_argument("trade_id", help="the trade (arbkit status lists open positions)")
    flatten.add_argument(
        "--max-loss", help="dollars the sale may lose at most (default: entry less 0.10 a contract)"
    )
    flatten.add_argument(
        "--url", help="ask the service running at this URL instead (e.g. http://127.0.0.1:5001)"
    )
    flatten.add_argument("--yes", action="store_true", help="confirm")
    flatten.set_defaults(run=cmd_flatten)
    reconcile = commands.add_parser("reconcile", help="compare the live store with every venue, once")
    reconcile.set_defaults(run=cmd_reconcile)
    sandbox = commands.add_parser("sandbox", help="run a venue's sandbox: arbkit sandbox NAME [ARGS]")
    sandbox.add_argument("venue", help="the venue (arbkit exchanges lists them)")
    sandbox.add_argument("rest", nargs=argparse.REMAINDER, help="arguments for the sandbox (--port, ...)")
    sandbox.set_defaults(run=cmd_sandbox)
    from arbkit.streams.commands import add_commands

    add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    """Run one command; returns the exit status."""
    args = build_parser().parse_args(argv)
    stream = out if out is not None else sys.stdout
    try:
        status: int = args.run(args, stream)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except ArbkitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return status


if __name__ == "__main__":
    raise SystemExit(main())
