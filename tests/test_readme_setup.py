"""The README's set-up for users without Hugging Face, followed as written, in a copy of the
repository with no ``../shared`` beside it (what a user's clone looks like).

The command is read out of the README (the code block after "Without access to Hugging Face"),
with only the placeholder ``/path/to/model.gguf`` replaced by a real GGUF file; it runs in bash in
a subprocess: a new virtual environment, ``pip install -e .``, then the question. The Hugging Face
hub is unreachable for it (``HF_HUB_OFFLINE``, and ``HF_ENDPOINT`` on a closed port), so an answer
proves the set-up needs no model hub.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PLACEHOLDER = "/path/to/model.gguf"


def offline_setup_command(readme: str) -> str:
    """The one-line command of the README's "Without access to Hugging Face" paragraph."""
    section = readme.split("**Without access to Hugging Face**", 1)[1]
    block = re.search(r"```bash\n(.+?)\n```", section, re.S)
    assert block is not None, "the README's offline set-up has no bash block"
    command = block.group(1).strip()
    assert "\n" not in command and PLACEHOLDER in command
    return command


def copy_repository(destination: Path) -> None:
    """The files a clone would have (tracked, plus new files not yet committed; nothing ignored)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if not source.is_file():
            continue  # deleted in the working tree
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


def test_the_readme_names_both_ways_to_a_model() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = offline_setup_command(readme)
    assert "pip install -e ." in command and "--model" in command
    assert "../shared" not in readme.split("## Set-up", 1)[1].split("\n## ", 1)[0].split("docs/development.md")[0]
    assert "sqlcoder models add /path/to/model.gguf" in readme


@pytest.mark.slow
def test_a_users_clone_follows_the_offline_setup_to_an_answer(tmp_path: Path, dev_model_1_5b: Path) -> None:
    clone = tmp_path / "sqlcoder-cli"
    copy_repository(clone)
    assert not (clone.parent / "shared").exists()
    command = offline_setup_command((clone / "README.md").read_text(encoding="utf-8")).replace(PLACEHOLDER, str(dev_model_1_5b))
    environ = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path / "home"),
        "SQLCODER_HOME": str(tmp_path / "sqlcoder-home"),
        "HF_HUB_OFFLINE": "1",
        "HF_ENDPOINT": "http://127.0.0.1:9",  # nothing listens there
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "LANG": "C.UTF-8",
    }
    # pip's cache (llama-cpp-python's built wheel) is the machine's, as it would be for the user
    cache = Path(os.environ.get("PIP_CACHE_DIR") or Path.home() / ".cache" / "pip")
    environ["PIP_CACHE_DIR"] = str(cache)
    for name in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_CONSTRAINT"):
        if name in os.environ:
            environ[name] = os.environ[name]
    (tmp_path / "home").mkdir()
    constraints = ROOT / ".ci" / "constraints.txt"
    if constraints.exists() and "PIP_CONSTRAINT" not in environ:
        environ["PIP_CONSTRAINT"] = str(constraints)  # the llama-cpp-python whose wheel pip has cached
    done = subprocess.run(
        ["bash", "-c", command], cwd=clone, env=environ, capture_output=True, text=True, timeout=1500, stdin=subprocess.DEVNULL
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "5 rows" in done.stderr
    assert "error:" not in done.stderr
    # what sqlcoder wrote follows pip's last line; data only: the table and its five rows, no SQL
    answer = done.stdout.rsplit("Successfully installed", 1)[-1].split("\n", 1)[1]
    table_lines = [line for line in answer.splitlines() if line.strip() and not set(line.strip()) <= set("+-=| ")]
    assert len(table_lines) == 6, answer
    assert "SELECT" not in answer.upper()
