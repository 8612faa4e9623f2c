"""Helpers shared by the oauth-relay integration (and later end-to-end) tests.

Everything here drives real components: the real oauth-relayd binary, a private
PostgreSQL cluster, certificates made by the openssl CLI, real sockets.
"""
