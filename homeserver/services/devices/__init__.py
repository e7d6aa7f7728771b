"""Devices: a user's devices and their display names; the home of device lists and E2EE keys."""
