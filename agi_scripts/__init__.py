"""Dialplan-side scripts over AGI and FastAGI (caller lookup, routing, self-service, surveys)."""
