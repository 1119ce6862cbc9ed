"""`marketmesh rfq`: ask a running broker (actors/broker.py) for a firm quote, accept it."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

URL = typer.Argument(help="the broker's base URL, as `marketmesh run` printed it")
CLIENT = typer.Option(help="your client id (limits are per client and per UTC day)")
TIMEOUT = typer.Option(help="seconds to wait for the broker")


def _call(method: str, url: str, body: dict[str, Any] | None, timeout_s: float) -> None:
    """Print the broker's JSON answer; exit 1 on a refusal (4xx/5xx), 2 if unreachable."""
    import urllib.error
    import urllib.request

    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
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
    rfq = typer.Typer(help="Request and accept firm OTC quotes from a running broker.")
    app.add_typer(rfq, name="rfq")

    @rfq.command("quote")
    def quote(
        url: Annotated[str, URL],
        side: Annotated[str, typer.Option(help="your side: buy or sell")],
        size: Annotated[str, typer.Option(help="base amount, e.g. 0.25")],
        client: Annotated[str, CLIENT],
        timeout_s: Annotated[float, TIMEOUT] = 5.0,
    ) -> None:
        """Request a firm quote (quote_id, price, expiry)."""
        body = {"client": client, "side": side, "size": size}
        _call("POST", f"{url.rstrip('/')}/rfq", body, timeout_s)

    @rfq.command("accept")
    def accept(
        url: Annotated[str, URL],
        quote_id: Annotated[str, typer.Argument(help="the quote_id to accept")],
        client: Annotated[str, CLIENT],
        timeout_s: Annotated[float, TIMEOUT] = 5.0,
    ) -> None:
        """Accept a quote within its expiry; accepting twice returns the same fill."""
        _call("POST", f"{url.rstrip('/')}/rfq/{quote_id}/accept", {"client": client}, timeout_s)

    @rfq.command("health")
    def health(url: Annotated[str, URL], timeout_s: Annotated[float, TIMEOUT] = 5.0) -> None:
        """The broker's state: paused, book age, quotes, fills, last refusal."""
        _call("GET", f"{url.rstrip('/')}/rfq/health", None, timeout_s)
