"""Provider wire protocols: sans-IO parsing, emitting and translation.

Nothing here does I/O; every function takes and returns plain data so it can be tested by
feeding bytes and reading bytes.
"""
