"""How it runs: the random state, the devices, the execution modes, one run into a record."""
