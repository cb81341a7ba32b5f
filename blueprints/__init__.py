"""HTTP interfaces: the GraphQL endpoint and the REST blueprint."""
