"""End-to-end encryption: the keys the server stores and hands out (device,
one-time, fallback and cross-signing keys, key backups); it never sees a
private key or a plaintext message."""
