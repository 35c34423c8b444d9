"""The yardstick: the smallest FastAPI app there is, one `async def` returning constant JSON.

The benchmarks serve it with uvicorn the fastest way this machine allows (uvloop and httptools when
installed) next to the registry, in the same run, so that every figure of the registry is read
against what the framework itself can do here (harness.BareServer).
"""

from fastapi import FastAPI

app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)


@app.get("/ping")
async def ping() -> dict[str, str]:
    return {"status": "ok"}
