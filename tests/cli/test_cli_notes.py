from __future__ import annotations

import sys
from pathlib import Path

from clitest import invoke




def test_notes_set_show_path_edit(sqlcoder_home: Path, tmp_path: Path) -> None:
    r = invoke("notes", "show")
    assert r.exit_code == 0 and r.stdout == "" and "no notes" in r.stderr
    r = invoke("notes", "set", "revenue means sum(quantity*unit_price)")
    assert r.exit_code == 0, r.stderr
    r = invoke("notes", "show")
    assert r.stdout == "revenue means sum(quantity*unit_price)\n"
    path = Path(invoke("notes", "path").stdout.strip())
    assert path.parent == sqlcoder_home / "config" / "notes" and path.name.startswith("demo-") and path.exists()
    script = tmp_path / "ed.py"
    script.write_text("import sys\np = sys.argv[1]\nopen(p, 'a').write('fiscal year starts in April\\n')\n")
    r = invoke("notes", "edit", environ={"VISUAL": "", "EDITOR": f"{sys.executable} {script}"})
    assert r.exit_code == 0, r.stderr
    assert invoke("notes", "show").stdout.endswith("fiscal year starts in April\n")
    r = invoke("notes", "set", "-", stdin="from stdin\n")
    assert invoke("notes", "show").stdout == "from stdin\n"
    invoke("notes", "set", "")
    assert not path.exists()
