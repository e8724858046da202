"""`fcnn serve`: a model behind HTTP (FastAPI on uvicorn, the `serve` extra)."""
