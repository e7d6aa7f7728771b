"""The logic, one subpackage per domain.

accounts/, devices/, rooms/, reading/, sync/, sync_data/, presence/ (and, as
they land, e2ee/, media/, push/, appservices/). Services never import
``homeserver.api`` or ``homeserver.federation`` and work with federation
switched off: federation plugs in through the Protocols services declare.
"""
