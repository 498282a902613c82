"""Layer 2, the transports: how a command or a copy reaches a host (OpenSSH, asyncssh, taktuk),
the remote-command protocol they share, and the process kinds that run over them. It imports
only from the core."""
