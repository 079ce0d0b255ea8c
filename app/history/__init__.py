"""A number's history: what holds it now and its timeline of decisions and changes."""
