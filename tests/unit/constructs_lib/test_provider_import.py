"""The lazy provider import: version pin, stock switch, idempotence, on-demand submodules.

Each test loads its own copy of the module and works on copies of sys.meta_path and
sys.modules, so the pytest process keeps whichever provider import it already has.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
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
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # Without any finder a real install() (constructs_lib's import) may have added.
    others = [f for f in sys.meta_path if type(f).__name__ != "LazyProviderFinder"]
    monkeypatch.setattr(sys, "meta_path", others)
    monkeypatch.delitem(sys.modules, module.PROVIDER_PACKAGE, raising=False)
    monkeypatch.delenv(module.STOCK_IMPORT_ENV, raising=False)
    monkeypatch.delenv("NODE_OPTIONS", raising=False)
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
    # Then the fast path is on: one finder serves the package, node preloads the hook once
    assert (first, second) == (True, True)
    finders = [f for f in sys.meta_path if isinstance(f, provider_import.LazyProviderFinder)]
    assert len(finders) == 1
    assert isinstance(provider_loader(), provider_import.LazyProviderLoader)
    assert os.environ["NODE_OPTIONS"] == f'--require "{provider_import.NODE_PRELOAD}"'


def test_stock_switch_keeps_the_stock_import(
    provider_import: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the stock switch is set
    monkeypatch.setenv(provider_import.STOCK_IMPORT_ENV, "1")
    # When install() runs
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        active = provider_import.install()
    # Then it stays off, silently: the package keeps its normal loader, node gets no hook
    assert active is False
    assert type(provider_loader()) is importlib.machinery.SourceFileLoader
    assert "NODE_OPTIONS" not in os.environ


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
    assert "NODE_OPTIONS" not in os.environ
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
    from constructs_lib import speedups
    speedups.install()
    import cdktf_cdktf_provider_aws.s3_bucket
    from jsii import _reference_map

    package = sys.modules["cdktf_cdktf_provider_aws"]
    def loaded():
        return sorted(n for n in package.__all__ if f"{package.__name__}.{n}" in sys.modules)

    print("after import:", loaded())
    package.sqs_queue.SqsQueue
    print("after attribute:", loaded())
    # The hook jsii's resolve() calls when the JS side returns a type not yet registered.
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


NODE_PRELOAD = MODULE_PATH.with_name("_provider_lazy_require.js")
# Requires the package index given as argument; reports which submodules ran, and when.
NODE_PROBE = """
globalThis.loaded = [];
const provider = require(process.argv[1]);
const atRequire = [...loaded];
const name = provider.beta.name;
console.log(JSON.stringify({ atRequire, afterUse: loaded, keys: Object.keys(provider), name }));
"""
EAGER_INDEX = 'exports.alpha = require("./alpha");\nexports.beta = require("./beta");\n'


def fake_node_provider(root: Path, *, index: str, name: str = "@cdktf/provider-aws") -> Path:
    """A package shaped like the provider's: lib/index.js requiring lib/alpha and lib/beta."""
    lib = root / "node_modules" / "@cdktf" / "provider-aws" / "lib"
    for submodule in ("alpha", "beta"):
        (lib / submodule).mkdir(parents=True)
        (lib / submodule / "index.js").write_text(
            f'globalThis.loaded.push("{submodule}");\nexports.name = "{submodule}";\n'
        )
    (lib.parent / "package.json").write_text(f'{{"name": "{name}"}}')
    (lib / "index.js").write_text(index)
    return lib / "index.js"


def require_with_preload(index: Path, **environ: str) -> dict[str, object]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("NODE_OPTIONS", "PIPELINE_STOCK_PROVIDER_IMPORT")
    }
    result = subprocess.run(
        ["node", "--require", str(NODE_PRELOAD), "-e", NODE_PROBE, str(index)],
        env={**env, **environ},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report: dict[str, object] = json.loads(result.stdout)
    return report


def test_node_preload_requires_each_provider_export_on_first_use(tmp_path: Path) -> None:
    # Given a provider-shaped package whose index eagerly requires two submodules
    index = fake_node_provider(tmp_path, index=EAGER_INDEX)
    # When node requires it with the preload and then uses one export
    report = require_with_preload(index)
    # Then nothing ran at require time, only the used submodule ran later, all names listed
    assert report == {
        "atRequire": [],
        "afterUse": ["beta"],
        "keys": ["alpha", "beta"],
        "name": "beta",
    }


@pytest.mark.parametrize(
    ("index", "package_name", "environ"),
    [
        (EAGER_INDEX, "@cdktf/provider-aws", {"PIPELINE_STOCK_PROVIDER_IMPORT": "1"}),
        ('const fs = require("fs");\n' + EAGER_INDEX, "@cdktf/provider-aws", {}),
        (EAGER_INDEX, "@cdktf/provider-google", {}),
    ],
    ids=["stock-switch", "other-require-in-index", "other-package"],
)
def test_node_preload_leaves_the_index_eager_otherwise(
    tmp_path: Path, index: str, package_name: str, environ: dict[str, str]
) -> None:
    # Given the stock switch, an index with another kind of require, or another package
    index_path = fake_node_provider(tmp_path, index=index, name=package_name)
    # When node requires it with the preload
    report = require_with_preload(index_path, **environ)
    # Then the index runs unchanged: both submodules load at require time
    assert report["atRequire"] == ["alpha", "beta"]
