"""Storage: the Database (engines, thread pool, transactions), migrations, stores."""
