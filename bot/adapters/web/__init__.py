"""The HTTP server: alert intake, /healthz, /metrics (FastAPI on uvicorn)."""
