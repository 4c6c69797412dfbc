"""Load only the AWS provider bindings a synth uses, in Python and in the jsii kernel.

Any import of ``cdktf_cdktf_provider_aws.<module>`` runs the package ``__init__``, which ends
with one ``from . import <submodule>`` per resource and data source (~2,100): ~13 s of class
creation per synth for the few dozen the app uses. In the jsii kernel (node) the provider's
``lib/index.js`` likewise requires all of them (~2 s). ``install()`` makes both lazy:

- Python: a meta-path finder for that one package whose loader runs the same ``__init__``
  source minus those trailing lines. A submodule is imported by the first ``import`` or
  attribute access (module ``__getattr__``) that names it.
- Node: ``NODE_OPTIONS=--require _provider_lazy_require.js``, which turns each export of
  ``lib/index.js`` into a getter (see that file). It only reaches a jsii kernel started later,
  so ``install()`` must run before the first ``import cdktf``.

What this relies on in cdktf-cdktf-provider-aws==19.65.1 (``VERIFIED_PROVIDER_VERSION``):
- ``__init__.py`` ends with ``EAGER_IMPORTS_MARKER`` and then only ``from . import <name>``
  lines, and ``lib/index.js`` requires only in ``exports.<name> = require("./<dir>");`` lines;
  otherwise that file runs unchanged (the Python one with a warning).
- No submodule imports another (each imports only ``.._jsii``, cdktf and constructs), so
  importing the module of a class registers every provider type that class can hand back.
- ``publication.publish()`` swaps the package for a public copy in ``sys.modules``; the
  lazy ``__getattr__`` is set on that copy.
- Submodule jsii names are the camelCase of the Python names (``s3_bucket`` ->
  ``s3Bucket``); registered with jsii's on-demand type resolution (``_submodule_fqn_map``,
  jsii 1.142) so a provider object the JS side returns still finds its Python class.

Any other installed version gets the stock import and one warning.
``PIPELINE_STOCK_PROVIDER_IMPORT=1`` turns both halves off (used to compare outputs).
"""

from __future__ import annotations

import os
import re
import sys
import warnings
from collections.abc import Sequence
from functools import cache, partial
from importlib import abc, import_module, machinery, metadata, util
from pathlib import Path
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
# The node half, preloaded into every jsii kernel started after install().
NODE_PRELOAD = Path(__file__).with_name("_provider_lazy_require.js")


def install() -> bool:
    """Make the provider import lazy from here on; call it before the first ``import cdktf``.

    Idempotent. Returns whether the fast path is active; False under the stock switch, for an
    unverified provider version, or when the package was already imported.
    """
    if any(isinstance(finder, LazyProviderFinder) for finder in sys.meta_path):
        return True
    if stock_import_requested() or PROVIDER_PACKAGE in sys.modules:
        return False
    try:
        installed = metadata.version(PROVIDER_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return False
    if installed != VERIFIED_PROVIDER_VERSION:
        _warn_once(
            f"{PROVIDER_DISTRIBUTION} {installed} is not the verified {VERIFIED_PROVIDER_VERSION};"
            " importing it the stock (slow) way. Re-verify constructs_lib/_provider_import.py."
        )
        return False
    sys.meta_path.insert(0, LazyProviderFinder())
    preload = f'--require "{NODE_PRELOAD}"'
    node_options = os.environ.get("NODE_OPTIONS", "")
    if preload not in node_options:
        os.environ["NODE_OPTIONS"] = f"{node_options} {preload}".strip()
    return True


def stock_import_requested() -> bool:
    """Whether ``PIPELINE_STOCK_PROVIDER_IMPORT=1`` asks for the unmodified, slow import path."""
    return os.environ.get(STOCK_IMPORT_ENV) == "1"


def submodule_fqn_map(submodules: Sequence[str]) -> dict[str, str]:
    """jsii submodule name -> Python module, as newer jsii-pacmak generates it."""
    return {
        f"{PROVIDER_JSII_ASSEMBLY}.{_camel_case(name)}": f"{PROVIDER_PACKAGE}.{name}"
        for name in submodules
    }


class LazyProviderFinder(abc.MetaPathFinder):
    """Finds the provider package as usual, then swaps in the lazy loader."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> machinery.ModuleSpec | None:
        if fullname != PROVIDER_PACKAGE:
            return None
        spec = machinery.PathFinder.find_spec(fullname, path)
        if spec is not None and isinstance(spec.loader, machinery.SourceFileLoader):
            spec.loader = LazyProviderLoader(fullname, str(spec.origin))
        return spec


class LazyProviderLoader(machinery.SourceFileLoader):
    """Runs the package ``__init__`` without its trailing eager submodule imports."""

    def get_code(self, fullname: str) -> CodeType | None:
        source = util.decode_source(self.get_data(self.path))
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
        return import_module(f"{package.__name__}.{name}")
    raise AttributeError(f"module {package.__name__!r} has no attribute {name!r}")


def _camel_case(snake: str) -> str:
    first, *rest = snake.split("_")
    return first + "".join(word[:1].upper() + word[1:] for word in rest)


@cache
def _warn_once(message: str) -> None:
    warnings.warn(message, RuntimeWarning, stacklevel=3)
