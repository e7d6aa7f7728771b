"""Outbound HTTP shared by every wing: the SSRF address filter and the client
for untrusted URLs (URL previews, push gateways, application services)."""
