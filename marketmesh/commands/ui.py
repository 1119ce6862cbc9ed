"""`marketmesh ui`: the live operations page of a running graph, on 127.0.0.1."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from marketmesh.commands.status import ADDRESS, NAMESPACE, RUN_ID, attach_or_exit

if TYPE_CHECKING:
    from marketmesh.ui.server import UiThread


def _announce(port: int, token: str) -> None:
    typer.secho(
        f"operations page: http://127.0.0.1:{port}/  (action token: {token})",
        err=True,
        fg=typer.colors.GREEN,
    )


def ui_beside_run(port: int) -> UiThread:
    """The page of the graph this process is about to run (`marketmesh run --ui-port`):
    served from a thread once the graph's control actor is up."""
    from marketmesh.ui.server import UiThread, new_token
    from marketmesh.ui.source import RayGraph

    def connect() -> RayGraph:
        import ray

        from actors.control import CONTROL_NAME

        if not ray.is_initialized():
            raise RuntimeError("the graph has not started Ray yet")
        return RayGraph(ray.get_actor(CONTROL_NAME))

    token = new_token()
    thread = UiThread(connect, port, token)
    thread.start()
    _announce(port, token)
    return thread


def register(app: typer.Typer) -> None:
    @app.command()
    def ui(
        port: Annotated[int, typer.Option(min=0, max=65535, help="port on 127.0.0.1")] = 8765,
        address: Annotated[str | None, ADDRESS] = None,
        namespace: Annotated[str, NAMESPACE] = "marketmesh",
        run_id: Annotated[str | None, RUN_ID] = None,
    ) -> None:
        """Serve the live operations page of a running graph (loopback only) until Ctrl-C."""
        import asyncio

        from marketmesh.ui.server import new_token, start
        from marketmesh.ui.source import RayGraph

        control, _, _ = attach_or_exit(address, namespace, run_id)
        token = new_token()

        async def serve() -> None:
            runner, bound = await start(RayGraph(control), port, token)
            _announce(bound, token)
            try:
                await asyncio.Event().wait()
            finally:
                await runner.cleanup()

        try:
            asyncio.run(serve())
        except OSError as exc:
            typer.secho(f"ui: {exc}", err=True, fg=typer.colors.RED)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            pass
