"""The live operations page: one page on 127.0.0.1, fed by the status `marketmesh status
--json` prints, pushed over server-sent events, with the kill switch, pause/resume and
rollback behind a confirmation and the token printed at start.

* `source`: where the status comes from and where actions go (a running graph over Ray);
* `view`: the page's state from a status payload, and the sparklines (SVG drawn here);
* `page`: the HTML (no external resources);
* `app`: the aiohttp application (page, events, actions);
* `server`: serving it, in the foreground (`marketmesh ui`) or beside a run (`--ui-port`).
"""
