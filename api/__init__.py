"""HTTP layer: app factory, dependencies, the error map and one router per resource."""
