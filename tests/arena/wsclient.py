"""The arena socket through the chat tests' client."""
from functools import partial

from ..chat.wsclient import connect as _connect

connect = partial(_connect, path="/ws/arena/")
