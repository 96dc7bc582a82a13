"""The engine: an ARI Stasis application driving the routing core (callcenter.core)."""
