from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def dev_model_template(dev_model: Path) -> str:
    from sqlcoder_cli.models.gguf_info import read_gguf_info

    template = read_gguf_info(dev_model).chat_template
    assert template
    return template
