"""Text generation backends. Only :mod:`.llama` touches llama_cpp, and only when a model loads."""

from .base import EngineOptions, Generation, TokenCallback

__all__ = ["EngineOptions", "Generation", "TokenCallback"]
