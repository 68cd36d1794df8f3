"""The package version: a leaf module, so any layer may show it without importing the package."""
__version__ = "0.1.0"
