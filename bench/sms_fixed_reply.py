"""The ceiling of bench/sms.py over HTTP: the same server stack (uvicorn + FastAPI) answering Kannel's MO
callback with a fixed empty 200, reading the body and headers as subreg's route does, storing nothing.

    uvicorn bench.sms_fixed_reply:app --port 8099
"""

from __future__ import annotations

from fastapi import FastAPI, Request, Response

app = FastAPI()


@app.post("/sms/kannel/{gateway}/mo")
async def mo(gateway: str, request: Request) -> Response:
    body = await request.body()
    _ = (gateway, body, request.headers.get("x-kannel-from"), request.headers.get("x-gateway-secret"))
    return Response(status_code=200)


@app.get("/api/v1/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}
