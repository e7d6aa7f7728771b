"""The differential test of simplified sliding sync (MSC4186): one scripted
scenario against Chatly and against a real Synapse, responses compared."""
