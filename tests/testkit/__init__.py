"""Test support code shared by test modules: tiny GGUF writer, fake Hugging Face hub."""
