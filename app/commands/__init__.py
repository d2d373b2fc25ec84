"""Sub-commands of the `edgemarket` CLI, one module per command group."""
