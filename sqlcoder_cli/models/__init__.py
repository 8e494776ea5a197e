"""Models: the catalogue, GGUF metadata, the local store and Hub downloads.

This package never imports Typer or rich (the CLI renders), and imports huggingface_hub only
inside the functions that need it, so importing it is cheap.
"""

from __future__ import annotations

from .catalogue import CATALOGUE, DEFAULT_MODEL, FAMILIES, CatalogueEntry, find_entry
from .download import DownloadProgress, HubSettings, hub_cache_dir
from .gguf_info import GGUFInfo, detect_family, read_gguf_info
from .store import LocalModel, ModelStatus, ModelStore

__all__ = [
    "CATALOGUE",
    "DEFAULT_MODEL",
    "FAMILIES",
    "CatalogueEntry",
    "DownloadProgress",
    "GGUFInfo",
    "HubSettings",
    "LocalModel",
    "ModelStatus",
    "ModelStore",
    "detect_family",
    "find_entry",
    "hub_cache_dir",
    "read_gguf_info",
]
