"""The lazy provider import: version pin, stock switch, idempotence, on-demand submodules.

Each test loads its own copy of the module and works on copies of sys.meta_path and
sys.modules, so the pytest process keeps whichever provider import it already has.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path
from types import ModuleType

import pytest

MODULE_PATH = Path(__file__).resolve().parents[3] / "constructs_lib" / "_provider_import.py"
PROJECT_ROOT = MODULE_PATH.parent.parent


@pytest.fixture
def provider_import(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """A fresh copy of the module, with the provider package not yet imported."""
    spec = importlib.util.spec_from_file_location("provider_import_under_test", MODULE_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    monkeypatch.delitem(sys.modules, module.PROVIDER_PACKAGE, raising=False)
    monkeypatch.delenv(module.STOCK_IMPORT_ENV, raising=False)
    return module


def provider_loader() -> object:
    spec = importlib.util.find_spec("cdktf_cdktf_provider_aws")
    assert spec is not None
    return spec.loader


def test_install_routes_the_provider_through_the_lazy_loader_once(
    provider_import: ModuleType,
) -> None:
    # Given the verified provider version is installed
    # When install() runs twice
    first, second = provider_import.install(), provider_import.install()
    # Then the fast path is on and exactly one finder serves the provider package
    assert (first, second) == (True, True)
    finders = [f for f in sys.meta_path if isinstance(f, provider_import.LazyProviderFinder)]
    assert len(finders) == 1
    assert isinstance(provider_loader(), provider_import.LazyProviderLoader)


def test_stock_switch_keeps_the_stock_import(
    provider_import: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the stock switch is set
    monkeypatch.setenv(provider_import.STOCK_IMPORT_ENV, "1")
    # When install() runs
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        active = provider_import.install()
    # Then it stays off, silently, and the package keeps its normal loader
    assert active is False
    assert type(provider_loader()) is importlib.machinery.SourceFileLoader


def test_unverified_provider_version_falls_back_to_stock_and_warns_once(
    provider_import: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the installed provider is not the version the loader was verified against
    monkeypatch.setattr(provider_import, "VERIFIED_PROVIDER_VERSION", "0.0.0")
    # When install() runs twice
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = (provider_import.install(), provider_import.install())
    # Then both times the stock import stays in place, with exactly one warning naming both
    assert results == (False, False)
    assert type(provider_loader()) is importlib.machinery.SourceFileLoader
    assert [str(w.message) for w in caught] == [
        "cdktf-cdktf-provider-aws 19.65.1 is not the verified 0.0.0; importing it the stock"
        " (slow) way. Re-verify constructs_lib/_provider_import.py."
    ]


def test_loader_drops_only_the_trailing_submodule_imports(
    provider_import: ModuleType, tmp_path: Path
) -> None:
    # Given a package __init__ laid out like the provider's, importing a missing submodule
    init = tmp_path / "__init__.py"
    init.write_text(f"head = 1\n{provider_import.EAGER_IMPORTS_MARKER}from . import missing\n")
    loader = provider_import.LazyProviderLoader("fake_provider", str(init))
    # When its code runs
    namespace: dict[str, object] = {"__name__": "fake_provider"}
    exec(loader.get_code("fake_provider"), namespace)  # noqa: S102 - our own test file
    # Then the head ran and the eager import did not
    assert namespace["head"] == 1


@pytest.mark.parametrize(
    "layout",
    ["head = 1\n{marker}from . import missing\nextra = 2\n", "head = 1\nfrom . import missing\n"],
    ids=["code-after-the-imports", "no-marker"],
)
def test_unexpected_layout_runs_the_file_unchanged_with_a_warning(
    provider_import: ModuleType, tmp_path: Path, layout: str
) -> None:
    # Given an __init__ whose tail is not only submodule imports, or that has no marker
    init = tmp_path / "__init__.py"
    init.write_text(layout.format(marker=provider_import.EAGER_IMPORTS_MARKER))
    loader = provider_import.LazyProviderLoader("fake_provider", str(init))
    # When its code is requested
    with pytest.warns(RuntimeWarning, match="unexpected layout; importing it the stock way"):
        code = loader.get_code("fake_provider")
    # Then it is the whole file, the submodule import included
    assert "missing" in code.co_names


def test_submodule_fqn_map_names_jsii_submodules_in_camel_case(
    provider_import: ModuleType,
) -> None:
    # Given Python submodule names with digits and several words
    names = ["s3_bucket", "wafv2_web_acl", "data_aws_iam_policy_document"]
    # When mapped
    fqn_map = provider_import.submodule_fqn_map(names)
    # Then the keys are the jsii submodule names, the values the Python modules
    assert fqn_map == {
        "@cdktf/provider-aws.s3Bucket": "cdktf_cdktf_provider_aws.s3_bucket",
        "@cdktf/provider-aws.wafv2WebAcl": "cdktf_cdktf_provider_aws.wafv2_web_acl",
        "@cdktf/provider-aws.dataAwsIamPolicyDocument": (
            "cdktf_cdktf_provider_aws.data_aws_iam_policy_document"
        ),
    }


SUBMODULES_ON_DEMAND = textwrap.dedent(
    """
    import sys
    import constructs_lib
    import cdktf_cdktf_provider_aws.s3_bucket
    from jsii import _reference_map

    package = sys.modules["cdktf_cdktf_provider_aws"]
    def loaded():
        return sorted(n for n in package.__all__ if f"{package.__name__}.{n}" in sys.modules)

    print("after import:", loaded())
    package.sqs_queue.SqsQueue
    print("after attribute:", loaded())
    _reference_map._try_import_type_module("@cdktf/provider-aws.snsTopic.SnsTopic")
    print("after jsii lookup:", loaded())
    print("in dir:", "kms_key" in dir(package))
    """
)


def test_submodules_load_only_when_first_used() -> None:
    # Given a fresh interpreter that imports constructs_lib, then one provider submodule
    env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    env.pop("PIPELINE_STOCK_PROVIDER_IMPORT", None)
    # When it touches another submodule by attribute and jsii meets a type from a third
    result = subprocess.run(
        [sys.executable, "-c", SUBMODULES_ON_DEMAND],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    # Then each submodule is imported only at that moment; the other ~2,100 never are
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.splitlines() == [
        "after import: ['s3_bucket']",
        "after attribute: ['s3_bucket', 'sqs_queue']",
        "after jsii lookup: ['s3_bucket', 'sns_topic', 'sqs_queue']",
        "in dir: True",
    ]
