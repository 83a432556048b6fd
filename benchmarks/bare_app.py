"""The write-path baseline: a bare FastAPI endpoint taking the same command body and
answering the same shape, with no domain, store or middleware — served by uvicorn with the
settings `zugong` uses (`zugong.cli._serve`)."""

from __future__ import annotations

import argparse
import uuid

from fastapi import FastAPI, Response

from contracts.api.personnel import RegisterUnit

app = FastAPI()


@app.post("/api/v1/personnel/units", status_code=201)
async def register_unit(body: RegisterUnit, response: Response) -> dict:
    unit_id = str(uuid.uuid4())
    response.headers["ETag"] = '"1"'
    return {"id": unit_id, "version": 1, "consistency_token": unit_id}


@app.get("/healthz")
async def healthz() -> dict:
    return {"status": "ok"}


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    config = uvicorn.Config(app, host="127.0.0.1", port=args.port, log_level="warning",
                            access_log=False, lifespan="on", timeout_graceful_shutdown=5)
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
