"""Provider wire protocols: sans-IO parsing, emitting and translation, one module set per dialect.

A dialect is the API family a request or provider speaks: "anthropic" (Messages), "openai" (Chat
Completions), "responses" or "gemini"; the package keeps its name because it holds protocol code.

Nothing here does I/O; every function takes and returns plain data so it can be tested by
feeding bytes and reading bytes.
"""
