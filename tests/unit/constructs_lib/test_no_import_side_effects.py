"""Importing the construct library changes nothing in the interpreter; speedups.install() does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[3]

PROBE = textwrap.dedent(
    """
    import json, os, sys, typing
    before = (list(map(repr, sys.meta_path)), dict(os.environ), typing.get_type_hints)
    import constructs_lib, constructs_lib.aws_limits, constructs_lib.specs, constructs_lib.speedups
    import constructs_lib.patterns.api_routes
    after_import = (list(map(repr, sys.meta_path)), dict(os.environ), typing.get_type_hints)
    constructs_lib.speedups.install()
    after_install = (list(map(repr, sys.meta_path)), dict(os.environ), typing.get_type_hints)
    print(json.dumps({
        "import_changed_meta_path": before[0] != after_import[0],
        "import_changed_environ": before[1] != after_import[1],
        "import_patched_typing": before[2] is not after_import[2],
        "install_changed_meta_path": after_import[0] != after_install[0],
        "install_set_node_options": "NODE_OPTIONS" in after_install[1]
            and after_install[1]["NODE_OPTIONS"] != before[1].get("NODE_OPTIONS"),
        "install_patched_typing": after_import[2] is not after_install[2],
        "cdktf_imported": "cdktf" in sys.modules,
    }))
    """
)


def test_importing_the_library_has_no_side_effects_until_install_is_called() -> None:
    # Given a fresh interpreter with the speed-ups allowed
    env = {key: value for key, value in os.environ.items() if key != "NODE_OPTIONS"}
    env.pop("PIPELINE_STOCK_PROVIDER_IMPORT", None)
    # When it imports the library, then installs the speed-ups explicitly
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(result.stdout)
    # Then the import touched neither sys.meta_path, os.environ nor typing, nor started jsii
    assert report["import_changed_meta_path"] is False
    assert report["import_changed_environ"] is False
    assert report["import_patched_typing"] is False
    assert report["cdktf_imported"] is False
    # And the one explicit call installed all three
    assert report["install_changed_meta_path"] is True
    assert report["install_set_node_options"] is True
    assert report["install_patched_typing"] is True
