"""The HTTP edge every service shares: who the caller is (auth) and what its role may do
(authz), problem+json refusals, rate limits, middleware, request schemas, Open311 rendering."""
