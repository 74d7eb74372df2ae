"""The aiohttp web layer (an adapter): the HTTP JSON API for agents' actions; the wallboard, reports, admin API
and /metrics come later. ``server.start_web`` is the entry point `callcenter serve` uses."""

from callcenter.web.server import create_app, start_web

__all__ = ["create_app", "start_web"]
