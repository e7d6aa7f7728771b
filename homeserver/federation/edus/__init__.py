"""EDUs in both directions: each module forwards one kind of local change to
the servers that need it and handles the same EDU type arriving from others.

Spec: server-server API, "Typing Notifications", "Receipts", "Presence",
"Device Management" and "Send-to-device messaging". Every inbound handler
checks that the user the EDU speaks for belongs to the server that sent it.
"""
