"""The per-process cache of jsii type-checking stub hints."""

from __future__ import annotations

import typing
from collections.abc import Callable
from typing import Any

import pytest

from constructs_lib import _type_hints_cache
from constructs_lib._provider_import import STOCK_IMPORT_ENV


def _typecheckingstub__sample(scope: Sample, count: int) -> None:  # jsii-style stub name
    ...


def not_a_stub(scope: Sample, count: int) -> None: ...


class Sample:
    pass


@pytest.fixture
def resolutions(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The pristine get_type_hints, counting what it resolves; install() not yet run."""
    pristine = typing.get_type_hints
    while hasattr(pristine, "__wrapped__"):  # undo the cache constructs_lib installed
        pristine = pristine.__wrapped__
    resolved: list[object] = []

    def counting(obj: Callable[..., Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
        resolved.append(obj)
        return pristine(obj, *args, **kwargs)

    monkeypatch.setattr(typing, "get_type_hints", counting)
    monkeypatch.delenv(STOCK_IMPORT_ENV, raising=False)
    return resolved


def test_a_stub_is_resolved_once_and_gives_the_same_hints(resolutions: list[object]) -> None:
    # Given the cache is installed
    assert _type_hints_cache.install() is True
    # When a stub's hints are asked for twice
    first = typing.get_type_hints(_typecheckingstub__sample)
    second = typing.get_type_hints(_typecheckingstub__sample)
    # Then they were resolved once, forward references included
    assert resolutions == [_typecheckingstub__sample]
    assert first is second
    assert first == {"scope": Sample, "count": int, "return": type(None)}


@pytest.mark.parametrize(
    ("target", "kwargs"),
    [
        pytest.param(not_a_stub, {}, id="other-function"),
        pytest.param(_typecheckingstub__sample, {"include_extras": True}, id="with-options"),
        pytest.param(_typecheckingstub__sample, {"localns": {}}, id="with-namespace"),
    ],
)
def test_everything_else_goes_to_the_original_every_time(
    resolutions: list[object], target: Callable[..., Any], kwargs: dict[str, Any]
) -> None:
    # Given the cache is installed
    _type_hints_cache.install()
    # When hints are asked for twice in a way the cache does not cover
    typing.get_type_hints(target, **kwargs)
    typing.get_type_hints(target, **kwargs)
    # Then each call reached the original
    assert resolutions == [target, target]


def test_install_is_idempotent(resolutions: list[object]) -> None:
    # Given install() ran once
    _type_hints_cache.install()
    installed = typing.get_type_hints
    # When it runs again, then nothing is wrapped twice
    assert _type_hints_cache.install() is True
    assert typing.get_type_hints is installed


def test_the_stock_switch_leaves_typing_alone(
    resolutions: list[object], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the stock switch
    monkeypatch.setenv(STOCK_IMPORT_ENV, "1")
    before = typing.get_type_hints
    # When install() runs, then it reports off and changes nothing
    assert _type_hints_cache.install() is False
    assert typing.get_type_hints is before


def test_jsii_still_rejects_a_wrong_argument_type() -> None:
    # Given the cache constructs_lib installed, and a provider struct
    from cdktf_cdktf_provider_aws.s3_bucket import S3BucketWebsite

    assert getattr(typing.get_type_hints, "__wrapped__", None) is not None
    S3BucketWebsite(index_document="index.html")  # resolves and caches the stub's hints
    # When the same call gets a value of the wrong type, then typeguard still refuses it
    with pytest.raises(TypeError, match="index_document"):
        S3BucketWebsite(index_document=404)  # type: ignore[arg-type]
