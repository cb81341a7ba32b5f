"""The service layer: every business rule lives here, shared by GraphQL and REST."""
