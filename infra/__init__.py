"""Infrastructure: the database engine, Redis clients and topologies, logging, mail, headers."""
