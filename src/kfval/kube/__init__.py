"""All cluster access of the suite, through the official `kubernetes` client: connect, apply, wait, logs,
evidence and cleanup. It cannot tell the embedded cluster from a real one."""
