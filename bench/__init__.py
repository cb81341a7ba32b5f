"""The benchmark: ``make bench``, and ``make bench PEER=node`` with the Node peer."""
