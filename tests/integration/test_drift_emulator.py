"""After an apply to moto server, a second plan differs only by listed emulator quirks.

Real: Terraform, the provider and our synthesized dev stack, private network included.
Emulated: AWS. Any difference not in EMULATOR_DRIFT_EXCEPTIONS is a perpetual diff our
configuration causes (or a new emulator quirk, to be verified against moto and listed).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.ci.drift_check import EMULATOR_DRIFT_EXCEPTIONS, check


@pytest.mark.integration
def test_plan_after_emulator_apply_is_empty_but_for_listed_exceptions(tmp_path: Path) -> None:
    # Given dev, with its private network, applied to a fresh moto server
    # When Terraform plans the same configuration again
    report = check("dev", tmp_path, with_network=True)
    # Then nothing differs except the listed emulator quirks
    assert [difference.describe() for difference in report.unexplained] == []
    # And every listed quirk still occurs, so the list hides nothing it no longer needs to
    assert report.unused(EMULATOR_DRIFT_EXCEPTIONS) == []
    assert report.unchanged > 0
