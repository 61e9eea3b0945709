"""kickserv."""
