"""The gallery API: similar works by id or by uploaded image, served with FastAPI."""
