"""The ``tlslens`` command line: thin faces on the engine (click + rich)."""
