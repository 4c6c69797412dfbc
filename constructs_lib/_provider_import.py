"""Import the AWS provider bindings without their ~2,100 eager submodule imports.

``import cdktf_cdktf_provider_aws.s3_bucket`` first runs the package ``__init__``, which ends
with one ``from . import <submodule>`` line per resource and data source: about 13 s of
class creation on every synth, although the app uses a few dozen of them. ``install()`` puts
a meta-path finder in front of that one package. Its loader runs the same ``__init__`` source
minus those trailing lines; each submodule is then imported by the ``import`` statement or
attribute access (module ``__getattr__``) that first names it.

What this relies on in cdktf-cdktf-provider-aws==19.65.1 (``VERIFIED_PROVIDER_VERSION``):
- ``__init__.py`` ends with ``EAGER_IMPORTS_MARKER`` followed by nothing but
  ``from . import <name>`` lines; otherwise the file runs unchanged, with a warning.
- No submodule imports another (each imports only ``.._jsii``, cdktf and constructs), so
  importing the module of a class registers every provider type that class can hand back.
- The ``_jsii`` subpackage loads the jsii assembly; nothing here changes that.
- ``publication.publish()`` swaps the package for a public copy in ``sys.modules``; the
  lazy ``__getattr__`` is set on that copy.
- Submodule jsii names are the camelCase of the Python names (``s3_bucket`` ->
  ``s3Bucket``); registered with jsii's on-demand type resolution (``_submodule_fqn_map``,
  jsii >= 1.142) so a provider object the JS side returns still finds its Python class.

Any other installed version gets the stock import and one warning. Set
``PIPELINE_STOCK_PROVIDER_IMPORT=1`` for the stock import (used to compare outputs).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.metadata
import importlib.util
import os
import re
import sys
import warnings
from collections.abc import Sequence
from functools import cache, partial
from types import CodeType, ModuleType
from typing import Any

PROVIDER_PACKAGE = "cdktf_cdktf_provider_aws"
PROVIDER_DISTRIBUTION = "cdktf-cdktf-provider-aws"
PROVIDER_JSII_ASSEMBLY = "@cdktf/provider-aws"
# The only release whose __init__ layout was checked; see the module docstring.
VERIFIED_PROVIDER_VERSION = "19.65.1"
STOCK_IMPORT_ENV = "PIPELINE_STOCK_PROVIDER_IMPORT"
EAGER_IMPORTS_MARKER = (
    "# Loading modules to ensure their types are registered with the jsii runtime library\n"
)
_SUBMODULE_IMPORT = re.compile(r"from \. import \w+")


def install() -> bool:
    """Route the next import of the provider package through the lazy loader.

    Idempotent. Returns whether the fast path is active; False under the stock switch, for an
    unverified provider version, or when the package was already imported.
    """
    if any(isinstance(finder, LazyProviderFinder) for finder in sys.meta_path):
        return True
    if os.environ.get(STOCK_IMPORT_ENV) == "1" or PROVIDER_PACKAGE in sys.modules:
        return False
    try:
        installed = importlib.metadata.version(PROVIDER_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return False
    if installed != VERIFIED_PROVIDER_VERSION:
        _warn_once(
            f"{PROVIDER_DISTRIBUTION} {installed} is not the verified {VERIFIED_PROVIDER_VERSION};"
            " importing it the stock (slow) way. Re-verify constructs_lib/_provider_import.py."
        )
        return False
    sys.meta_path.insert(0, LazyProviderFinder())
    return True


def submodule_fqn_map(submodules: Sequence[str]) -> dict[str, str]:
    """jsii submodule name -> Python module, as newer jsii-pacmak generates it."""
    return {
        f"{PROVIDER_JSII_ASSEMBLY}.{_camel_case(name)}": f"{PROVIDER_PACKAGE}.{name}"
        for name in submodules
    }


class LazyProviderFinder(importlib.abc.MetaPathFinder):
    """Finds the provider package as usual, then swaps in the lazy loader."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != PROVIDER_PACKAGE:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is not None and isinstance(spec.loader, importlib.machinery.SourceFileLoader):
            spec.loader = LazyProviderLoader(fullname, str(spec.origin))
        return spec


class LazyProviderLoader(importlib.machinery.SourceFileLoader):
    """Runs the package ``__init__`` without its trailing eager submodule imports."""

    def get_code(self, fullname: str) -> CodeType | None:
        source = importlib.util.decode_source(self.get_data(self.path))
        head, marker, tail = source.partition(EAGER_IMPORTS_MARKER)
        lines = [line for line in tail.splitlines() if line.strip()]
        if not marker or not all(_SUBMODULE_IMPORT.fullmatch(line) for line in lines):
            _warn_once(f"{self.path} has an unexpected layout; importing it the stock way.")
            return super().get_code(fullname)
        # Compiled fresh on purpose: the cached .pyc holds the stock (eager) code.
        return self.source_to_code(head, self.path)

    def exec_module(self, module: ModuleType) -> None:
        super().exec_module(module)
        package = sys.modules[module.__name__]  # the public copy made by publication
        vars(package).update(
            __getattr__=partial(_import_submodule, package),
            __dir__=lambda: sorted({*vars(package), *package.__all__}),
        )
        from jsii import _reference_map  # jsii is loaded by now; private, hence the getattr

        fqn_map = getattr(_reference_map, "_submodule_fqn_map", None)
        if fqn_map is not None:
            fqn_map.update(submodule_fqn_map(package.__all__))


def _import_submodule(package: ModuleType, name: str) -> Any:
    if name in package.__all__:
        return importlib.import_module(f"{package.__name__}.{name}")
    raise AttributeError(f"module {package.__name__!r} has no attribute {name!r}")


def _camel_case(snake: str) -> str:
    first, *rest = snake.split("_")
    return first + "".join(word[:1].upper() + word[1:] for word in rest)


@cache
def _warn_once(message: str) -> None:
    warnings.warn(message, RuntimeWarning, stacklevel=3)
