"""Funded sandbox accounts with fresh credentials, for tests, benchmarks and the demo.

:func:`new_account` makes a new wallet (an EOA signing its own orders, signature type 0);
:func:`open_account` also funds it with pUSD on a
:class:`~arbkit_polymarket.sandbox.PolymarketSandbox`. The private key is a sandbox
credential, but it is still wrapped in a :class:`~arbkit.config.Secret` so it never reaches
a repr or a log. The Kalshi sandbox offers the same two functions
(:mod:`arbkit_kalshi.sandbox.accounts`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs

from arbkit.config import Secret

if TYPE_CHECKING:
    from arbkit_polymarket.client import PolymarketClient
    from arbkit_polymarket.sandbox.app import PolymarketSandbox

__all__ = ["SandboxAccount", "new_account", "open_account"]


@attrs.frozen
class SandboxAccount:
    """A wallet for the sandbox: its address and private key (``0x`` hex)."""

    address: str
    private_key: Secret

    def client(self, base_url: str, **options: Any) -> PolymarketClient:
        """A signed client for the sandbox at ``base_url`` (CLOB at the root, Gamma under
        ``/gamma``, the Data API under ``/data-api``, as the sandbox serves them), with no
        client-side throttle and no environment proxies. ``options`` go to
        :class:`~arbkit_polymarket.client.PolymarketClient`.
        """
        from arbkit_polymarket.client import PolymarketClient

        options.setdefault("rate_limit", None)
        options.setdefault("gamma_url", base_url + "/gamma")
        options.setdefault("data_url", base_url + "/data-api")
        client = PolymarketClient(base_url=base_url, private_key=self.private_key.reveal(), **options)
        for transport in (client.clob, client.gamma, client.data):
            transport.session.trust_env = False
        return client


def new_account() -> SandboxAccount:
    """A fresh wallet (not yet funded on any sandbox)."""
    from eth_account import Account

    wallet = Account.create()
    return SandboxAccount(wallet.address, Secret("0x" + bytes(wallet.key).hex()))


def open_account(
    app: PolymarketSandbox, *, balance: Decimal | int | str, account: SandboxAccount | None = None
) -> SandboxAccount:
    """Fund ``account`` (a fresh wallet by default) on ``app`` with ``balance`` dollars of pUSD."""
    account = account or new_account()
    app.add_account(account.address, balance)
    return account
