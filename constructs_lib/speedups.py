"""Synth speed-ups, installed by one explicit call from the app entry point and the tests.

``install()`` makes the AWS provider bindings load lazily (``_provider_import``: ~12 s less
per synth) and resolves each jsii type-checking stub's hints once (``_type_hints_cache``).
Both patch the interpreter for the whole process, and the first also adds a preload to
``NODE_OPTIONS`` for the jsii kernel, so they run only when the entry point asks: call
``install()`` before the first ``import cdktf``. ``PIPELINE_STOCK_PROVIDER_IMPORT=1`` keeps
the stock behaviour (``tests/integration/test_fast_synth.py`` compares the two outputs).
"""

from __future__ import annotations

from constructs_lib import _provider_import, _type_hints_cache


def install() -> None:
    """Install both speed-ups; a no-op for the parts already installed or turned off."""
    # Before any provider import, and before `import cdktf` starts the node kernel.
    _provider_import.install()
    # Before the first jsii call: each type-checking stub's hints resolved once, not per call.
    _type_hints_cache.install()
