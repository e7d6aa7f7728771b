"""``synctl import-synapse``: a pipeline of resumable steps that moves a
Synapse server's database, media and signing key into Chatly."""
