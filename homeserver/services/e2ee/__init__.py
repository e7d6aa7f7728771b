"""End-to-end encryption: what the server keeps so that clients can encrypt
(keys and server-side key backups); it never sees a plaintext key."""
