"""A fuzz target over the tlslens engine (server and client, at every state), with a corpus of recorded
conversations; see fuzz/run.py."""
