import pytest


@pytest.fixture(autouse=True)
def fresh_channel_layer():
    """Each fault test gets its own channel layer in this process. Daphne
    runs one event loop for its life; pytest runs one per test, and a
    consumer ended by a Redis fault on one loop leaves the shared layer's
    receive lock held for the next."""
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()
