"""An answer's head and body leave in one write (app.kit.onewrite), on both of uvicorn's protocols."""

import asyncio
from typing import Any

import pytest
import uvicorn
from uvicorn.server import ServerState

from app.kit import onewrite, slowclients


class FakeTransport:
    """What a protocol writes, each write kept apart."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        assert not self.closed, "written after close"
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 40000), "sockname": ("127.0.0.1", 8000)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def _turns(count: int = 3) -> None:
    for _ in range(count):
        await asyncio.sleep(0)


def test_writes_in_one_turn_of_the_loop_leave_together_at_its_end():
    asyncio.run(_writes_in_one_turn_of_the_loop_leave_together_at_its_end())


async def _writes_in_one_turn_of_the_loop_leave_together_at_its_end():
    real = FakeTransport()
    gathering = onewrite.GatheringTransport(real, asyncio.get_running_loop())
    gathering.write(b"HTTP/1.1 200 OK\r\n\r\n")
    gathering.write(memoryview(b'{"status":"ok"}'))
    gathering.write(b"")
    assert real.writes == []
    await _turns(1)
    assert real.writes == [b'HTTP/1.1 200 OK\r\n\r\n{"status":"ok"}']
    gathering.write(b"next")
    await _turns(1)
    assert real.writes[1:] == [b"next"]


def test_a_large_stream_is_written_as_it_grows_not_held_whole():
    asyncio.run(_a_large_stream_is_written_as_it_grows_not_held_whole())


async def _a_large_stream_is_written_as_it_grows_not_held_whole():
    real = FakeTransport()
    gathering = onewrite.GatheringTransport(real, asyncio.get_running_loop())
    chunk = b"x" * (onewrite.FLUSH_BYTES // 4)
    for _ in range(10):
        gathering.write(chunk)
    # Written at once each time the gathered bytes reach the threshold, within the same turn.
    assert [len(write) for write in real.writes] == [onewrite.FLUSH_BYTES, onewrite.FLUSH_BYTES]
    await _turns(1)
    assert sum(map(len, real.writes)) == 10 * len(chunk)


def test_closing_sends_what_was_gathered_first_and_nothing_goes_to_a_closed_transport():
    asyncio.run(_closing_sends_what_was_gathered_first_and_nothing_goes_to_a_closed_transport())


async def _closing_sends_what_was_gathered_first_and_nothing_goes_to_a_closed_transport():
    real = FakeTransport()
    gathering = onewrite.GatheringTransport(real, asyncio.get_running_loop())
    gathering.write(b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n")
    gathering.close()
    assert real.closed and real.writes == [b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n"]
    await _turns()  # the turn's own flush finds nothing left
    assert len(real.writes) == 1

    other = FakeTransport()
    gathering = onewrite.GatheringTransport(other, asyncio.get_running_loop())
    gathering.write(b"late")
    other.closed = True  # the peer went away meanwhile
    await _turns()
    assert other.writes == []


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    assert scope["type"] == "http"
    body = b'{"status":"ok"}'
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


@pytest.mark.parametrize("http", ["httptools", "h11"])
def test_each_answer_of_the_registry_s_protocol_is_one_write(http):
    asyncio.run(_each_answer_is_one_write(http))


async def _each_answer_is_one_write(http):
    config = uvicorn.Config(
        _app, http="h11" if http == "h11" else "httptools", lifespan="off", log_level="warning"
    )
    make = slowclients.protocol(5.0, http)
    protocol = make(config=config, server_state=ServerState(), app_state={}, _loop=asyncio.get_running_loop())
    real = FakeTransport()
    protocol.connection_made(real)
    for number in range(2):  # a kept-alive connection: every answer alike
        protocol.data_received(b"GET /ping HTTP/1.1\r\nHost: registry\r\n\r\n")
        for _ in range(50):
            await asyncio.sleep(0)
            if len(real.writes) > number:
                break
        await _turns()
        assert len(real.writes) == number + 1, real.writes
        head, _, body = real.writes[number].partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200") and body == b'{"status":"ok"}'
    protocol.connection_lost(None)
