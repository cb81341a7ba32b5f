"""The interfaces: POST /graphql, the explorer, REST, and the JSON error handlers."""
