"""The GraphQL runtime: schema, document cache and limits, execution, resolvers."""
