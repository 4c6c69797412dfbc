"""Domain code shared by more than one function, shipped in the dependencies layer.

``tools.build_layer`` copies this package into ``build/layer/python/pipeline_common``, so
every function imports it as ``pipeline_common`` at run time; tests and mypy get
``lambda_functions/common`` on their path.
"""
