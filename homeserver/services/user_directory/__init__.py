"""Finding other users: the user directory and mutual rooms."""
