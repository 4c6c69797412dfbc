"""The event pipeline's construct library, in three layers.

- ``base``: single-resource building blocks, secure by default (SecureBucket, PythonFunction,
  EncryptionKey, ...).
- ``patterns``: reusable compositions of those blocks (REST and HTTP APIs, the private
  network, a schedule, alarms and a dashboard, a logged state machine).
- ``pipeline``: the pipeline's domain constructs (foundation, ingest, records API, ingest
  workflow, operations); each owns its functions, their environment, IAM, alarms and outputs.

Beside them: AWS limits and checks (``aws_limits``), the plain settings constructs take
(``specs``), checkov suppressions, reproducible code archives, and the synth speed-ups
(``speedups``), which are installed only by an explicit ``speedups.install()``.

Importing this package or any of its modules changes nothing in the interpreter.
"""
