"""`marketmesh rfq`: ask a running broker (actors/broker.py) for a firm quote, accept it.

Every request is signed (engine/broker/auth.py) with the client's API key and
secret: the key from `--api-key` or `MARKETMESH_RFQ_API_KEY`, the secret only
from `MARKETMESH_RFQ_API_SECRET` (never on the command line, where `ps` and
shell history would show it).
"""

from __future__ import annotations

import json
import os
import time
from typing import Annotated, Any
from urllib.parse import quote as url_quote
from urllib.parse import urlsplit

import typer

from engine.broker.auth import RequestSigner

KEY_ENV = "MARKETMESH_RFQ_API_KEY"
SECRET_ENV = "MARKETMESH_RFQ_API_SECRET"
URL = typer.Argument(help="the broker's base URL, as `marketmesh run` printed it")
API_KEY = typer.Option("--api-key", envvar=KEY_ENV, help="your API key", show_default=False)
TIMEOUT = typer.Option(help="seconds to wait for the broker")


def _signer(api_key: str | None, *, required: bool) -> RequestSigner | None:
    secret = os.environ.get(SECRET_ENV, "")
    if api_key and secret:
        return RequestSigner(api_key, secret.encode())
    if required:
        needed = ((f"{KEY_ENV} (or --api-key)", api_key), (SECRET_ENV, secret))
        missing = [name for name, value in needed if not value]
        typer.secho(
            f"rfq: set {' and '.join(missing)}: every RFQ request is signed",
            err=True,
            fg=typer.colors.RED,
        )
        raise typer.Exit(2)
    return None


def _call(
    method: str,
    url: str,
    body: dict[str, Any] | None,
    timeout_s: float,
    signer: RequestSigner | None,
) -> None:
    """Print the broker's JSON answer; exit 1 on a refusal (4xx/5xx), 2 if unreachable."""
    import urllib.error
    import urllib.request

    data = b"" if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"} if method == "POST" else {}
    if signer is not None:
        parts = urlsplit(url)
        path_qs = parts.path + (f"?{parts.query}" if parts.query else "")
        headers.update(signer.headers(method, path_qs, data, time.time_ns()))
    request = urllib.request.Request(
        url, data=data if method == "POST" else None, method=method, headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as r:
            typer.echo(json.dumps(json.loads(r.read()), indent=2))
    except urllib.error.HTTPError as exc:
        raw = exc.read().decode(errors="replace")
        try:
            answer = json.loads(raw)
            message = f"{exc.code} {answer.get('error')}: {answer.get('message')}"
        except json.JSONDecodeError:
            message = f"{exc.code}: {raw[:200]}"
        typer.secho(message, err=True, fg=typer.colors.RED)
        raise typer.Exit(1) from None
    except (urllib.error.URLError, OSError) as exc:
        typer.secho(f"{url}: broker unreachable ({exc})", err=True, fg=typer.colors.RED)
        raise typer.Exit(2) from None


def register(app: typer.Typer) -> None:
    rfq = typer.Typer(
        help=f"Request and accept firm OTC quotes from a running broker. Requests are signed "
        f"with ${KEY_ENV} (or --api-key) and ${SECRET_ENV}."
    )
    app.add_typer(rfq, name="rfq")

    @rfq.command("quote")
    def quote(
        url: Annotated[str, URL],
        side: Annotated[str, typer.Option(help="your side: buy or sell")],
        size: Annotated[str, typer.Option(help="base amount, e.g. 0.25")],
        api_key: Annotated[str | None, API_KEY] = None,
        timeout_s: Annotated[float, TIMEOUT] = 5.0,
    ) -> None:
        """Request a firm quote (quote_id, price, expiry)."""
        signer = _signer(api_key, required=True)
        body = {"side": side, "size": size}
        _call("POST", f"{url.rstrip('/')}/rfq", body, timeout_s, signer)

    @rfq.command("accept")
    def accept(
        url: Annotated[str, URL],
        quote_id: Annotated[str, typer.Argument(help="the quote_id to accept")],
        api_key: Annotated[str | None, API_KEY] = None,
        timeout_s: Annotated[float, TIMEOUT] = 5.0,
    ) -> None:
        """Accept a quote within its expiry; accepting twice returns the same fill."""
        signer = _signer(api_key, required=True)
        path = f"/rfq/{url_quote(quote_id, safe='')}/accept"
        _call("POST", f"{url.rstrip('/')}{path}", {}, timeout_s, signer)

    @rfq.command("health")
    def health(
        url: Annotated[str, URL],
        api_key: Annotated[str | None, API_KEY] = None,
        timeout_s: Annotated[float, TIMEOUT] = 5.0,
    ) -> None:
        """Whether the broker quotes now (and why not); signed, also your own usage."""
        signer = _signer(api_key, required=False)
        _call("GET", f"{url.rstrip('/')}/rfq/health", None, timeout_s, signer)
