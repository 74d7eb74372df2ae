"""tests/e2e/sipp.py hands out SIPp's ports: never one twice while tests start SIPp from several threads."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.e2e.sipp import _free_even_port, _free_port

HOST = "127.0.0.1"


def _ports_of_one_sipp(_: int) -> list[int]:
    media = _free_even_port(HOST)
    return [_free_port(HOST), *range(media, media + 4)]


def test_ports_handed_out_from_many_threads_never_overlap() -> None:
    with ThreadPoolExecutor(8) as pool:
        handed_out = [port for ports in pool.map(_ports_of_one_sipp, range(400)) for port in ports]
    assert len(handed_out) == len(set(handed_out)) == 2000


def test_a_media_port_is_even_with_its_three_successors_free() -> None:
    port = _free_even_port(HOST)
    assert port % 2 == 0 and port + 3 <= 65535
