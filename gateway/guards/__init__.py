"""Guards: what the gateway does for the user beyond routing.

- commands.py: `!/model`, `!/tier`, `!/status`, `!/why`, `!/help` answered by the gateway itself,
  and stripped (with their answers) from later requests' history.
- repair.py: tool-call arguments that are not JSON, or not the declared shape, repaired.
- loop.py: the same tool call N times in a row steers the model; 2N stops the agent.
- danger.py: destructive shell commands in tool calls are replaced by an explanation.
- toolcalls.py / stream.py: the dialect-aware parts that find tool calls in answers and hold
  streamed calls until their arguments are complete.

Everything here is sans-IO: functions and small classes over parsed JSON and SSE bytes, so the
proxy decides when to call them and the tests need no server.
"""
