"""URL previews: Open Graph and oEmbed data of a URL, its image stored as media."""
