"""Layer 1, the core: errors, hosts, configuration, logging, the scope protocol, substitutions,
channels, output and the process model. It imports nothing from the layers above."""
