"""Layer 3, the actions: sets of processes run as one scope (Local, Remote, Put, Get, the taktuk
actions, ChainPut, port forwarding, serial ports) and the tool factories. It imports from the
core and the transports."""
