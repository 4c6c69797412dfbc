"""The pipeline's domain constructs; ``stacks/pipeline_stack.py`` only wires these together."""
