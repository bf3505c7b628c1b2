"""The apply executor: connect, lock, run each revision with its timeouts and stop request,
retry, clean up, record. What ``upgrade``, ``downgrade`` and ``stamp`` go through."""
