"""The web edge: the app factory, its typed keys, the observation wrapper every route
goes through, the envelope route, the REST and callback routes, the OpenAPI document."""
