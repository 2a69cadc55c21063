"""The app's own reading of the migration files agrees with Alembic's, and opening is cheap."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic.script import ScriptDirectory

from lora_desktop.models.migrate import alembic_config, head_revision, known_revisions
from lora_desktop.services.library import open_library


def test_known_revisions_match_alembic() -> None:
    script = ScriptDirectory.from_config(alembic_config())
    alembic_view = {rev.revision: rev.down_revision for rev in script.walk_revisions()}
    assert known_revisions() == alembic_view
    assert head_revision() == script.get_current_head()


def test_opening_an_up_to_date_library_does_not_import_alembic(db_path: Path) -> None:
    open_library(db_path).close()  # create and migrate once
    probe = (
        "import sys\n"
        "from lora_desktop.services.library import open_library\n"
        f"lib = open_library({str(db_path)!r})\n"
        "lib.close()\n"
        "print('alembic' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "False"
