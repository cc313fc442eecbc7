"""Runs the web app under uvicorn until interrupted."""

from __future__ import annotations

import logging

import uvicorn
from fastapi import FastAPI

log = logging.getLogger("segbot.serve")


def run(app: FastAPI, *, host: str, port: int) -> None:
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning",
                                           access_log=False, timeout_graceful_shutdown=10))
    log.info("listening on http://%s:%s", host, port)
    server.run()
