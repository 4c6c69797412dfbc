"""Reusable constructs for the event pipeline: one construct per module.

Base constructs wrap one AWS concern with secure defaults (SecureBucket, RecordsTable,
PythonFunction, ...); the stacks in ``stacks/`` compose them.
"""

from constructs_lib import _provider_import

# Before any provider import (and before `import cdktf` for the node half): ~15 s less per synth.
_provider_import.install()
