"""The yardstick: the smallest FastAPI app there is, one `async def` returning constant JSON.

The benchmarks serve it the fastest way this machine allows, next to the registry, in the same run,
so that every figure of the registry is read against what the framework itself can do here
(harness.BareServer): uvicorn with uvloop and httptools when installed, and each answer written in
one system call as the registry writes its own (app.kit.onewrite; stock uvicorn writes the head and
the body apart). Served without that, the yardstick would be slower than the registry's serving and
`ping ÷ bare` would credit the registry's stack with what is only its fewer writes.

`python -m scripts.benchmarks.bare_app PORT LOOP HTTP` serves it on 127.0.0.1:PORT.
"""

import sys

from fastapi import FastAPI

app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)


@app.get("/ping")
async def ping() -> dict[str, str]:
    return {"status": "ok"}


def serve(port: int, loop: str, http: str) -> None:
    import uvicorn
    from uvicorn.protocols.http.h11_impl import H11Protocol

    from app.kit.onewrite import OneWritePerTurn

    base: type = H11Protocol
    if http == "httptools":
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

        base = HttpToolsProtocol
    protocol = type("OneWrite" + base.__name__, (OneWritePerTurn, base), {})
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        loop=loop,  # type: ignore[arg-type]
        http=protocol,
        access_log=False,
        log_level="warning",
    )


if __name__ == "__main__":
    serve(int(sys.argv[1]), sys.argv[2], sys.argv[3])
