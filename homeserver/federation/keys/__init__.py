"""Server signing keys: ours, other servers' (fetched and cached), and the notary that serves both."""
