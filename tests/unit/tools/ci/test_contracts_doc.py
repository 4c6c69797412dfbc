"""CONTRACTS.md's generated tables come from the code that defines the contracts."""

from __future__ import annotations

from pathlib import Path

from tools.ci import contracts_doc

CONTRACTS = Path(__file__).resolve().parents[4] / "CONTRACTS.md"


def test_contracts_document_holds_what_the_code_defines() -> None:
    document = CONTRACTS.read_text(encoding="utf-8")
    assert contracts_doc.render() in document
    assert contracts_doc.main(["--check", str(CONTRACTS)]) == 0


def test_a_stale_contracts_document_fails_the_check(tmp_path: Path) -> None:
    stale = tmp_path / "CONTRACTS.md"
    stale.write_text(contracts_doc.render().replace("TABLE_NAME", "TABLE"), encoding="utf-8")
    assert contracts_doc.main(["--check", str(stale)]) == 1
