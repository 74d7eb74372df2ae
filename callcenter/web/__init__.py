"""The aiohttp web layer (an adapter): log-in and roles, the JSON API, the wallboard, recordings, reports and
admin pages. ``server.start_web`` is the entry point `callcenter serve` uses; /metrics is ``metrics.py``'s.

Nothing is imported here, so the pure modules of this package (``users``, ``passwords``, ``wallboard``,
``charts``) load without aiohttp."""

__all__: list[str] = []
