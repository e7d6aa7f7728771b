"""Sliding-sync extensions (Contract B): to_device, e2ee, account_data,
receipts, typing. The context and the interface are in ``context.py``."""
