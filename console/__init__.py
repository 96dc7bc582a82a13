"""Textual terminal consoles for agents and supervisors."""
