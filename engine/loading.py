"""One model load at a time per process.

`from_pretrained` changes process-wide torch state while it builds a model
(the default dtype, meta-device initialisation), so two loads in two threads
corrupt each other. Seen in a worker that loaded the chat model (float32)
while input moderation loaded MiniLM (bfloat16): "Cannot copy out of meta
tensor" for one, "mat1 and mat2 must have the same dtype" for the other.
Every load in the app holds this lock.
"""

import threading

model_loading_lock = threading.Lock()
