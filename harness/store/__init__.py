"""The golden store: reading strictly, writing atomically, regenerating all at once (TensorFlow-free)."""
