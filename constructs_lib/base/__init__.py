"""Single-resource building blocks, each secure by default with explicit, reasoned opt-outs."""
