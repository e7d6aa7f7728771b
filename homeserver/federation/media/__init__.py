"""Media over federation: serving our files to other servers and fetching theirs."""
