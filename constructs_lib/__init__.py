"""Reusable constructs for the event pipeline: one construct per module.

Base constructs wrap one AWS concern with secure defaults (SecureBucket, RecordsTable,
PythonFunction, ...); the stacks in ``stacks/`` compose them.
"""

from constructs_lib import _provider_import

# Before any construct module imports a provider submodule: skips ~13 s of eager imports.
_provider_import.install()
