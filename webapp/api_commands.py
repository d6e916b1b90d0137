"""``carenotes api-tokens create|list|revoke``: tokens for case-management systems."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from webapp.cli_common import add_data_option, app_for
from webapp.db import shown_time
from webapp.services.api_tokens import create_token, expiry_after, list_tokens, revoke_token

__all__ = ["add_commands"]


def _services(data: str | None) -> Any:
    return app_for(data).extensions["carenotes"]


def _create(args: argparse.Namespace) -> int:
    svc = _services(args.data)
    new = create_token(
        svc,
        args.name,
        args.team,
        can_mark_imported=args.mark_imported,
        expires_at=expiry_after(args.expires) if args.expires else None,
    )
    scope = "read and mark imported" if args.mark_imported else "read only"
    until = f"to the end of {args.expires} (UK time)" if args.expires else "with no expiry"
    print(
        f"Made API token {new.id} (cnt_{new.prefix}) for {', '.join(sorted(set(args.team)))}: "
        f"{scope}, {until}. Give the token below to the system now: it is not kept and "
        "cannot be shown again.",
        file=sys.stderr,
    )
    print(new.token)
    return 0


def _list(args: argparse.Namespace) -> int:
    tokens = list_tokens(_services(args.data))
    if not tokens:
        print("No API tokens yet. Make one with `carenotes api-tokens create`.")
        return 0
    print("id\tprefix\tstate\tscope\tteams\texpires\tlast used\tname")
    for token in tokens:
        print(
            "\t".join(
                (
                    str(token.id),
                    f"cnt_{token.prefix}",
                    token.state(),
                    token.scope,
                    ",".join(token.teams),
                    shown_time(token.expires_at) or "never",
                    shown_time(token.last_used_at) or "never",
                    token.name,
                )
            )
        )
    return 0


def _revoke(args: argparse.Namespace) -> int:
    if revoke_token(_services(args.data), args.token):
        print(f"Revoked API token {args.token}: calls made with it are refused from now on.")
    else:
        print(f"API token {args.token} was already revoked.")
    return 0


def add_commands(subparsers: Any) -> None:
    """Register ``api-tokens create|list|revoke`` on the ``carenotes`` parser."""
    tokens = subparsers.add_parser("api-tokens", help="tokens for case-management systems")
    sub = tokens.add_subparsers(dest="api_tokens_command", required=True, metavar="ACTION")
    create = sub.add_parser(
        "create", help="make a token (printed once, on standard output; only its hash is kept)"
    )
    create.add_argument("name", help="what uses it, e.g. 'Mosaic import'")
    create.add_argument(
        "--team",
        action="append",
        required=True,
        help="a team whose approved notes it may read (repeat for several)",
    )
    create.add_argument(
        "--mark-imported",
        action="store_true",
        help="let it mark notes imported as well as read them",
    )
    create.add_argument(
        "--expires", metavar="YYYY-MM-DD", help="the last day it works (UK time); default never"
    )
    add_data_option(create)
    create.set_defaults(func=_create)
    listing = sub.add_parser("list", help="list the tokens (never the tokens themselves)")
    add_data_option(listing)
    listing.set_defaults(func=_list)
    revoke = sub.add_parser("revoke", help="revoke a token at once")
    revoke.add_argument("token", metavar="ID_OR_PREFIX", help="its id, or its prefix (cnt_...)")
    add_data_option(revoke)
    revoke.set_defaults(func=_revoke)
