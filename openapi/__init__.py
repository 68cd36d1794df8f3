"""The OpenAPI documents, shipped as package data of `rescale_mock.openapi` (read through importlib.resources)."""
