"""HTTP plumbing shared by the blueprints: JSON in and out, request ids, browser security."""
