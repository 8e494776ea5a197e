"""``sqlcoder_cli.models.scan``: GGUF files in the HF cache, LM Studio, Ollama and extra folders,
found in their real layouts (``testkit.fake_model_dirs``), and ``add_from_ollama``."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from testkit.tiny_gguf import write_tiny_llama_gguf
from testkit.fake_model_dirs import FakeWorld, add_hf_file, add_lmstudio_file, add_ollama_model, build_fake_world

from sqlcoder_cli.config import Paths
from sqlcoder_cli.errors import ModelError, SqlcoderError, UnknownModelError
from sqlcoder_cli.models.catalogue import find_entry
from sqlcoder_cli.models.scan import (
    FoundModel,
    ScanLocation,
    default_locations,
    find_ollama_model,
    lmstudio_dirs,
    ollama_dirs,
    parse_ollama_name,
    scan,
)
from sqlcoder_cli.models.store import ModelStore


@pytest.fixture
def world(tmp_path: Path, tiny_gguf_path: Path, tiny_chat_gguf_path: Path) -> FakeWorld:
    return build_fake_world(tmp_path / "world", tiny_gguf_path, tiny_chat_gguf_path)


@pytest.fixture
def store_for(world: FakeWorld, tmp_path: Path) -> ModelStore:
    environ = {**world.environ, "SQLCODER_HOME": str(tmp_path / "sqlcoder")}
    return ModelStore(Paths.resolve(environ), environ=environ)


def _by_name(models: list[FoundModel]) -> dict[str, FoundModel]:
    return {m.name: m for m in models}


def test_scan_finds_every_layout_and_reads_each_header(world: FakeWorld, tiny_gguf_path: Path) -> None:
    result = scan(environ=world.environ, extra_dirs=[world.folder])
    found = _by_name(result.models)
    assert list(found) == [
        "org/tiny-GGUF/tiny-q8.gguf",
        "publisher/tiny-chat-GGUF/tiny-chat.gguf",
        "sqlcoder:7b",
        "tinyllama:latest",
        "cut/truncated.gguf",
        "notes.gguf",
    ]  # sources in order hf, lmstudio, ollama, folder; each file once despite the symlink loops

    hf = found["org/tiny-GGUF/tiny-q8.gguf"]
    assert (hf.source, hf.path, hf.architecture, hf.quantization, hf.family) == ("hf", world.hf_file, "llama", "F32", "sqlcoder")
    assert hf.path.is_symlink() and hf.size_bytes == tiny_gguf_path.stat().st_size and hf.ok and not hf.registered

    lm = found["publisher/tiny-chat-GGUF/tiny-chat.gguf"]
    assert (lm.source, lm.path, lm.family, lm.context_length) == ("lmstudio", world.lm_file, "chat", 4096)

    ollama = found["tinyllama:latest"]
    assert (ollama.source, ollama.path, ollama.architecture) == ("ollama", world.ollama_blob, "llama")
    # the blob is called sha256-…; the Ollama name decides the family, as `models add` would
    assert found["sqlcoder:7b"].family == "sqlcoder"

    cut, text = found["cut/truncated.gguf"], found["notes.gguf"]
    assert cut.source == text.source == "folder"
    assert not cut.ok and cut.error.startswith("incomplete:") and cut.architecture is None
    assert text.error == "not a GGUF model file" and text.size_bytes == world.not_gguf.stat().st_size
    assert result.notes == []
    assert [loc.source for loc in result.searched] == ["hf", "lmstudio", "ollama", "folder"]


def test_json_dict_has_the_documented_keys(world: FakeWorld) -> None:
    found = scan(environ=world.environ).models[0].to_dict()
    assert set(found) >= {
        "source", "name", "path", "size_bytes", "architecture", "quantization", "family",
        "registered", "registered_as", "catalogue_name", "ok", "error",
    }  # fmt: skip
    json.dumps(found)


def test_missing_folders_are_skipped_silently(tmp_path: Path) -> None:
    environ = {"HOME": str(tmp_path / "empty-home"), "HF_HOME": str(tmp_path / "no-hf"), "OLLAMA_MODELS": str(tmp_path / "no-ollama")}
    result = scan(environ=environ)
    assert (result.models, result.searched, result.notes) == ([], [], [])
    # a folder the user named is different: say it is not there
    named = scan(environ=environ, extra_dirs=[tmp_path / "typo"])
    assert named.models == [] and named.notes == [f"{tmp_path / 'typo'}: no such folder"]


def test_registered_files_are_marked(world: FakeWorld, store_for: ModelStore) -> None:
    store_for.add(world.hf_file, name="tiny")  # registers the resolved blob
    found = _by_name(scan(environ=world.environ, store=store_for).models)
    assert found["org/tiny-GGUF/tiny-q8.gguf"].registered_as == "tiny"
    assert found["org/tiny-GGUF/tiny-q8.gguf"].to_dict()["registered"] is True
    assert found["tinyllama:latest"].registered_as is None  # same bytes, another file


def test_a_catalogue_model_in_the_hf_cache_says_so(tmp_path: Path, tiny_chat_gguf_path: Path) -> None:
    entry = find_entry("sqlcoder-7b-2")
    assert entry is not None
    cache = tmp_path / "hf" / "hub"
    add_hf_file(cache, entry.repo_id, entry.filename, tiny_chat_gguf_path)
    (found,) = scan([ScanLocation("hf", cache)]).models
    # the catalogue's family, not the one the (chat-template) file would suggest
    assert (found.catalogue_name, found.family) == ("sqlcoder-7b-2", "sqlcoder")


def test_ollama_layout_details(tmp_path: Path, tiny_gguf_path: Path) -> None:
    root = tmp_path / "ollama"
    add_ollama_model(root, "phi", "mini", tiny_gguf_path, namespace="someone")
    add_ollama_model(root, "repo", "Q4_K_M", tiny_gguf_path, host="hf.co", namespace="org")
    other = write_tiny_llama_gguf(tmp_path / "other.gguf", seed=7)
    old = add_ollama_model(root, "old", "latest", other, digest_sep=":")  # pre-2024 blob names
    add_ollama_model(root, "gone", "latest", None)  # its blob was deleted
    bad = root / "manifests" / "registry.ollama.ai" / "library" / "broken" / "latest"
    bad.parent.mkdir(parents=True)
    bad.write_text("{not json")
    hostile = root / "manifests" / "registry.ollama.ai" / "library" / "evil" / "latest"
    hostile.parent.mkdir(parents=True)
    hostile.write_text(json.dumps({"layers": [{"mediaType": "application/vnd.ollama.image.model", "digest": "sha256:../../x"}]}))
    found = _by_name(scan([ScanLocation("ollama", root)]).models)
    assert found["someone/phi:mini"].ok and found["hf.co/org/repo:Q4_K_M"].ok
    assert found["old:latest"].ok and found["old:latest"].path == old
    assert found["gone:latest"].error.startswith("model blob missing")
    assert found["broken:latest"].error.startswith("unreadable manifest") and found["broken:latest"].path == bad
    assert "malformed digest" in found["evil:latest"].error
    # two names sharing one blob (as llama3:latest and llama3:8b do) are both listed
    assert found["someone/phi:mini"].path == found["hf.co/org/repo:Q4_K_M"].path

def test_symlink_loops_fifos_and_split_models(tmp_path: Path, tiny_gguf_path: Path) -> None:
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "self.gguf").symlink_to("self.gguf")  # a link to itself
    (folder / "deeper").mkdir()
    (folder / "deeper" / "up").symlink_to("..", target_is_directory=True)
    (folder / "dangling.gguf").symlink_to(tmp_path / "nowhere.gguf")
    data = tiny_gguf_path.read_bytes()
    (folder / "big-00001-of-00002.gguf").write_bytes(data)
    (folder / "big-00002-of-00002.gguf").write_bytes(b"GGUF" + b"\0" * 100)
    if hasattr(os, "mkfifo"):
        os.mkfifo(folder / "pipe.gguf")
    found = _by_name(scan([ScanLocation("folder", folder)]).models)
    assert "too many levels" in found["self.gguf"].error.lower() or "loop" in found["self.gguf"].error.lower()
    assert found["dangling.gguf"].error == "broken link (its target is gone)"
    split = found["big-00001-of-00002.gguf"]
    assert split.ok and split.parts == 2 and split.size_bytes == len(data) + 104
    assert "big-00002-of-00002.gguf" not in found
    if hasattr(os, "mkfifo"):
        assert found["pipe.gguf"].error == "not a regular file"  # never opened: that would block


def test_a_huge_tree_is_cut_short_with_a_note(tmp_path: Path) -> None:
    folder = tmp_path / "huge"
    for i in range(30):
        (folder / f"d{i:02d}").mkdir(parents=True)
    result = scan([ScanLocation("folder", folder)], max_entries=10)
    assert result.models == [] and result.notes == [f"{folder}: stopped after 10 entries; pass a narrower --dir"]


def test_depth_is_limited_for_extra_folders(tmp_path: Path, tiny_gguf_path: Path) -> None:
    folder = tmp_path / "f"
    add_lmstudio_file(folder, "a", "b", "shallow.gguf", tiny_gguf_path)  # level 3
    add_lmstudio_file(folder / "a" / "b" / "c" / "d", "e", "f", "deep.gguf", tiny_gguf_path)  # level 7
    names = [m.name for m in scan([ScanLocation("folder", folder)]).models]
    assert names == ["a/b/shallow.gguf"]


def test_a_single_file_given_as_dir(tmp_path: Path, tiny_gguf_path: Path) -> None:
    (found,) = scan([ScanLocation("folder", tiny_gguf_path)]).models
    assert found.name == tiny_gguf_path.name and found.ok


def test_lmstudio_home_pointer_and_custom_models_folder(tmp_path: Path, tiny_gguf_path: Path) -> None:
    home = tmp_path / "home"
    moved = tmp_path / "elsewhere" / "lmstudio-home"
    custom = tmp_path / "big-disk" / "models"
    moved.mkdir(parents=True)
    custom.mkdir(parents=True)
    home.mkdir()
    (home / ".lmstudio-home-pointer").write_text(str(moved) + "\n")
    (moved / "settings.json").write_text(json.dumps({"downloadsFolder": str(custom)}))
    (home / ".cache" / "lm-studio" / "models").mkdir(parents=True)
    environ = {"HOME": str(home)}
    assert lmstudio_dirs(environ) == [custom, home / ".cache" / "lm-studio" / "models"]
    add_lmstudio_file(custom, "pub", "repo", "m.gguf", tiny_gguf_path)
    add_lmstudio_file(custom, "pub", "loose", tiny_gguf_path.name, tiny_gguf_path)
    (custom / "top-level.gguf").write_bytes(tiny_gguf_path.read_bytes())  # LM Studio ignores these too
    lm = [m.name for m in scan(environ={**environ, "HF_HOME": str(tmp_path / "none")}).models if m.source == "lmstudio"]
    assert lm == [f"pub/loose/{tiny_gguf_path.name}", "pub/repo/m.gguf"]


def test_ollama_dirs_follow_ollama_models_and_home(tmp_path: Path) -> None:
    (tmp_path / "home" / ".ollama" / "models").mkdir(parents=True)
    assert ollama_dirs({"HOME": str(tmp_path / "home"), "OLLAMA_MODELS": str(tmp_path / "set")}) == []
    (tmp_path / "set").mkdir()
    assert ollama_dirs({"HOME": str(tmp_path / "home"), "OLLAMA_MODELS": str(tmp_path / "set")}) == [tmp_path / "set"]
    home_only = ollama_dirs({"HOME": str(tmp_path / "home")})
    assert home_only[0] == tmp_path / "home" / ".ollama" / "models"
    if sys.platform.startswith("linux") and not Path("/usr/share/ollama/.ollama/models").is_dir():
        assert len(home_only) == 1
    locations = default_locations({"HOME": str(tmp_path / "home"), "HF_HOME": str(tmp_path / "hf")}, ["~/extra"])
    assert locations[0] == ScanLocation("hf", tmp_path / "hf" / "hub")
    assert locations[-1] == ScanLocation("folder", tmp_path / "home" / "extra")


@pytest.mark.parametrize(
    ("spec", "parsed"),
    [
        ("llama3", ("registry.ollama.ai", "library", "llama3", "latest")),
        ("qwen2.5-coder:7b", ("registry.ollama.ai", "library", "qwen2.5-coder", "7b")),
        ("someone/phi:mini", ("registry.ollama.ai", "someone", "phi", "mini")),
        ("hf.co/org/repo:Q4_K_M", ("hf.co", "org", "repo", "Q4_K_M")),
    ],
)
def test_parse_ollama_name(spec: str, parsed: tuple[str, str, str, str]) -> None:
    assert parse_ollama_name(spec) == parsed


@pytest.mark.parametrize("spec", ["", "a/b/c/d", ":tag", "a//b"])
def test_parse_ollama_name_refuses_nonsense(spec: str) -> None:
    with pytest.raises(UnknownModelError, match="not an Ollama model name"):
        parse_ollama_name(spec)


def test_find_ollama_model_and_its_errors(world: FakeWorld, tmp_path: Path) -> None:
    found = find_ollama_model("TinyLlama", world.environ)  # tag latest; names compare case-insensitively
    assert found.blob == world.ollama_blob and found.default_model_name == "tinyllama"
    assert find_ollama_model("sqlcoder:7b", world.environ).default_model_name == "sqlcoder-7b"

    with pytest.raises(UnknownModelError) as missing:
        find_ollama_model("mistral", world.environ)
    assert str(missing.value) == (
        f"Ollama model mistral:latest not found in {world.ollama}; it has: sqlcoder:7b, tinyllama:latest"
    )
    with pytest.raises(UnknownModelError, match="no Ollama models folder at"):
        find_ollama_model("mistral", {"HOME": str(tmp_path / "h"), "OLLAMA_MODELS": str(tmp_path / "none")})
    add_ollama_model(world.ollama, "gone", "latest", None)
    with pytest.raises(ModelError, match="gone:latest cannot be used: model blob missing"):
        find_ollama_model("gone", world.environ)


def test_add_from_ollama_registers_the_blob_in_place(world: FakeWorld, store_for: ModelStore) -> None:
    blobs_before = sorted(p.name for p in (world.ollama / "blobs").iterdir())
    model = store_for.add_from_ollama("tinyllama")
    assert (model.name, model.path) == ("tinyllama", world.ollama_blob.resolve())
    registry = json.loads(store_for.paths.registry_file.read_text())
    assert registry["models"]["tinyllama"]["path"] == str(world.ollama_blob.resolve())
    assert sorted(p.name for p in (world.ollama / "blobs").iterdir()) == blobs_before  # nothing copied
    assert not any(p.suffix == ".gguf" or p.name.startswith("sha256") for p in store_for.paths.registry_file.parent.rglob("*"))
    assert store_for.resolve("tinyllama").path == world.ollama_blob.resolve()

    named = store_for.add_from_ollama("sqlcoder:7b", name="sq")
    assert named.name == "sq" and named.family == "sqlcoder"  # judged by the Ollama name
    assert store_for.add_from_ollama("sqlcoder:7b", name="sq2", family="chat").family == "chat"
    assert _by_name(scan(environ=world.environ, store=store_for).models)["tinyllama:latest"].registered_as == "tinyllama"

    with pytest.raises(UnknownModelError, match="it has: sqlcoder:7b, tinyllama:latest"):
        store_for.add_from_ollama("nope")
    assert isinstance(UnknownModelError("x"), SqlcoderError)
