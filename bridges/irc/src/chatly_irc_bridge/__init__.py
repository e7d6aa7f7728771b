"""Chatly's IRC bridge: Matrix rooms <-> IRC channels, as an application service.

IRC users appear in Matrix as puppets ``@irc_<nick>:server``; each Matrix user
who joins a bridged room gets an IRC connection of their own (nick
``<localpart>[m]``). See README.md.
"""
