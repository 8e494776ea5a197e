"""Fake model folders of other tools, in their real layouts, for ``models scan`` tests.

Why real layouts instead of mocks: the scan's whole job is to know these shapes, so the tests build
them exactly as the tools do (see ``sqlcoder_cli/models/scan.py`` for the references):

* the Hugging Face hub cache: ``models--ORG--NAME/blobs/<sha256>`` with
  ``snapshots/<rev>/<file>`` as a relative symlink to ``../../blobs/<sha256>`` and ``refs/main``;
* LM Studio: ``models/PUBLISHER/REPO/FILE.gguf``;
* Ollama: ``manifests/registry.ollama.ai/library/NAME/TAG`` (a JSON manifest) naming its model
  layer's ``blobs/sha256-<hex>``, beside template/params layers as Ollama writes them.

:func:`build_fake_world` puts one of each (plus a truncated GGUF, a text file named ``.gguf`` and a
symlink loop) under one temporary folder and returns the environment that points at it.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from .gguf_faults import truncated_copy

OLLAMA_MODEL = "application/vnd.ollama.image.model"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def add_hf_file(cache: Path, repo_id: str, filename: str, source: Path, *, revision: str = "0" * 40) -> Path:
    """Put ``source`` into the HF cache as huggingface_hub does; returns the snapshot path (a link)."""
    data = source.read_bytes()
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    blob = repo / "blobs" / _sha256(data)
    blob.parent.mkdir(parents=True, exist_ok=True)
    blob.write_bytes(data)
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(revision)
    pointer = repo / "snapshots" / revision / filename
    pointer.parent.mkdir(parents=True, exist_ok=True)
    pointer.symlink_to(os.path.relpath(blob, pointer.parent))
    return pointer


def add_lmstudio_file(models_dir: Path, publisher: str, repo: str, filename: str, source: Path) -> Path:
    """``models_dir/PUBLISHER/REPO/FILENAME``, a copy of ``source``."""
    target = models_dir / publisher / repo / filename
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(source.read_bytes())
    return target


def add_ollama_model(
    models_dir: Path,
    name: str,
    tag: str,
    source: Path | None,
    *,
    namespace: str = "library",
    host: str = "registry.ollama.ai",
    digest_sep: str = "-",
) -> Path:
    """An Ollama manifest for ``name:tag`` whose model layer is ``source``; returns the blob path
    (which does not exist when ``source`` is None: a model whose blob was deleted)."""
    blobs = models_dir / "blobs"
    blobs.mkdir(parents=True, exist_ok=True)
    data = source.read_bytes() if source is not None else b"gone"
    digest = _sha256(data)
    blob = blobs / f"sha256{digest_sep}{digest}"
    if source is not None:
        blob.write_bytes(data)
    layers = [{"mediaType": OLLAMA_MODEL, "digest": f"sha256:{digest}", "size": len(data)}]
    for media, text in (("template", "{{ .Prompt }}"), ("params", '{"stop": ["</s>"]}')):
        raw = text.encode()
        (blobs / f"sha256-{_sha256(raw)}").write_bytes(raw)
        layers.append({"mediaType": f"application/vnd.ollama.image.{media}", "digest": f"sha256:{_sha256(raw)}", "size": len(raw)})
    config = json.dumps({"model_format": "gguf"}).encode()
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "digest": f"sha256:{_sha256(config)}", "size": len(config)},
        "layers": layers,
    }
    path = models_dir / "manifests" / host / namespace / name / tag
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(manifest))
    return blob


@dataclass
class FakeWorld:
    """Where everything is, and the environment variables that point at it."""

    root: Path
    home: Path
    hf_cache: Path
    lmstudio: Path
    ollama: Path
    folder: Path
    hf_file: Path  # snapshot link of org/tiny-GGUF/tiny-q8.gguf
    lm_file: Path  # lmstudio publisher/tiny-chat-GGUF/tiny-chat.gguf
    ollama_blob: Path  # tinyllama:latest
    truncated: Path  # in folder
    not_gguf: Path  # in folder

    @property
    def environ(self) -> dict[str, str]:
        return {
            "HOME": str(self.home),
            "HF_HOME": str(self.hf_cache.parent),
            "OLLAMA_MODELS": str(self.ollama),
            "XDG_CACHE_HOME": str(self.home / ".cache"),
        }


def build_fake_world(root: Path, tiny: Path, chat: Path) -> FakeWorld:
    """One model in each tool's folder, broken files in an extra folder, and a symlink loop in
    each tree (a scan that followed it naively would never end)."""
    home = root / "home"
    hf_cache = root / "hf-home" / "hub"
    lmstudio = home / ".lmstudio" / "models"
    ollama = root / "ollama-models"
    folder = root / "my-models"
    hf_file = add_hf_file(hf_cache, "org/tiny-GGUF", "tiny-q8.gguf", tiny)
    lm_file = add_lmstudio_file(lmstudio, "publisher", "tiny-chat-GGUF", "tiny-chat.gguf", chat)
    ollama_blob = add_ollama_model(ollama, "tinyllama", "latest", tiny)
    add_ollama_model(ollama, "sqlcoder", "7b", chat)  # a second model, for the "it has: ..." list
    folder.mkdir(parents=True)
    truncated = truncated_copy(tiny, folder / "cut" / "truncated.gguf", tiny.stat().st_size // 2)
    not_gguf = folder / "notes.gguf"
    not_gguf.write_text("this is not a model\n")
    for tree in (folder, lmstudio / "publisher", hf_cache / "models--org--tiny-GGUF" / "snapshots"):
        (tree / "loop").symlink_to(".", target_is_directory=True)
    return FakeWorld(root, home, hf_cache, lmstudio, ollama, folder, hf_file, lm_file, ollama_blob, truncated, not_gguf)
