"""Reusable constructs for the event pipeline: one construct per module.

Base constructs wrap one AWS concern with secure defaults (SecureBucket, RecordsTable,
PythonFunction, ...); the stacks in ``stacks/`` compose them.
"""

from constructs_lib import _provider_import, _type_hints_cache

# Before any provider import (and before `import cdktf` for the node half): ~15 s less per synth.
_provider_import.install()
# Before the first jsii call: each type-checking stub's hints resolved once, not per call.
_type_hints_cache.install()
