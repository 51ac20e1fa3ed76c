"""The tests' toolkit: recorders for what services send out (Celery tasks,
channel-layer broadcasts), one wait helper, one WebSocket client. The
fixtures that hand out the recorders live in tests/conftest.py."""
